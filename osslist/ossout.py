"""A binary stream into one OSS object: ``write(bytes)``, ``close()``, ``abort()``.

Bytes are cut into parts as they come and uploaded by a small pool while the caller keeps
writing (a multipart upload); memory holds at most the part being filled plus ``in_flight``
parts. A report smaller than one part is a single PutObject. The object exists only once
``close()`` succeeds (CompleteMultipartUpload is atomic); ``abort()`` removes the upload and
its billed parts. Optionally gzip: ``gunzip -c`` of the object is the bytes written. The
compression runs on a thread of its own over 256 KiB blocks: zlib lets go of the GIL while it
works, so it overlaps with the caller producing the next lines instead of adding to its time.

Part sizes: ``part_size`` (at least 100 KiB, OSS's minimum for every part but the last) for
parts 1..1000, doubling every 1000 parts after that (capped at OSS's 5 GiB), so the 10,000
parts OSS allows hold 1023 x 1000 x part_size bytes: 8 TiB at the default 8 MiB.
"""

from __future__ import annotations

import logging
import queue
import threading
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from osslist.errors import UsageError
from osslist.ossobjects import ObjectClient

log = logging.getLogger(__name__)

KIB, MIB, GIB = 1024, 1024**2, 1024**3
DEFAULT_PART_SIZE = 8 * MIB
MIN_PART_SIZE = 100 * KIB
MAX_PART_SIZE = 5 * GIB
MAX_PARTS = 10_000
PARTS_PER_STEP = 1000
# zlib level 1: JSON lines still shrink about tenfold, at a speed far above a listing's output.
GZIP_LEVEL = 1
_WAIT = 0.2  # seconds between checks for a failure while waiting for a free slot
GZIP_BLOCK = 256 * KIB
_GZIP_QUEUE = 4  # blocks waiting for the compressor: bounded memory


def part_size_for(number: int, base: int) -> int:
    """The size of part ``number`` (1-based) when the first thousand have ``base`` bytes."""
    if not 1 <= number <= MAX_PARTS:
        raise ValueError(f"part numbers are 1..{MAX_PARTS}")
    return min(MAX_PART_SIZE, base << ((number - 1) // PARTS_PER_STEP))


def wants_gzip(key: str, compress: bool | None) -> bool:
    """gzip when asked, or by default when the key ends in ``.gz``."""
    return key.endswith(".gz") if compress is None else compress


class OssWriter:
    """Stream bytes into ``oss://bucket/key``; use as a context manager (an exception aborts)."""

    def __init__(
        self,
        objects: ObjectClient,
        key: str,
        *,
        part_size: int = DEFAULT_PART_SIZE,
        compress: bool | None = None,
        workers: int = 3,
        in_flight: int = 4,
    ) -> None:
        if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
            raise UsageError(f"--part-size must be between 100K and 5G, not {part_size} bytes")
        if workers < 1 or in_flight < workers:
            raise ValueError("workers >= 1 and in_flight >= workers")
        self.key = key
        self.url = objects.url(key)
        self.plain_bytes = 0
        self.stored_bytes = 0
        self._objects = objects
        self._part_size = part_size
        self._gzip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if wants_gzip(key, compress) else None
        self._plain = bytearray()
        self._blocks: queue.Queue[bytes | None] = queue.Queue(_GZIP_QUEUE)  # None ends the stream
        self._compressor: threading.Thread | None = None
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts_sent = 0
        self._etags: dict[int, str] = {}
        self._futures: list[Future[None]] = []
        self._slots = threading.BoundedSemaphore(in_flight)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="ossout")
        self._failure: BaseException | None = None
        self._closed = False

    # --- the stream ----------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def probe(self) -> None:
        """Start the multipart upload now, so a destination that refuses writes fails (OssRefused,
        exit 4) before any listing request; a report that stays small still ends as one
        PutObject (the probe's upload is aborted then)."""
        self._check_open()
        if self._upload_id is None:
            self._upload_id = self._objects.initiate(self.key)

    def write(self, data: bytes) -> int:
        """Queue ``data``; full parts go to the pool (blocking while ``in_flight`` are pending).
        Raises the first failed part's error (the caller then aborts)."""
        self._check_open()
        self._raise_failure()
        self.plain_bytes += len(data)
        if self._gzip is None:
            self._add(data)
            return len(data)
        self._plain += data
        if len(self._plain) >= GZIP_BLOCK:
            self._hand_to_compressor(bytes(self._plain))
            self._plain.clear()
        return len(data)

    def close(self) -> None:
        """Upload what is left and make the object appear; on any failure abort and re-raise."""
        if self._closed:
            return
        try:
            if self._gzip:
                self._finish_compression()
            if self._parts_sent == 0:
                self._put_whole()
            else:
                if self._buffer:
                    self._send_part(len(self._buffer))
                self._wait_all()
                self._objects.complete(self.key, self._upload_id or "", sorted(self._etags.items()))
        except BaseException:
            self.abort()
            raise
        self._closed = True
        self._pool.shutdown()

    def abort(self) -> None:
        """Stop, drop queued parts, and abort the upload so no part stays billed. Never raises:
        it runs while another error is on its way (a failed abort is logged with the upload id)."""
        if self._closed:
            return
        self._closed = True
        if self._failure is None:
            self._failure = RuntimeError("aborted")  # stops the compressor and the slot waits
        if self._compressor is not None:
            self._compressor.join()
        for future in self._futures:
            future.cancel()
        self._pool.shutdown(wait=True)
        if self._upload_id is None:
            return
        try:
            self._objects.abort(self.key, self._upload_id)
        except Exception as exc:  # noqa: BLE001 - logged, the caller's own error goes on
            log.warning("could not abort the upload of %s (upload id %s): %s", self.url, self._upload_id, exc)

    def __enter__(self) -> OssWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    # --- compression (gzip only): one thread, blocks in order --------------------------------

    def _hand_to_compressor(self, block: bytes | None) -> None:
        if self._compressor is None:
            self._compressor = threading.Thread(target=self._compress_blocks, name="ossout-gzip", daemon=True)
            self._compressor.start()
        while True:
            self._raise_failure()
            try:
                self._blocks.put(block, timeout=_WAIT)
                return
            except queue.Full:
                continue

    def _compress_blocks(self) -> None:
        assert self._gzip is not None
        try:
            while self._failure is None:
                try:
                    block = self._blocks.get(timeout=_WAIT)
                except queue.Empty:
                    continue
                if block is None:
                    return
                self._add(self._gzip.compress(block))
        except BaseException as exc:
            if self._failure is None:
                self._failure = exc

    def _finish_compression(self) -> None:
        """Compress what is left, wait for the compressor, and end the gzip stream."""
        assert self._gzip is not None
        if self._plain:
            self._hand_to_compressor(bytes(self._plain))
            self._plain.clear()
        if self._compressor is not None:
            self._hand_to_compressor(None)
            self._compressor.join()
        self._raise_failure()
        self._buffer += self._gzip.flush()

    # --- parts ---------------------------------------------------------------------------------

    def _add(self, data: bytes) -> None:
        """Stored bytes (compressed when gzip): append, and send every full part."""
        self._buffer += data
        while len(self._buffer) >= self._next_part_size():
            self._send_part(self._next_part_size())

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"the writer of {self.url} is closed")

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _next_part_size(self) -> int:
        return part_size_for(self._parts_sent + 1, self._part_size)

    def _send_part(self, size: int) -> None:
        """Cut ``size`` bytes off the buffer as the next part and hand it to the pool."""
        if self._upload_id is None:
            self._upload_id = self._objects.initiate(self.key)
        chunk = bytes(self._buffer[:size])
        del self._buffer[:size]
        self._parts_sent += 1
        number = self._parts_sent
        while not self._slots.acquire(timeout=_WAIT):
            self._raise_failure()
        self._raise_failure()
        self.stored_bytes += len(chunk)
        self._futures.append(self._pool.submit(self._upload, number, chunk))

    def _upload(self, number: int, chunk: bytes) -> None:
        try:
            self._etags[number] = self._objects.upload_part(self.key, self._upload_id or "", number, chunk)
        except BaseException as exc:
            if self._failure is None:
                self._failure = exc
        finally:
            self._slots.release()

    def _wait_all(self) -> None:
        for future in self._futures:
            future.result()
        self._raise_failure()

    def _put_whole(self) -> None:
        """A report smaller than one part: one PutObject (after dropping a probe's upload)."""
        if self._upload_id is not None:
            self._objects.abort(self.key, self._upload_id)
            self._upload_id = None
        data = bytes(self._buffer)
        self.stored_bytes = len(data)
        self._objects.put(self.key, data)
