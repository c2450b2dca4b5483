"""Reading osslist's reports back: one reader for every report it writes.

``open_report(location)`` takes a local path or an ``oss://BUCKET/KEY`` URL and recognises
what it holds from its bytes (gzip by its magic number, whatever the name says):

- **jsonl** (``--format jsonl``): one JSON object per line with key, size, last_modified,
  etag, storage_class (and version_id in all-versions listings; type, restore,
  transition_time, owner when present);
- **csv** (``--format csv``): osslist's header (Bucket, Key, Size, LastModifiedDate, ETag,
  StorageClass, ObjectType; VersionId, TransitionTime, RestoreState, RestoreExpiry, Owner
  when present), columns found by name;
- **inventory**: an OSS bucket inventory's ``manifest.json`` (ours or OSS's own): its data
  files are read in the manifest's order, each checked against the manifest's size and MD5,
  keys URL-decoded, columns per ``fileSchema``; ``manifest.checksum`` is checked when present.

Records come out one at a time (memory does not grow with the report) as ``ReportRecord``,
in key order, which is checked as they pass: keys ascend strictly, or, in an all-versions
report, each (key, version id) comes once with a key's versions together. Whatever is wrong
(truncated gzip, a wrong MD5 or size, a missing data file, keys out of order, a line that is
no record, a file that is no report) raises one ``ReportError`` naming the file: a consumer
never takes a damaged report for a complete one. ``oss://`` reports are read with the
listing's own object client (``ossobjects``), gzip through ``osscat``'s decompressor.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import posixpath
import re
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, NamedTuple
from urllib.parse import unquote

from osslist.errors import OssRefused, ReportError
from osslist.listing import ListingSpec, iter_records
from osslist.osscat import CorruptObject, gunzipped
from osslist.ossobjects import ObjectClient
from osslist.ossurl import SCHEME, is_oss_url, split_oss_url
from osslist.pages import ObjectRecord, PrefixRecord, Record

if TYPE_CHECKING:
    from osslist.client import BucketClient

__all__ = ["FORMATS", "ClientFor", "ObjectsFor", "Report", "ReportRecord", "canonical_time", "from_listing",
           "is_folder", "newest_reports", "open_report", "within"]

FORMATS = ("jsonl", "csv", "inventory")
GZIP_MAGIC = b"\x1f\x8b"
MANIFEST_LIMIT = 64 * 1024 * 1024
"""A manifest is read whole (it is one JSON document); a bigger one is no manifest."""
_CHUNK = 1024 * 1024
_PEEK = 4096
_INFLATE_PIECE = 16 * 1024
_CSV_NEEDS = ("Key", "Size", "LastModifiedDate", "ETag", "StorageClass")
_CSV_RARE = ("ObjectType", "RestoreState", "RestoreExpiry", "TransitionTime", "Owner")
"""The columns of ReportRecord's optional fields, in its order (absent: "")."""
_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(?:Z|[+-]00:?00)")

ObjectsFor = Callable[[str], ObjectClient]
"""``objects_for(bucket) -> ObjectClient``: how ``oss://`` reports are read (the CLI builds it
from the usual endpoint and credential options)."""


class ReportRecord(NamedTuple):
    """One object of a report, whatever format it was read from. ``last_modified`` is ISO 8601
    UTC with milliseconds (``2024-06-22T13:13:58.000Z``, as OSS lists it), ``etag`` without
    quotes, ``version_id`` None in a listing of current objects. A NamedTuple: immutable, and
    built in a fraction of a frozen dataclass's time (two per key in a diff)."""

    key: str
    size: int
    etag: str
    last_modified: str
    storage_class: str
    version_id: str | None = None
    type: str = ""
    """Normal, Multipart, Appendable, Symlink ("" when the report has no such field)."""
    restore: str = ""
    """"" (no RestoreInfo), "ongoing" or "restored"; ``restore_expiry`` the ISO expiry."""
    restore_expiry: str = ""
    transition_time: str = ""
    owner: str = ""


def canonical_time(text: str) -> str:
    """``2024-06-22T13:13:58Z``, ``...58.5Z``, ``...58+00:00`` -> ``2024-06-22T13:13:58.000Z``
    (``.500Z``), so reports of different formats compare equal; anything else stays as it is."""
    if len(text) == 24 and text[19] == "." and text[23] == "Z":
        return text
    match = _TIME.fullmatch(text)
    if match is None:
        return text
    millis = (match.group(2) or "").ljust(3, "0")[:3]
    return f"{match.group(1)}.{millis}Z"


class Report:
    """A report found at ``name``: its format and, iterated (once), its records in key order."""

    def __init__(self, name: str, fmt: str, records: Iterator[ReportRecord]) -> None:
        self.name = name
        self.format = fmt
        self._records = records

    def __iter__(self) -> Iterator[ReportRecord]:
        return in_key_order(self._records, self.name)


# --- where bytes come from ----------------------------------------------------------------------


def _local_chunks(path: str) -> Iterator[bytes]:
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise ReportError(f"cannot read report {path}: {exc.strerror or type(exc).__name__}") from exc
    with handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def _chunks(location: str, objects_for: ObjectsFor | None) -> Iterator[bytes]:
    """The bytes stored at a local path or an ``oss://`` URL, streamed."""
    if not is_oss_url(location):
        return _local_chunks(location)
    if objects_for is None:
        raise ReportError(f"cannot read {location}: no OSS connection given")
    url = split_oss_url(location)
    return objects_for(url.bucket).stream(url.key)


def _peek(chunks: Iterator[bytes], size: int) -> tuple[bytes, Iterator[bytes]]:
    """The first ``size`` bytes (fewer at the end) and the whole stream again."""
    head: list[bytes] = []
    have = 0
    for chunk in chunks:
        head.append(chunk)
        have += len(chunk)
        if have >= size:
            break
    return b"".join(head)[:size], chain(head, chunks)


def _plain(chunks: Iterator[bytes], name: str) -> Iterator[bytes]:
    """The stream gunzipped when it starts with gzip's magic number (whatever the name says);
    a broken or truncated gzip is a ReportError."""
    head, chunks = _peek(chunks, 2)
    if head != GZIP_MAGIC:
        return chunks
    return _report_errors(gunzipped(_pieces(chunks, _INFLATE_PIECE), name))


def _pieces(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The chunks cut to at most ``size`` bytes, so each one inflates to a bounded amount (a
    1 MiB chunk of jsonl.gz is 10-20 MiB of text at once)."""
    for chunk in chunks:
        if len(chunk) <= size:
            yield chunk
            continue
        view = memoryview(chunk)
        for start in range(0, len(chunk), size):
            yield bytes(view[start : start + size])


def _report_errors(chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    except CorruptObject as exc:
        raise ReportError(f"damaged report: {exc}") from exc


class _ChunkReader(io.RawIOBase):
    """A file object over a stream of byte chunks, so the text and csv layers read it lazily."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._rest = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # Any: a writable buffer (memoryview, bytearray)
        while not self._rest:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._rest = memoryview(chunk)
        count = min(len(buffer), len(self._rest))
        buffer[:count] = self._rest[:count]
        self._rest = self._rest[count:]
        return count


def _text(chunks: Iterator[bytes]) -> io.TextIOWrapper:
    """UTF-8 text, newlines kept as they are (csv needs them untranslated)."""
    return io.TextIOWrapper(io.BufferedReader(_ChunkReader(chunks), 1 << 16), encoding="utf-8", newline="")


def _lines(chunks: Iterator[bytes], name: str) -> Iterator[str]:
    try:
        yield from _text(chunks)
    except UnicodeDecodeError as exc:
        raise ReportError(f"{name} is not UTF-8 text: no osslist report") from exc


# --- recognising a report -----------------------------------------------------------------------


def open_report(location: str, *, objects_for: ObjectsFor | None = None) -> Report:
    """The report at ``location`` (path or ``oss://``), its format recognised from its first
    bytes; ReportError when it is none of jsonl, osslist's csv, or an inventory manifest."""
    chunks = _plain(_chunks(location, objects_for), location)
    head, chunks = _peek(chunks, _PEEK)
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    if first.startswith(b"{"):
        if _is_json_record(first):
            return Report(location, "jsonl", _jsonl_records(_lines(chunks, location), location))
        return Report(location, "inventory", _inventory_records(location, chunks, objects_for))
    if first.split(b",")[:2] == [b"Bucket", b"Key"]:
        return Report(location, "csv", _csv_records(_lines(chunks, location), location))
    if not head:  # what `ls --format jsonl` writes for an empty listing
        return Report(location, "jsonl", iter(()))
    raise ReportError(f"{location} is not a report osslist reads (jsonl, csv with osslist's header, or a manifest.json)")


def _is_json_record(line: bytes) -> bool:
    try:
        value = json.loads(line)
    except ValueError:
        return False
    return isinstance(value, dict) and ("key" in value or "prefix" in value)


# --- jsonl --------------------------------------------------------------------------------------


def _jsonl_records(lines: Iterable[str], name: str) -> Iterator[ReportRecord]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if "prefix" in item and "key" not in item:
                raise ReportError(f"{name} line {number}: a common prefix (listed with --delimiter): "
                                  "only a full listing can be compared")
            yield ReportRecord(item["key"], int(item["size"] or 0), item["etag"] or "",
                               canonical_time(item["last_modified"]), item["storage_class"] or "", item.get("version_id"),
                               *_jsonl_rare(item))
        except (ValueError, KeyError, TypeError) as exc:
            raise ReportError(f"{name} line {number}: not a listing record ({_why(exc)})") from exc


def _jsonl_rare(item: Mapping[str, Any]) -> tuple[str, str, str, str, str]:  # Any: JSON values
    """(type, restore state, restore expiry, transition time, owner) of a jsonl record."""
    restore = item.get("restore")
    state, expiry = "", ""
    if isinstance(restore, dict):
        state = "ongoing" if restore.get("ongoing") else "restored"
        expiry = str(restore.get("expiry") or "")
    return (str(item.get("type") or ""), state, expiry, str(item.get("transition_time") or ""),
            str(item.get("owner") or ""))


def _why(exc: Exception) -> str:
    return f"missing {exc}" if isinstance(exc, KeyError) else type(exc).__name__


# --- csv ----------------------------------------------------------------------------------------


def _csv_records(lines: Iterable[str], name: str) -> Iterator[ReportRecord]:
    rows = csv.reader(lines)
    header = next(rows)
    missing = [column for column in _CSV_NEEDS if column not in header]
    if missing:
        raise ReportError(f"{name}: csv header lacks {', '.join(missing)}")
    at = {column: header.index(column) for column in header}
    kind, version = at.get("ObjectType"), at.get("VersionId")
    for number, row in enumerate(rows, 2):
        if len(row) != len(header):
            raise ReportError(f"{name} row {number}: {len(row)} columns, the header has {len(header)}")
        if kind is not None and row[kind] == "Prefix":
            raise ReportError(f"{name} row {number}: a common prefix (listed with --delimiter): "
                              "only a full listing can be compared")
        yield _record(row, at, version, name, number, decode=None)


def _record(row: list[str], at: Mapping[str, int], version: int | None, name: str, number: int,
            *, decode: Callable[[str], str] | None) -> ReportRecord:
    """A row as a record, columns by name; ``decode`` undoes the inventory's URL encoding."""
    key = row[at["Key"]]
    try:
        size = int(row[at["Size"]] or 0) if "Size" in at else 0  # empty: a delete marker
    except ValueError:
        raise ReportError(f"{name} row {number}: size {row[at['Size']]!r} is not a number") from None
    version_id = row[version] if version is not None and row[version] else None
    return ReportRecord(
        decode(key) if decode else key,
        size,
        row[at["ETag"]].strip('"') if "ETag" in at else "",
        canonical_time(row[at["LastModifiedDate"]]) if "LastModifiedDate" in at else "",
        row[at["StorageClass"]] if "StorageClass" in at else "",
        version_id,
        *(row[at[column]] if column in at else "" for column in _CSV_RARE),
    )


# --- inventory ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataFile:
    """One data file a manifest lists: its key in the destination, size and MD5 (hex)."""

    key: str
    size: int
    md5: str


@dataclass(frozen=True)
class Manifest:
    """What a reader needs of manifest.json: the columns and the data files, in order."""

    columns: tuple[str, ...]
    files: tuple[DataFile, ...]
    source_bucket: str


def parse_manifest(data: bytes, name: str) -> Manifest:
    """manifest.json's fields (OSS's "Bucket inventory" layout); ReportError when it lacks one."""
    try:
        doc = json.loads(data)
        columns = tuple(part.strip() for part in doc["fileSchema"].split(","))
        files = tuple(DataFile(f["key"], int(f["size"]), str(f["MD5checksum"]).lower()) for f in doc["files"])
        if str(doc.get("fileFormat", "CSV")).upper() != "CSV":
            raise ReportError(f"{name}: fileFormat {doc['fileFormat']!r}; only CSV inventories are read")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ReportError(f"{name} is not an inventory manifest ({_why(exc)})") from exc
    if "Key" not in columns:
        raise ReportError(f"{name}: fileSchema has no Key column")
    return Manifest(columns, files, str(doc.get("sourceBucket", "")))


def _read_all(chunks: Iterable[bytes], name: str, limit: int) -> bytes:
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) > limit:
            raise ReportError(f"{name} is over {limit} bytes: not a manifest")
    return bytes(data)


def _inventory_records(location: str, chunks: Iterator[bytes], objects_for: ObjectsFor | None) -> Iterator[ReportRecord]:
    """Every data file of the manifest at ``location``, checked, rows in order."""
    data = _read_all(chunks, location, MANIFEST_LIMIT)
    _check_checksum(location, data, objects_for)
    manifest = parse_manifest(data, location)
    at = {column: index for index, column in enumerate(manifest.columns)}
    version = at.get("VersionId")
    for data_file in manifest.files:
        where = _data_location(location, data_file.key)
        stream = _plain(_verified(_chunks(where, objects_for), data_file, where), where)
        rows = csv.reader(_lines(stream, where))
        for number, row in enumerate(rows, 1):
            if len(row) != len(manifest.columns):
                raise ReportError(f"{where} row {number}: {len(row)} columns, fileSchema has {len(manifest.columns)}")
            yield _record(row, at, version, where, number, decode=unquote)


def _data_location(manifest: str, key: str) -> str:
    """Where a data file is: in OSS its key in the manifest's bucket; on disk ``data/`` beside
    the manifest's timestamp folder (the documented layout), whatever prefix the key had."""
    if is_oss_url(manifest):
        return f"{SCHEME}{split_oss_url(manifest).bucket}/{key}"
    root = os.path.dirname(os.path.dirname(os.path.abspath(manifest)))
    return os.path.join(root, "data", posixpath.basename(key))


def _verified(chunks: Iterator[bytes], expected: DataFile, name: str) -> Iterator[bytes]:
    """The stored bytes, passed on while their size and MD5 are summed; a mismatch at the end
    is a ReportError (so the last records of a damaged file never complete a report)."""
    digest, size = hashlib.md5(usedforsecurity=False), 0
    try:
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            if size > expected.size:
                raise ReportError(f"{name} is bigger than the {expected.size} bytes manifest.json says")
            yield chunk
    except OssRefused as exc:
        raise ReportError(f"data file {name} of the inventory cannot be read: {exc}") from exc
    if size != expected.size:
        raise ReportError(f"{name} has {size} bytes, manifest.json says {expected.size}: truncated or replaced")
    if digest.hexdigest() != expected.md5:
        raise ReportError(f"{name}: MD5 {digest.hexdigest()} differs from manifest.json's {expected.md5}")


def _check_checksum(location: str, data: bytes, objects_for: ObjectsFor | None) -> None:
    """manifest.checksum (the MD5 of manifest.json, hex) beside the manifest, when there is one."""
    sibling = posixpath.join(posixpath.dirname(location), "manifest.checksum") if is_oss_url(location) else (
        os.path.join(os.path.dirname(location), "manifest.checksum"))
    try:
        text = _read_all(_chunks(sibling, objects_for), sibling, 1024).decode("ascii", "replace").strip()
    except ReportError:
        return  # none beside it (a manifest copied alone)
    except OssRefused as exc:
        if exc.code == "NoSuchKey":
            return
        raise
    actual = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if text.lower() != actual:
        raise ReportError(f"{location}: MD5 {actual} differs from manifest.checksum's {text[:32]!r}")


# --- key order ----------------------------------------------------------------------------------


def in_key_order(records: Iterable[ReportRecord], name: str) -> Iterator[ReportRecord]:
    """The records, checked: keys strictly ascending (Python's str order is UTF-8 byte order,
    OSS's), except that an all-versions report repeats a key once per distinct version id."""
    previous: str | None = None
    versions: set[str | None] = set()
    for record in records:
        key = record.key
        if previous is not None and key <= previous:
            if key < previous or record.version_id is None or record.version_id in versions:
                order = "repeats" if key == previous else "comes after"
                raise ReportError(f"{name}: key {key!r} {order} {previous!r}: keys out of order (not a listing)")
        else:
            versions = set()
        versions.add(record.version_id)
        previous = key
        yield record


# --- other record streams -----------------------------------------------------------------------


def from_listing(records: Iterable[Record]) -> Iterator[ReportRecord]:
    """A live listing's records as report records (``diff --live``), versions with their id; a
    common prefix cannot come from a listing without a delimiter, the only one diff runs."""
    for record in records:
        if type(record) is PrefixRecord:
            raise ReportError(f"the live listing returned a common prefix {record.prefix!r}")
        yield ReportRecord(record.key, record.size, record.etag, canonical_time(record.last_modified),
                           record.storage_class, getattr(record, "version_id", None), *_listed_rare(record))


def _listed_rare(record: ObjectRecord) -> tuple[str, str, str, str, str]:
    """(type, restore state, restore expiry, transition time, owner) of a listed record."""
    restore = record.restore
    state, expiry = ("", "") if restore is None else (restore.state, restore.expiry or "")
    return record.type, state, expiry, record.transition_time or "", record.owner or ""


def within(records: Iterable[ReportRecord], *, prefix: str = "", start_after: str = "",
           end_before: str | None = None) -> Iterator[ReportRecord]:
    """The records in a key range (what ``--prefix``/``--start-after``/``--end-before`` list),
    so a report is compared with a live listing of the same part of the bucket."""
    for record in records:
        key = record.key
        if key.startswith(prefix) and key > start_after and (end_before is None or key < end_before):
            yield record


# --- a folder of inventory reports --------------------------------------------------------------

_FOLDER = re.compile(r"\d{4}-\d\d-\d\dT\d\d-\d\dZ")
ClientFor = Callable[[str], "BucketClient"]
"""``client_for(bucket) -> BucketClient``: how a folder of reports in OSS is listed."""


def is_folder(location: str) -> bool:
    """A location ending in ``/``: a folder of inventory reports, not one report."""
    return location.endswith("/")


def newest_reports(folder: str, count: int, *, client_for: ClientFor | None = None) -> list[str]:
    """The manifest.json of the ``count`` newest inventory reports in ``folder`` (a directory or
    ``oss://BUCKET/PREFIX/``), oldest first; fewer when there are fewer. Report folders are
    named by their start time (``YYYY-MM-DDTHH-MMZ``), so name order is time order; a folder
    without a manifest.json (a run that failed or is still going) is passed over."""
    names = sorted((n for n in _folder_names(folder, client_for) if _FOLDER.fullmatch(n)), reverse=True)
    found: list[str] = []
    for name in names:
        manifest = f"{folder}{name}/manifest.json"
        if _exists(manifest, client_for):
            found.insert(0, manifest)
            if len(found) == count:
                break
    return found


def _folder_names(folder: str, client_for: ClientFor | None) -> list[str]:
    if not is_oss_url(folder):
        try:
            return [name for name in os.listdir(folder) if os.path.isdir(os.path.join(folder, name))]
        except OSError as exc:
            raise ReportError(f"cannot read the reports in {folder}: {exc.strerror or type(exc).__name__}") from exc
    client, prefix = _client_and_prefix(folder, client_for)
    records = iter_records(client, ListingSpec(prefix=prefix, delimiter="/"))
    return [record.prefix[len(prefix):-1] for record in records if type(record) is PrefixRecord]


def _exists(manifest: str, client_for: ClientFor | None) -> bool:
    if not is_oss_url(manifest):
        return os.path.isfile(manifest)
    client, key = _client_and_prefix(manifest, client_for)
    records = iter_records(client, ListingSpec(prefix=key, max_keys=1))
    return any(type(record) is ObjectRecord and record.key == key for record in records)


def _client_and_prefix(location: str, client_for: ClientFor | None) -> tuple[BucketClient, str]:
    """The client of ``oss://BUCKET/PREFIX``'s bucket, and PREFIX."""
    if client_for is None:
        raise ReportError(f"cannot read {location}: no OSS connection given")
    bucket, _, prefix = location[len(SCHEME):].partition("/")
    if not bucket:
        raise ReportError(f"{location!r}: expected oss://BUCKET/PREFIX/")
    return client_for(bucket), prefix
