"""``--format oss-inventory``: a listing written in the layout of OSS's own bucket inventory.

::

    PREFIX/data/<uuid>.csv.gz, <uuid>-1.csv.gz, ...   the rows, each object in exactly one file
    PREFIX/<YYYY-MM-DDTHH-MMZ>/manifest.json          what OSS's manifest says (fields below)
    PREFIX/<YYYY-MM-DDTHH-MMZ>/manifest.checksum      MD5 of manifest.json, hex
    PREFIX/shards/<I>-of-<N>.json                     sharded runs only: each shard's part

Rows are CSV without a header, every field quoted, keys URL-encoded, columns as ``fileSchema``
names them: Bucket, Key, Size, StorageClass, LastModifiedDate, ETag, IsMultipartUploaded,
TransitionTime, ObjectType. manifest.json carries creationTimestamp (the run's start, epoch **seconds** as a
string, as OSS's documented example), destinationBucket, fileFormat (CSV), fileSchema, files
(key, size, MD5checksum: upper-case hex, as OSS's example), sourceBucket, version
(2019-09-01). Where the documentation leaves a choice, README says what osslist chose.

``InventoryWriter`` is the run loop's writer (``runner.execute``): pages are rendered to rows
in the source's threads; the loop's thread gzips them into the current data file, which is cut
at ``file_size`` compressed bytes and uploaded as it fills (``Store.open``: an ``OssWriter``
into OSS, a ``.partial`` file on disk). Nothing is final until ``commit()`` (after a successful
run): it completes the last data file, then writes the manifest, or, in a sharded run, the
shard's part, and the manifest once every part is there (written with forbid-overwrite, so
when two shards finish together the second finds it written and is fine). ``abort()`` drops
the file in progress; the files already completed stay unreferenced (no manifest names them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable, Protocol, Sequence
from urllib.parse import quote

from osslist.errors import OssRefused, OutputError
from osslist.pages import ObjectRecord, PrefixRecord, Record, VersionRecord
from osslist.ranges import KeyRange

if TYPE_CHECKING:
    from osslist.ossobjects import ObjectClient

log = logging.getLogger(__name__)

FORMAT = "oss-inventory"
SCHEMA = ("Bucket", "Key", "Size", "StorageClass", "LastModifiedDate", "ETag", "IsMultipartUploaded", "TransitionTime",
          "ObjectType")
"""The fixed fields, then the optional ones a listing returns, in the documented order
(TransitionTime before ObjectType); EncryptionStatus, ObjectAcl, TaggingCount, Crc64 are not listed."""
VERSION_SCHEMA = ("Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", *SCHEMA[2:])
"""--all-versions: the fixed fields of an all-versions OSS inventory come after Key."""
VERSION = "2019-09-01"
DEFAULT_FILE_SIZE = 64 * 1024 * 1024
GZIP_LEVEL = 6
_SHARD_NAME = re.compile(r"(\d+)-of-(\d+)\.json")


class Sink(Protocol):
    """A data file being written: bytes in, then complete (``close``) or drop (``abort``)."""

    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


class Store(Protocol):
    """Where an inventory goes: a local directory or an OSS prefix. Keys are relative to it."""

    def open(self, key: str) -> Sink: ...

    def put(self, key: str, data: bytes, *, once: bool = False) -> bool:
        """Write ``data``; with ``once`` only when the key does not exist yet (False then)."""
        ...

    def read(self, key: str) -> bytes: ...

    def names(self, folder: str) -> list[str]:
        """The names of the objects directly in ``folder``."""
        ...

    def full_key(self, key: str) -> str:
        """The key manifest.json records for ``key``."""
        ...

    @property
    def bucket(self) -> str: ...


# --- stores -------------------------------------------------------------------------------------


class LocalStore:
    """An inventory in a local directory; a data file is written as ``.partial`` and renamed
    when complete; ``once`` writes go through a temporary file and ``os.link`` (which fails
    when the name exists), the local form of x-oss-forbid-overwrite."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.bucket = self.root

    def open(self, key: str) -> Sink:
        return _LocalFile(self._path(key))

    def put(self, key: str, data: bytes, *, once: bool = False) -> bool:
        path = self._path(key)
        temp = f"{path}.{uuid.uuid4().hex}.partial"
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
            if not once:
                os.replace(temp, path)
                return True
            try:
                os.link(temp, path)
            except FileExistsError:
                return False
            return True
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from exc
        finally:
            if os.path.exists(temp):
                os.unlink(temp)

    def read(self, key: str) -> bytes:
        with open(self._path(key), "rb") as handle:
            return handle.read()

    def names(self, folder: str) -> list[str]:
        path = os.path.join(self.root, folder)
        return sorted(os.listdir(path)) if os.path.isdir(path) else []

    def full_key(self, key: str) -> str:
        return key

    def _path(self, key: str) -> str:
        path = os.path.join(self.root, *key.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path


class _LocalFile:
    def __init__(self, path: str) -> None:
        self._path = path
        self._partial = f"{path}.partial"
        try:
            self._handle = open(self._partial, "wb")
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from exc

    def write(self, data: bytes) -> int:
        try:
            return self._handle.write(data)
        except OSError as exc:
            raise OutputError(f"cannot write {self._path}: {exc.strerror or type(exc).__name__}") from exc

    def close(self) -> None:
        self._handle.close()
        os.replace(self._partial, self._path)

    def abort(self) -> None:
        self._handle.close()
        if os.path.exists(self._partial):
            os.unlink(self._partial)


class OssStore:
    """An inventory under ``oss://bucket/prefix``: data files stream in by multipart upload
    (``OssWriter``), small files are one PutObject, ``once`` sends x-oss-forbid-overwrite."""

    def __init__(self, objects: ObjectClient, prefix: str, *, part_size: int | None = None) -> None:
        self._objects = objects
        self._prefix = prefix if prefix.endswith("/") or not prefix else prefix + "/"
        self._part_size = part_size
        self.bucket = objects.bucket_name

    def open(self, key: str) -> Sink:
        from osslist.ossout import OssWriter

        extra = {} if self._part_size is None else {"part_size": self._part_size}
        return OssWriter(self._objects, self.full_key(key), compress=False, **extra)

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

    def names(self, folder: str) -> list[str]:
        from osslist.listing import ListingSpec, iter_records

        prefix = self.full_key(folder.rstrip("/") + "/")
        spec = ListingSpec(prefix=prefix, delimiter="/")
        return [r.key[len(prefix):] for r in iter_records(self._objects.client, spec) if type(r) is ObjectRecord]

    def full_key(self, key: str) -> str:
        return self._prefix + key


# --- rows ---------------------------------------------------------------------------------------


def _field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def render_rows(records: Sequence[Record], bucket: str, *, versions: bool = False) -> bytes:
    """The CSV rows of a page (thread-safe): every field quoted, the key URL-encoded (so no row
    holds a newline or a comma of its own). ``versions``: VersionId, IsLatest, IsDeleteMarker
    after the key; a delete marker has empty Size, StorageClass, ETag, TransitionTime and
    ObjectType. TransitionTime is read off ``details`` directly: almost every record has none,
    and this runs per record."""
    quoted_bucket = _field(bucket)
    lines = []
    for r in records:
        if type(r) is PrefixRecord:
            raise OutputError("an inventory holds objects only: list without --delimiter")
        head = f'{quoted_bucket},"{quote(r.key, safe="")}",'  # type: ignore[union-attr]
        if versions:
            head += _version_fields(r)  # type: ignore[arg-type]
            if r.is_delete_marker:  # type: ignore[union-attr]
                lines.append(f'{head}"","",{_field(r.last_modified)},"","false","",""\n')  # type: ignore[union-attr]
                continue
        details = r.details  # type: ignore[union-attr]
        moved = '""' if details is None or details.transition_time is None else _field(details.transition_time)
        lines.append(
            f'{head}"{r.size}",{_field(r.storage_class)},'  # type: ignore[union-attr]
            f'{_field(r.last_modified)},{_field(r.etag)},"{"true" if r.type == "Multipart" else "false"}",'  # type: ignore[union-attr]
            f'{moved},{_field(r.type)}\n'  # type: ignore[union-attr]
        )
    return "".join(lines).encode("utf-8", "surrogateescape")


def _version_fields(record: VersionRecord) -> str:
    latest, marker = ("true" if flag else "false" for flag in (record.is_latest, record.is_delete_marker))
    return f'{_field(record.version_id)},"{latest}","{marker}",'


Rows = tuple["str | None", bytes]
"""A page rendered for the writer: its first key (None when empty) and its rows."""


@dataclass(frozen=True)
class DataFile:
    """A completed data file: its key (relative to the store), size, MD5 of its bytes, and
    its first key (what orders the files of several shards in the manifest)."""

    key: str
    size: int
    md5: str
    first: str


class _GzipFile:
    """One data file in progress: gzip over a Sink, counting and hashing what is stored."""

    def __init__(self, sink: Sink, key: str, first: str, limit: str | None) -> None:
        self.key = key
        self.first = first
        self.limit = limit
        """The end of the key range the file started in: a page past it starts a new file."""
        self._sink = sink
        self._gzip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.stored = 0

    def write(self, data: bytes) -> None:
        """One page of rows; a sync flush after it makes ``stored`` the file's size so far
        (a few bytes a page), so the file is cut at the first page past the size."""
        self._store(self._gzip.compress(data) + self._gzip.flush(zlib.Z_SYNC_FLUSH))

    def finish(self) -> DataFile:
        self._store(self._gzip.flush())
        self._sink.close()
        return DataFile(self.key, self.stored, self._md5.hexdigest().upper(), self.first)

    def abort(self) -> None:
        self._sink.abort()

    def _store(self, data: bytes) -> None:
        if data:
            self._md5.update(data)
            self.stored += len(data)
            self._sink.write(data)


# --- the writer ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    """This run's shard, when the listing is one of N (``--shard-index``)."""

    index: int
    count: int


class InventoryWriter:
    """The run loop's writer for ``--format oss-inventory`` (a ``runner.Writer[Rows]``).

    A shard's ranges may interleave with other shards' (the fixed shard rule), so a data file
    never spans two of its ``ranges``: each file then covers keys no other shard has, and
    ordering all files by their first key puts the whole inventory in key order."""

    def __init__(self, store: Store, *, source_bucket: str, started: datetime, file_size: int = DEFAULT_FILE_SIZE,
                 shard: Shard | None = None, ranges: Sequence[KeyRange] = (KeyRange(),), versions: bool = False) -> None:
        self._store = store
        self._bucket = source_bucket
        self._started = started.astimezone(timezone.utc)
        self._file_size = file_size
        self._shard = shard
        self._uuid = str(uuid.uuid4())
        self._files: list[DataFile] = []
        self._current: _GzipFile | None = None
        self._ranges = tuple(ranges)
        self._versions = versions

    def render(self, records: Sequence[Record]) -> Rows:
        first = records[0].key if records and type(records[0]) is not PrefixRecord else None  # type: ignore[union-attr]
        return first, render_rows(records, self._bucket, versions=self._versions)

    def write_rendered(self, page: Rows) -> None:
        first, data = page
        if first is None:
            return
        if self._current is not None and self._current.limit is not None and first >= self._current.limit:
            self._files.append(self._current.finish())  # the next of this shard's ranges
            self._current = None
        if self._current is None:
            number = len(self._files)
            key = f"data/{self._uuid}{f'-{number}' if number else ''}.csv.gz"
            self._current = _GzipFile(self._store.open(key), key, first, self._range_end(first))
        self._current.write(data)
        if self._current.stored >= self._file_size:
            self._files.append(self._current.finish())
            self._current = None

    def _range_end(self, key: str) -> str | None:
        """The end of the range holding ``key`` (None: unbounded, or not one of the ranges)."""
        return next((r.end_before for r in self._ranges if r.contains(key)), None)

    def flush(self) -> None:
        """Nothing to push: a data file is complete only when cut or committed."""

    def close(self) -> None:
        """The run loop's close: nothing yet (``commit`` after success, ``abort`` after failure)."""

    def abort(self) -> None:
        """Drop the data file in progress; no manifest names the completed ones."""
        if self._current is not None:
            self._current.abort()
            self._current = None

    def commit(self) -> str:
        """Complete the last data file; write the manifest (or this shard's part, and the
        manifest when every part is there). Returns what was written, for the log."""
        if self._current is not None:
            self._files.append(self._current.finish())
            self._current = None
        part = self._part()
        if self._shard is None:
            return write_manifest(self._store, [part])
        name = f"shards/{self._shard.index}-of-{self._shard.count}.json"
        self._store.put(name, json.dumps(part, sort_keys=True).encode())
        parts = gather_parts(self._store, self._shard.count)
        if parts is None:
            return f"{name} (the manifest comes with the last shard)"
        return write_manifest(self._store, parts)

    def _part(self) -> dict[str, object]:
        return {
            "started": int(self._started.timestamp()),
            "sourceBucket": self._bucket,
            "fileSchema": ", ".join(VERSION_SCHEMA if self._versions else SCHEMA),
            "shard": None if self._shard is None else self._shard.index,
            "files": [{"key": self._store.full_key(f.key), "size": f.size, "MD5checksum": f.md5, "first": f.first}
                      for f in self._files],
        }


def gather_parts(store: Store, count: int) -> list[dict[str, object]] | None:
    """Every shard's part, in shard order, or None while one is missing."""
    present = {}
    for name in store.names("shards"):
        match = _SHARD_NAME.fullmatch(name)
        if match and int(match.group(2)) == count:
            present[int(match.group(1))] = name
    if sorted(present) != list(range(count)):
        return None
    return [json.loads(store.read(f"shards/{present[index]}")) for index in range(count)]


def manifest_bytes(store: Store, parts: Iterable[dict[str, object]]) -> tuple[str, bytes]:
    """(folder, manifest.json) from the parts: a pure function of them, so every shard that
    writes it writes the same bytes. The folder and creationTimestamp are the earliest start;
    the files are in key order (by their first keys)."""
    parts = list(parts)
    started = min(int(p["started"]) for p in parts)  # type: ignore[call-overload]
    entries = sorted((f for p in parts for f in p["files"]), key=lambda f: f.get("first", ""))  # type: ignore[attr-defined]
    files = [{name: f[name] for name in ("key", "size", "MD5checksum")} for f in entries]
    doc = {
        "creationTimestamp": str(started),
        "destinationBucket": store.bucket,
        "fileFormat": "CSV",
        "fileSchema": parts[0].get("fileSchema", ", ".join(SCHEMA)),
        "files": files,
        "sourceBucket": parts[0]["sourceBucket"],
        "version": VERSION,
    }
    folder = datetime.fromtimestamp(started, timezone.utc).strftime("%Y-%m-%dT%H-%MZ")
    return folder, json.dumps(doc, indent=2, sort_keys=True).encode() + b"\n"


def write_manifest(store: Store, parts: Iterable[dict[str, object]]) -> str:
    """manifest.json then manifest.checksum, each once (forbid-overwrite): a second writer
    with the same bytes finds them there and is fine."""
    folder, data = manifest_bytes(store, parts)
    key = f"{folder}/manifest.json"
    if not store.put(key, data, once=True):
        if store.read(key) != data:
            raise OutputError(f"{store.full_key(key)} exists and names other data files: give each run its own "
                              "prefix (e.g. {env:JOB_NAME} in the key)")
        log.info("%s was already written (another shard finished at the same time)", key)
    store.put(f"{folder}/manifest.checksum", hashlib.md5(data, usedforsecurity=False).hexdigest().upper().encode(),
              once=True)
    return store.full_key(f"{folder}/manifest.json")
