"""A binary stream into one OSS object: ``write(bytes)``, ``close()``, ``abort()``.

Bytes are cut into parts as they come and uploaded by a small pool while the caller keeps
writing (a multipart upload); memory holds at most the part being filled plus ``in_flight``
parts (a part is handed to the upload without a copy): with a fast destination, one part
filling plus one uploading. A report smaller than one part is a single PutObject. The object exists only once
``close()`` succeeds (CompleteMultipartUpload is atomic); ``abort()`` removes the upload and
its billed parts. Optionally gzip: ``gunzip -c`` of the object is the bytes written.

With gzip every part is a gzip member of its own (``gunzip -c``, Python's gzip and zcat read
concatenated members as one stream), so each part ends at a known offset of the plain bytes:
what a checkpoint needs to resume an upload (``committed()``, ``continue_upload``). The
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
import time
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Mapping

from osslist.errors import OssRefused, UsageError
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
_POLL = 0.005
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


@dataclass(frozen=True)
class Committed:
    """The longest run of parts 1..n known uploaded: what a checkpoint may save. Their bytes
    are the first ``plain_offset`` bytes written (``stored_offset`` as stored)."""

    upload_id: str | None
    parts: tuple[tuple[int, str], ...]
    plain_offset: int
    stored_offset: int

    def to_json(self) -> dict[str, object]:
        """What a checkpoint saves of it."""
        return {"upload_id": self.upload_id, "parts": [list(p) for p in self.parts],
                "plain_offset": self.plain_offset, "stored_offset": self.stored_offset}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Committed:  # Any: parsed JSON, checked here
        """A saved upload (an empty one for None); UsageError when malformed."""
        if data is None:
            return cls(None, (), 0, 0)
        try:
            parts = tuple((int(n), str(e)) for n, e in data["parts"])
            upload_id = data["upload_id"]
            return cls(None if upload_id is None else str(upload_id), parts, int(data["plain_offset"]),
                       int(data["stored_offset"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"checkpoint upload entry is malformed ({exc}); delete the checkpoint to start over") from exc


class OssWriter:
    """Stream bytes into ``oss://bucket/key``; use as a context manager (an exception aborts)."""

    def __init__(
        self,
        objects: ObjectClient,
        key: str,
        *,
        part_size: int = DEFAULT_PART_SIZE,
        compress: bool | None = None,
        workers: int = 2,
        in_flight: int = 2,
        cut_at_marks: bool = False,
        keep_upload_on_failure: bool = False,
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
        self._gzip = wants_gzip(key, compress)
        self._cut_at_marks = cut_at_marks  # parts end only where mark() was called (page ends)
        self._keep_on_failure = keep_upload_on_failure  # a checkpoint names the upload: a rerun continues it
        self._member = _new_member() if self._gzip else None
        self._member_plain = 0  # plain bytes fed into the current gzip member
        self._plain = bytearray()  # gzip: plain bytes waiting to make a block
        self._block = min(GZIP_BLOCK, part_size // 4)  # a part overshoots its size by one block at most
        self._blocks: queue.Queue[tuple[bytes, bool] | None] = queue.Queue(_GZIP_QUEUE)  # None ends the stream
        self._compressor: threading.Thread | None = None
        self._buffer = bytearray()  # stored bytes of the part being filled
        self._buffer_plain_start = 0  # plain offset where the part being filled starts
        self._upload_id: str | None = None
        self._parts_sent = 0
        self._ends: dict[int, tuple[int, int]] = {}  # part -> (plain end, stored end)
        self._etags: dict[int, str] = {}
        self._futures: list[Future[None]] = []
        self._slots = threading.BoundedSemaphore(in_flight)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="ossout")
        self._failure: BaseException | None = None
        self._closed = False

    def continue_upload(self, committed: Committed) -> None:
        """Continue the upload a checkpoint saved (before anything is written): its parts are
        checked with ListParts (each still there with its ETag, else OssRefused), then writing
        goes on from ``committed.plain_offset`` of the plain bytes with the next part number."""
        if committed.upload_id is None or not committed.parts:
            return
        present = {number: etag for number, etag, _ in self._objects.list_parts(self.key, committed.upload_id)}
        for number, etag in committed.parts:
            if present.get(number, "").upper() != etag.upper():
                raise OssRefused(
                    f"cannot resume the upload of {self.url}: part {number} is missing or changed "
                    f"(upload id {committed.upload_id}); delete the checkpoint to start over",
                )
        self._upload_id = committed.upload_id
        self._etags = dict(committed.parts)
        self._parts_sent = committed.parts[-1][0]
        self._ends[self._parts_sent] = (committed.plain_offset, committed.stored_offset)
        self.plain_bytes = self._buffer_plain_start = committed.plain_offset
        self.stored_bytes = committed.stored_offset

    # --- the stream ----------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def upload_id(self) -> str | None:
        return self._upload_id

    @property
    def part_full(self) -> bool:
        """Without gzip: the bytes waiting fill the next part, so a ``mark()`` now cuts one (a
        writer that compresses its own stream ends its gzip member first: see ``inventory``)."""
        return len(self._buffer) >= self._next_part_size()

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
        if not self._gzip:
            self._buffer += data
            while not self._cut_at_marks and len(self._buffer) >= self._next_part_size():
                size = self._next_part_size()
                self._send_part(size, self._buffer_plain_start + size)
            return len(data)
        self._plain += data
        if len(self._plain) >= self._block:
            self._hand_to_compressor((bytes(self._plain), False))
            self._plain.clear()
        return len(data)

    def mark(self) -> None:
        """The bytes so far end a page: with ``cut_at_marks`` a full part is cut here and only
        here, so every part ends at a page boundary (the position a checkpoint saves with it)."""
        self._check_open()
        self._raise_failure()
        if not self._cut_at_marks:
            return
        if not self._gzip:
            if len(self._buffer) >= self._next_part_size():
                self._send_part(len(self._buffer), self.plain_bytes)
            return
        self._hand_to_compressor((bytes(self._plain), True))
        self._plain.clear()

    def flush(self) -> None:
        """Nothing to do: bytes leave as whole parts (a part cannot be sent half full)."""
        self._check_open()

    def drain(self) -> None:
        """Wait until every part handed to the pool is uploaded (before a checkpoint that must
        cover all written bytes but the part being filled); raises a failed part's error."""
        self._check_open()
        while self._blocks.unfinished_tasks:  # the compressor may still be cutting parts
            self._raise_failure()
            time.sleep(_POLL)
        self._wait_all()

    def committed(self) -> Committed:
        """Parts 1..n all uploaded (n as large as it goes), for a checkpoint after a page."""
        parts: list[tuple[int, str]] = []
        for number in range(1, self._parts_sent + 1):
            etag = self._etags.get(number)
            if etag is None:
                break
            parts.append((number, etag))
        plain, stored = self._ends.get(parts[-1][0], (0, 0)) if parts else (0, 0)
        return Committed(self._upload_id, tuple(parts), plain, stored)

    def saved(self) -> tuple[int, dict[str, object]]:
        """The bytes uploaded as parts 1..n (``committed``) and what a checkpoint saves of them."""
        committed = self.committed()
        return committed.plain_offset, committed.to_json()

    def close(self) -> None:
        """Upload what is left and make the object appear; on any failure abort (keeping the
        upload when ``keep_upload_on_failure``: a checkpoint names it) and re-raise."""
        if self._closed:
            return
        try:
            if self._gzip:
                self._finish_compression()
            if self._parts_sent == 0:
                self._put_whole()
            else:
                if self._buffer:
                    self._send_part(len(self._buffer), self.plain_bytes)
                self._wait_all()
                self._objects.complete(self.key, self._upload_id or "", sorted(self._etags.items()))
        except BaseException:
            self.abort(keep_upload=self._keep_on_failure)
            raise
        self._closed = True
        self._pool.shutdown()

    def abort(self, *, keep_upload: bool = False) -> None:
        """Stop and drop queued parts; abort the upload so no part stays billed, unless
        ``keep_upload`` (a checkpoint will resume it). Never raises: it runs while another
        error is on its way (a failed abort is logged with the upload id)."""
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
        if self._upload_id is None or keep_upload:
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

    # --- compression (gzip only): one thread, blocks in order, a member per part ---------------

    def _hand_to_compressor(self, block: tuple[bytes, bool] | None) -> None:
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
        try:
            while self._failure is None:
                try:
                    block = self._blocks.get(timeout=_WAIT)
                except queue.Empty:
                    continue
                try:
                    if block is None:
                        return
                    self._compress(*block)
                finally:
                    self._blocks.task_done()
        except BaseException as exc:
            if self._failure is None:
                self._failure = exc

    def _compress(self, block: bytes, marked: bool) -> None:
        """Feed the current member; once it fills a part (at a mark, with ``cut_at_marks``),
        end the member and send the part. An empty block (a page that kept no record) is not
        fed: zlib writes a fresh member's header even for no input, and a header no byte
        follows would end the object mid-member (``_finish_compression`` flushes only a member
        that holds bytes)."""
        assert self._member is not None
        if block:
            self._buffer += self._member.compress(block)
            self._member_plain += len(block)
        if (marked or not self._cut_at_marks) and len(self._buffer) >= self._next_part_size():
            self._end_member()

    def _end_member(self) -> None:
        assert self._member is not None
        self._buffer += self._member.flush()
        plain_end = self._buffer_plain_start + self._member_plain
        self._member, self._member_plain = _new_member(), 0
        self._send_part(len(self._buffer), plain_end)

    def _finish_compression(self) -> None:
        """Compress what is left, wait for the compressor, end the last member (an empty
        report still gets one: an empty object would not be valid gzip)."""
        if self._plain:
            self._hand_to_compressor((bytes(self._plain), False))
            self._plain.clear()
        if self._compressor is not None:
            self._hand_to_compressor(None)
            self._compressor.join()
        self._raise_failure()
        if self._member_plain or self._parts_sent == 0:
            assert self._member is not None
            self._buffer += self._member.flush()

    # --- parts ---------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"the writer of {self.url} is closed")

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _next_part_size(self) -> int:
        return part_size_for(self._parts_sent + 1, self._part_size)

    def _send_part(self, size: int, plain_end: int) -> None:
        """Cut ``size`` bytes off the buffer as the next part (its bytes end at ``plain_end``
        of the plain stream) and hand it to the pool."""
        if self._upload_id is None:
            self._upload_id = self._objects.initiate(self.key)
        chunk, self._buffer = self._buffer, self._buffer[size:]  # no copy of the part: only the rest moves
        del chunk[size:]
        self._parts_sent += 1
        number = self._parts_sent
        while not self._slots.acquire(timeout=_WAIT):
            self._raise_failure()
        self._raise_failure()
        self.stored_bytes += len(chunk)
        self._ends[number] = (plain_end, self.stored_bytes)
        self._buffer_plain_start = plain_end
        self._futures.append(self._pool.submit(self._upload, number, chunk))

    def _upload(self, number: int, chunk: bytearray) -> None:
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
        self.stored_bytes = len(self._buffer)
        self._objects.put(self.key, self._buffer)


def _new_member() -> zlib._Compress:
    return zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
