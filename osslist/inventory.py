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
into OSS, a ``.partial`` file on disk). Within a file, parts are cut at page ends, each a gzip
member of its own, so a run with ``--checkpoint`` can save after any part and a later run
continue the same file (``inventoryresume``). Nothing is final until ``commit()`` (after a
successful run): it completes the last data file, then writes the manifest, or, in a sharded
run, the shard's part, and the manifest once every part is there (written with
forbid-overwrite, so when two shards finish together the second finds it written and is
fine). ``abort()`` drops the file in progress; the files already completed stay unreferenced
(no manifest names them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Sequence
from urllib.parse import quote

from osslist.errors import OutputError, UsageError
from osslist.inventorystores import JsonObject, Saved, Sink, Store
from osslist.pages import PrefixRecord, Record, VersionRecord
from osslist.ranges import KeyRange

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
GZIP_LEVEL = 1  # as ossout: CSV rows still shrink about fivefold, and the run loop's thread compresses every page
_SHARD_NAME = re.compile(r"(\d+)-of-(\d+)\.json")


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
        head = f'{quoted_bucket},"{url_encoded(r.key)}",'
        if versions:
            assert type(r) is VersionRecord, "an all-versions listing yields versions"
            head += _version_fields(r)
            if r.is_delete_marker:
                lines.append(f'{head}"","",{_field(r.last_modified)},"","false","",""\n')
                continue
        details = r.details
        moved = '""' if details is None or details.transition_time is None else _field(details.transition_time)
        lines.append(
            f'{head}"{r.size}",{_field(r.storage_class)},'
            f'{_field(r.last_modified)},{_field(r.etag)},"{"true" if r.type == "Multipart" else "false"}",'
            f'{moved},{_field(r.type)}\n'
        )
    return "".join(lines).encode("utf-8", "surrogateescape")


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.~/-]*")


def url_encoded(key: str) -> str:
    """``quote(key, safe="")`` (every byte but ``A-Za-z0-9_.-~`` percent-encoded, ``/`` too),
    for the common key made only of those and ``/`` by one replace: quote costs most of a
    page's rendering otherwise."""
    return key.replace("/", "%2F") if _PLAIN_KEY.fullmatch(key) else quote(key, safe="")


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

    def to_json(self) -> JsonObject:
        return {"key": self.key, "size": self.size, "MD5checksum": self.md5, "first": self.first}

    @classmethod
    def from_json(cls, data: JsonObject) -> DataFile:
        return cls(str(data["key"]), int(data["size"]), str(data["MD5checksum"]), str(data["first"]))


class _GzipFile:
    """One data file in progress: gzip over a Sink, counting and hashing what is stored.

    Each part of the file is a gzip member of its own (ended just before the part is cut at a
    page end), so a run resumed from a checkpoint goes on with a new member where the saved
    part ends: the file is valid gzip (concatenated members) whichever run wrote which part.
    A resumed file's earlier bytes are not here to hash: its MD5 is read back once complete."""

    def __init__(self, sink: Sink, key: str, first: str, limit: str | None, *, stored: int = 0) -> None:
        self.key = key
        self.first = first
        self.limit = limit
        """The end of the key range the file started in: a page past it starts a new file."""
        self._sink = sink
        self._gzip = _new_member()
        self._member_bytes = 0
        self._md5 = hashlib.md5(usedforsecurity=False) if stored == 0 else None
        self.stored = stored

    def write(self, data: bytes) -> None:
        """One page of rows; a sync flush after it makes ``stored`` the file's size so far
        (a few bytes a page), so the file is cut at the first page past the size. When the
        part being filled is full, the member ends and the part is cut here, at a page end."""
        self._member_bytes += len(data)
        self._store(self._gzip.compress(data) + self._gzip.flush(zlib.Z_SYNC_FLUSH))
        if self._sink.part_full:
            self._end_member()
            self._sink.mark()

    def finish(self, store: Store) -> DataFile:
        self._end_member()
        self._sink.close()
        md5 = store.digest(self.key) if self._md5 is None else self._md5.hexdigest().upper()
        return DataFile(self.key, self.stored, md5, self.first)

    def saved(self) -> tuple[int, JsonObject]:
        """The bytes of the file that are durable (whole parts) and what resumes them."""
        offset, state = self._sink.saved()
        return offset, {"key": self.key, "first": self.first, "limit": self.limit, "saved": state}

    def drain(self) -> None:
        self._sink.drain()

    def abort(self, *, keep_upload: bool = False) -> None:
        self._sink.abort(keep_upload=keep_upload)

    def _end_member(self) -> None:
        if self._member_bytes:
            self._store(self._gzip.flush())
            self._gzip, self._member_bytes = _new_member(), 0

    def _store(self, data: bytes) -> None:
        if data:
            if self._md5 is not None:
                self._md5.update(data)
            self.stored += len(data)
            self._sink.write(data)


def _new_member() -> zlib._Compress:
    return zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)


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
    ordering all files by their first key puts the whole inventory in key order.

    For ``--checkpoint`` it is a ``checkpointstore.DurableOutput``: its bytes are counted over
    all its data files in order (completed files' sizes, then the bytes of the one in
    progress); ``end_page()`` says where the last page's bytes end, ``durable()`` how far they
    are durable (whole files, then whole parts) with the state that continues from exactly
    there, and ``restore()`` continues from such a state. ``resumable``: each data file's upload
    starts when the file opens, and ``generation`` counts those starts, so the checkpoint names
    an upload before its first part (a rerun then aborts it, needing no ListMultipartUploads)."""

    def __init__(self, store: Store, *, source_bucket: str, started: datetime, file_size: int = DEFAULT_FILE_SIZE,
                 shard: Shard | None = None, ranges: Sequence[KeyRange] = (KeyRange(),), versions: bool = False,
                 resumable: bool = False) -> None:
        self._store = store
        self._bucket = source_bucket
        self._started = int(started.timestamp())
        self._file_size = file_size
        self._shard = shard
        self._uuid = str(uuid.uuid4())
        self._files: list[DataFile] = []
        self._files_json: list[JsonObject] = []
        """``_files`` as a checkpoint saves them, kept as they complete (not rebuilt every page)."""
        self._completed_bytes = 0
        """The sizes of ``_files`` summed: where the bytes of the file in progress start."""
        self._resumable = resumable
        self.generation = 0
        self._current: _GzipFile | None = None
        self._ranges = tuple(ranges)
        self._versions = versions

    @property
    def url(self) -> str:
        return self._store.url

    def render(self, records: Sequence[Record]) -> Rows:
        first = records[0].key if records and type(records[0]) is not PrefixRecord else None
        return first, render_rows(records, self._bucket, versions=self._versions)

    def write_rendered(self, page: Rows) -> None:
        first, data = page
        if first is None:
            return
        if self._current is not None and self._current.limit is not None and first >= self._current.limit:
            self._complete_current()  # the next of this shard's ranges
        if self._current is None:
            self._current = self._open(first)
        self._current.write(data)
        if self._current.stored >= self._file_size:
            self._complete_current()

    def _open(self, first: str) -> _GzipFile:
        number = len(self._files)
        key = f"data/{self._uuid}{f'-{number}' if number else ''}.csv.gz"
        sink = self._store.open(key)
        if self._resumable:
            sink.probe()
            self.generation += 1
        return _GzipFile(sink, key, first, self._range_end(first))

    def _complete_current(self) -> None:
        assert self._current is not None
        done = self._current.finish(self._store)
        self._files.append(done)
        self._files_json.append(done.to_json())
        self._completed_bytes += done.size
        self._current = None

    def _range_end(self, key: str) -> str | None:
        """The end of the range holding ``key`` (None: unbounded, or not one of the ranges)."""
        return next((r.end_before for r in self._ranges if r.contains(key)), None)

    def flush(self) -> None:
        """Nothing to push: parts are cut at page ends as they fill (``durable`` says which)."""

    def close(self) -> None:
        """The run loop's close: nothing yet (``commit`` after success, ``abort`` after failure)."""

    def abort(self, *, keep_upload: bool = False) -> None:
        """Drop the data file in progress (``keep_upload``: keep it for a checkpoint to
        continue); no manifest names the completed ones."""
        if self._current is not None:
            self._current.abort(keep_upload=keep_upload)
            self._current = None

    def drain(self) -> None:
        """Wait for the parts in flight (SIGTERM: then ``durable`` covers them)."""
        if self._current is not None:
            self._current.drain()

    # --- checkpoints ---

    def end_page(self) -> int:
        """Where the bytes written so far end (a page's parts are cut as it is written)."""
        return self._completed_bytes + (0 if self._current is None else self._current.stored)

    def durable(self) -> tuple[int, JsonObject]:
        """How far the bytes are durable (whole files, then the whole parts of the one in
        progress), and the state that continues from there."""
        offset, current = (0, None) if self._current is None else self._current.saved()
        state = {"uuid": self._uuid, "started": self._started, "files": list(self._files_json), "current": current}
        return self._completed_bytes + offset, state

    def restore(self, state: JsonObject) -> None:
        """Continue from a ``durable()`` state: its data files, and the one in progress reopened
        at its durable end; files a killed run left unfinished are dropped."""
        try:
            self._uuid, self._started = str(state["uuid"]), int(state["started"])
            self._files = [DataFile.from_json(f) for f in state["files"]]
            self._files_json = [f.to_json() for f in self._files]
            self._completed_bytes = sum(f.size for f in self._files)
            current = state["current"]
            saved: Saved | None = None if current is None else (str(current["key"]), dict(current["saved"]))
            first, limit = (None, None) if current is None else (str(current["first"]), current["limit"])
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"checkpoint inventory entry is malformed ({exc}); delete the checkpoint to start over") from exc
        self._store.discard_unfinished(f"data/{self._uuid}", saved)
        if saved is not None and first is not None:
            sink = self._store.resume(*saved)
            self._current = _GzipFile(sink, saved[0], first, None if limit is None else str(limit),
                                      stored=sink.plain_bytes)

    # --- the end ---

    def commit(self) -> str:
        """Complete the last data file, then :meth:`publish`."""
        self.finish_files()
        return self.publish()

    def finish_files(self) -> None:
        """Complete the data file in progress."""
        if self._current is not None:
            self._complete_current()

    def publish(self) -> str:
        """Write the manifest (or this shard's part, and the manifest when every part is
        there). Returns what was written, for the log."""
        part = self._part()
        if self._shard is None:
            return write_manifest(self._store, [part])
        name = f"shards/{self._shard.index}-of-{self._shard.count}.json"
        self._store.put(name, json.dumps(part, sort_keys=True).encode())
        parts = gather_parts(self._store, self._shard.count)
        if parts is None:
            return f"{name} (the manifest comes with the last shard)"
        return write_manifest(self._store, parts)

    def _part(self) -> JsonObject:
        return {
            "started": self._started,
            "sourceBucket": self._bucket,
            "fileSchema": ", ".join(VERSION_SCHEMA if self._versions else SCHEMA),
            "shard": None if self._shard is None else self._shard.index,
            "files": [{**f.to_json(), "key": self._store.full_key(f.key)} for f in self._files],
        }


def gather_parts(store: Store, count: int) -> list[JsonObject] | None:
    """Every shard's part, in shard order, or None while one is missing."""
    present = {}
    for name in store.names("shards"):
        match = _SHARD_NAME.fullmatch(name)
        if match and int(match.group(2)) == count:
            present[int(match.group(1))] = name
    if sorted(present) != list(range(count)):
        return None
    return [json.loads(store.read(f"shards/{present[index]}")) for index in range(count)]


def manifest_bytes(store: Store, parts: Iterable[JsonObject]) -> tuple[int, bytes]:
    """(start, manifest.json) from the parts: a pure function of them, so every shard that
    writes it writes the same bytes. The start (epoch seconds, creationTimestamp) is the
    earliest part's; the files are in key order (by their first keys)."""
    parts = list(parts)
    started = min(int(p["started"]) for p in parts)
    entries = sorted((f for p in parts for f in p["files"]), key=lambda f: f.get("first", ""))
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
    return started, json.dumps(doc, indent=2, sort_keys=True).encode() + b"\n"


MINUTES_TO_TRY = 60
"""How many minute folders after its start a report may move to when runs started together."""


def write_manifest(store: Store, parts: Iterable[JsonObject]) -> str:
    """manifest.json then manifest.checksum, each once (forbid-overwrite), in the folder of
    the start's minute; a second writer with the same bytes (a shard finishing at the same
    time, a rerun) finds them there and is fine. When another run's report holds that folder
    (two runs into one prefix started in the same minute) the next free minute's is used, so
    both reports stay whole and the folder names still sort by start."""
    started, data = manifest_bytes(store, parts)
    for minute in range(MINUTES_TO_TRY):
        folder = datetime.fromtimestamp(started + 60 * minute, timezone.utc).strftime("%Y-%m-%dT%H-%MZ")
        key = f"{folder}/manifest.json"
        if store.put(key, data, once=True):
            break
        if store.read(key) == data:
            log.info("%s was already written (another shard finished at the same time)", key)
            break
        log.warning("%s holds another run's report (started in the same minute): trying the next minute's folder",
                    store.full_key(key))
    else:
        raise OutputError(f"{store.full_key(key)}: the {MINUTES_TO_TRY} folders after this run's start all hold "
                          "other runs' reports; give this run its own prefix")
    store.put(f"{folder}/manifest.checksum", hashlib.md5(data, usedforsecurity=False).hexdigest().upper().encode(),
              once=True)
    return store.full_key(f"{folder}/manifest.json")
