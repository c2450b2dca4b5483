"""Where ``--format oss-inventory`` writes: a local directory or an OSS prefix (a ``Store``), and
the data files in them while they are written (a ``Sink``).

A data file is written part by part, each part cut only at a page end (``mark()`` once
``part_full``), so a checkpoint can name a point where the file is whole so far: its byte count
and what continues it (``saved()``: the multipart upload and its parts, or a ``.partial`` file's
durable length), and ``Store.resume`` reopens the file there. On disk a file is ``<name>.partial``
until complete, and ``mark()`` fsyncs it; in OSS it is an ``OssWriter`` (a multipart upload, or one
PutObject when small).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from osslist.durable import fsync_dir
from osslist.errors import OssRefused, OutputError, UsageError
from osslist.pages import ObjectRecord

if TYPE_CHECKING:
    from osslist.ossobjects import ObjectClient

log = logging.getLogger(__name__)

PART_SIZE = 8 * 1024 * 1024
"""A local data file is made durable (fsync) every this many bytes, as an OSS one is cut into
parts (``ossout.DEFAULT_PART_SIZE``)."""
JsonObject = dict[str, Any]  # Any: a checkpoint's JSON values
Saved = tuple[str, JsonObject]
"""A data file in progress as a checkpoint names it: its key and its ``Sink.saved()`` state."""


class Sink(Protocol):
    """A data file being written: bytes in, parts cut only at page ends (``mark`` once
    ``part_full``), then complete (``close``) or drop (``abort``; ``keep_upload``: a checkpoint
    continues it). ``saved()`` is what is durable: its byte count and what resumes it."""

    @property
    def part_full(self) -> bool: ...

    plain_bytes: int
    """The bytes written so far (a resumed file: counting its saved ones)."""

    def probe(self) -> None:
        """Start the upload now (so a checkpoint can name it before any part)."""
        ...

    def write(self, data: bytes, /) -> int: ...

    def mark(self) -> None: ...

    def saved(self) -> tuple[int, JsonObject]: ...

    def drain(self) -> None: ...

    def close(self) -> None: ...

    def abort(self, *, keep_upload: bool = False) -> None: ...


class Store(Protocol):
    """Where an inventory goes: a local directory or an OSS prefix. Keys are relative to it."""

    def open(self, key: str) -> Sink: ...

    def resume(self, key: str, saved: JsonObject) -> Sink:
        """Continue a data file from what its ``Sink.saved()`` was; OutputError or OssRefused
        when that part of it is gone."""
        ...

    def put(self, key: str, data: bytes, *, once: bool = False) -> bool:
        """Write ``data``; with ``once`` only when the key does not exist yet (False then)."""
        ...

    def read(self, key: str) -> bytes: ...

    def digest(self, key: str) -> str:
        """The MD5 (upper-case hex) of a complete data file, read back."""
        ...

    def names(self, folder: str) -> list[str]:
        """The names of the objects directly in ``folder``."""
        ...

    def discard_unfinished(self, prefix: str, keep: Saved | None) -> None:
        """Drop data files under ``prefix`` left unfinished by a killed run, but the one
        ``keep`` saved (the file a resumed run continues)."""
        ...

    def full_key(self, key: str) -> str:
        """The key manifest.json records for ``key``."""
        ...

    @property
    def bucket(self) -> str: ...

    @property
    def url(self) -> str:
        """The inventory's place, as a checkpoint names its output."""
        ...


# --- stores -------------------------------------------------------------------------------------


class LocalStore:
    """An inventory in a local directory; a data file is written as ``.partial`` and renamed
    when complete; ``once`` writes go through a temporary file and ``os.link`` (which fails
    when the name exists), the local form of x-oss-forbid-overwrite."""

    def __init__(self, root: str, *, part_size: int = PART_SIZE) -> None:
        self.root = os.path.abspath(root)
        self.bucket = self.root
        self.url = os.path.realpath(root)
        self._part_size = part_size

    def open(self, key: str) -> Sink:
        return _LocalFile(self._path(key), self._part_size)

    def resume(self, key: str, saved: JsonObject) -> Sink:
        offset = saved.get("offset")
        if not isinstance(offset, int) or offset < 0:
            raise UsageError("checkpoint inventory entry is malformed; delete the checkpoint to start over")
        return _LocalFile.resume(self._path(key), self._part_size, offset)

    def put(self, key: str, data: bytes, *, once: bool = False) -> bool:
        path = self._path(key)
        temp = f"{path}.{uuid.uuid4().hex}.partial"
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                if not once:
                    os.replace(temp, path)
                    return True
                try:
                    os.link(temp, path)
                except FileExistsError:
                    return False
                return True
            finally:
                fsync_dir(os.path.dirname(path))
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from exc
        finally:
            if os.path.exists(temp):
                os.unlink(temp)

    def read(self, key: str) -> bytes:
        with open(self._path(key), "rb") as handle:
            return handle.read()

    def digest(self, key: str) -> str:
        md5 = hashlib.md5(usedforsecurity=False)
        with open(self._path(key), "rb") as handle:
            while chunk := handle.read(1024 * 1024):
                md5.update(chunk)
        return md5.hexdigest().upper()

    def names(self, folder: str) -> list[str]:
        path = os.path.join(self.root, folder)
        return sorted(os.listdir(path)) if os.path.isdir(path) else []

    def discard_unfinished(self, prefix: str, keep: Saved | None) -> None:
        folder, _, start = prefix.rpartition("/")
        for name in self.names(folder):
            key = f"{folder}/{name}"
            if name.startswith(start) and name.endswith(".partial") and (keep is None or key != f"{keep[0]}.partial"):
                os.unlink(self._path(key))

    def full_key(self, key: str) -> str:
        return key

    def _path(self, key: str) -> str:
        path = os.path.join(self.root, *key.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path


class _LocalFile:
    """A data file as ``<name>.partial``; ``mark()`` makes it durable (flush, fsync) there."""

    def __init__(self, path: str, part_size: int, *, mode: str = "wb") -> None:
        self._path = path
        self._partial = f"{path}.partial"
        self._part_size = part_size
        try:
            self._handle = open(self._partial, mode)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from exc
        self.plain_bytes = self._marked = self._handle.seek(0, os.SEEK_END)

    @classmethod
    def resume(cls, path: str, part_size: int, offset: int) -> _LocalFile:
        """The ``.partial`` file cut back to ``offset``; one a killed run completed is copied
        back to ``.partial`` first (its first ``offset`` bytes are what was saved)."""
        partial = f"{path}.partial"
        if offset == 0:
            return cls(path, part_size)
        if not os.path.exists(partial) and os.path.exists(path):
            copy = f"{partial}.{uuid.uuid4().hex}"  # whole or not there: a kill mid-copy strands nothing
            shutil.copyfile(path, copy)
            os.replace(copy, partial)
        if not os.path.exists(partial) or os.path.getsize(partial) < offset:
            raise OutputError(f"cannot resume {path}: it is missing or shorter than the checkpoint says; "
                              "delete the checkpoint to start over")
        os.truncate(partial, offset)
        return cls(path, part_size, mode="ab")

    @property
    def part_full(self) -> bool:
        return self.plain_bytes - self._marked >= self._part_size

    def write(self, data: bytes) -> int:
        try:
            written = self._handle.write(data)
        except OSError as exc:
            raise OutputError(f"cannot write {self._path}: {exc.strerror or type(exc).__name__}") from exc
        self.plain_bytes += written
        return written

    def mark(self) -> None:
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            raise OutputError(f"cannot write {self._path}: {exc.strerror or type(exc).__name__}") from exc
        self._marked = self.plain_bytes

    def saved(self) -> tuple[int, JsonObject]:
        return self._marked, {"offset": self._marked}

    def probe(self) -> None:
        """Nothing to start: the ``.partial`` file is there."""

    def drain(self) -> None:
        """Nothing in flight: ``mark`` was synchronous."""

    def close(self) -> None:
        """Durable, then complete: a checkpoint records the file as complete right after."""
        self.mark()
        self._handle.close()
        os.replace(self._partial, self._path)
        fsync_dir(os.path.dirname(self._path))

    def abort(self, *, keep_upload: bool = False) -> None:
        self._handle.close()
        if not keep_upload and os.path.exists(self._partial):
            os.unlink(self._partial)


class OssStore:
    """An inventory under ``oss://bucket/prefix``: data files stream in by multipart upload
    (``OssWriter``, parts cut at page ends), small files are one PutObject, ``once`` sends
    x-oss-forbid-overwrite."""

    def __init__(self, objects: ObjectClient, prefix: str, *, part_size: int | None = None,
                 keep_failed_uploads: bool = False) -> None:
        self._objects = objects
        self._keep = keep_failed_uploads
        self._prefix = prefix if prefix.endswith("/") or not prefix else prefix + "/"
        self._part_size = PART_SIZE if part_size is None else part_size
        self.bucket = objects.bucket_name
        self.url = objects.url(self._prefix)

    def open(self, key: str) -> Sink:
        from osslist.ossout import OssWriter

        return OssWriter(self._objects, self.full_key(key), part_size=self._part_size, compress=False,
                         cut_at_marks=True, keep_upload_on_failure=self._keep)

    def resume(self, key: str, saved: JsonObject) -> Sink:
        """The saved upload continued (its parts checked by ListParts). When a killed run had
        completed it (no such upload, the object there), a new upload starts with the object's
        first saved bytes (read back), so the file goes on from the same point."""
        from osslist.ossout import Committed, OssWriter

        committed = Committed.from_json(saved)
        full = self.full_key(key)
        writer = OssWriter(self._objects, full, part_size=self._part_size, compress=False, cut_at_marks=True,
                           keep_upload_on_failure=self._keep)
        try:
            writer.continue_upload(committed)
            return writer
        except OssRefused as exc:
            if exc.code != "NoSuchUpload" or not committed.parts or not self._objects.exists(full):
                writer.abort(keep_upload=True)
                raise
        self._copy_head(full, committed.stored_offset, writer)  # the writer is as new: continue_upload set nothing
        return writer

    def _copy_head(self, key: str, size: int, writer: Sink) -> None:
        """The first ``size`` bytes of the object at ``key`` into ``writer``, streamed part by part
        (those parts may end inside a gzip member: no checkpoint is saved before ``size``)."""
        copied = 0
        for chunk in self._objects.stream(key):
            head = chunk[: size - copied]
            writer.write(head)
            copied += len(head)
            if writer.part_full:
                writer.mark()
            if copied == size:
                writer.mark()
                return
        raise OutputError(f"cannot resume {self._objects.url(key)}: it is shorter than the checkpoint says; "
                          "delete the checkpoint to start over")

    def put(self, key: str, data: bytes, *, once: bool = False) -> bool:
        try:
            self._objects.put(self.full_key(key), data, forbid_overwrite=once)
        except OssRefused as exc:
            if once and exc.code == "FileAlreadyExists":
                return False
            raise
        return True

    def read(self, key: str) -> bytes:
        return b"".join(self._objects.stream(self.full_key(key)))

    def digest(self, key: str) -> str:
        md5 = hashlib.md5(usedforsecurity=False)
        for chunk in self._objects.stream(self.full_key(key)):
            md5.update(chunk)
        return md5.hexdigest().upper()

    def names(self, folder: str) -> list[str]:
        from osslist.listing import ListingSpec, iter_records

        prefix = self.full_key(folder.rstrip("/") + "/")
        spec = ListingSpec(prefix=prefix, delimiter="/")
        return [r.key[len(prefix):] for r in iter_records(self._objects.client, spec) if type(r) is ObjectRecord]

    def discard_unfinished(self, prefix: str, keep: Saved | None) -> None:
        """Abort the uploads a killed run left under ``prefix`` but a saved one with parts (the
        file a rerun continues): the saved one without parts by its id, any other found by
        ListMultipartUploads (best effort: a role without oss:ListMultipartUploads leaves those
        few, started after the last save, to a lifecycle rule)."""
        saved_id = None if keep is None else keep[1].get("upload_id")
        keep_id = saved_id if keep is not None and keep[1].get("parts") else None
        found = {(self.full_key(keep[0]), saved_id)} if keep is not None and saved_id and saved_id != keep_id else set()
        try:
            found.update(self._objects.uploads_under(self.full_key(prefix)))
        except OssRefused as exc:
            log.debug("not listing unfinished uploads under %s: %s", self._objects.url(self.full_key(prefix)), exc)
        for key, upload_id in sorted(found):
            if upload_id != keep_id:
                self._objects.abort(key, upload_id)

    def full_key(self, key: str) -> str:
        return self._prefix + key
