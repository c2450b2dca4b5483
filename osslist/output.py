"""The one place that formats records: a writer per format, streaming record by record.

Formats (``make_writer`` is the single dispatch point):
- ``text``: the key verbatim and a newline (NUL with ``null=True``); a common prefix as itself.
- ``long``: last modified (as OSS sent it), size (human with ``human=True``: 1.5K, 23M),
  storage class, etag, key, in fixed-width columns so nothing has to be buffered to align;
  a common prefix shows ``PRE`` in the size column. ``null=True`` also ends lines with NUL.
- ``jsonl``: one JSON object per line: key, size, last_modified (ISO 8601 UTC), etag without
  quotes, storage_class, type, then only when OSS sent them ``restore`` (``{"ongoing": true}``
  or ``{"ongoing": false, "expiry": ISO}``), ``transition_time`` and (--fetch-owner) ``owner``:
  a record without them is the line it always was. A common prefix is ``{"prefix": "dir/"}``.
  Non-ASCII stays readable (ensure_ascii=False); control characters are JSON escapes.
- ``csv``: header Bucket, Key, Size, LastModifiedDate, ETag, StorageClass, ObjectType,
  TransitionTime (OSS inventory's names), RestoreState (empty, ``ongoing``, ``restored``),
  RestoreExpiry, and Owner with --fetch-owner; csv quoting keeps newlines in keys; a common
  prefix is a row with ObjectType ``Prefix`` and empty object fields. Lines end with
  ``\\r\\n`` (RFC 4180: with a bare ``\\n`` terminator the csv module would leave a ``\\r``
  in a key unquoted).

Bytes: writers encode UTF-8 themselves and write bytes, to a binary stream, or to the
``.buffer`` of a text stream (sys.stdout, a file opened in text mode: the text layer is
flushed first and not used again), or, for a text stream without one (io.StringIO), as text.
``writer.bytes_written`` counts every byte handed to the stream (the csv header included);
after ``writer.flush()`` it is the output's size, which is the offset a checkpoint saves.
On resume, pass ``header=False`` so the csv header is not written twice.

Keys that are not valid Unicode (lone surrogates) cannot come from OSS, whose keys are UTF-8
(pages.py turns bad escapes into U+FFFD). Should one reach a writer anyway: text, long and
csv write ``\\udc80``-``\\udcff`` as the raw byte they stand for (surrogateescape, so a key
decoded that way round-trips) and any other surrogate as a ``\\ud800`` escape; jsonl writes
such a record with ASCII escapes, which is still valid JSON decoding to the same string.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import IO, TYPE_CHECKING, Any, Callable, Generic, Iterable, Protocol, Sequence, TypeVar

from osslist.errors import OutputError
from osslist.pages import Details, ObjectRecord, PrefixRecord, Record, VersionRecord

if TYPE_CHECKING:
    from osslist.uploads import UploadRecord

R = TypeVar("R")

__all__ = ["FORMATS", "LocalGzip", "OutputFile", "Stream", "UploadWriter", "Writer", "gzips", "human_size", "make_writer"]


class Stream(Protocol):
    """What a writer writes to: a binary stream, a text stream (through its ``.buffer`` when it
    has one), or one of osslist's destinations with the same two methods (:class:`OutputFile`,
    ``ossout.OssWriter``)."""

    def write(self, data: Any, /) -> object: ...  # Any: bytes, or str for a text stream

    def flush(self) -> None: ...

FORMATS = ("text", "long", "jsonl", "csv")
CSV_RARE = ["TransitionTime", "RestoreState", "RestoreExpiry"]
"""Archive fields after ObjectType: always there (a csv header precedes every record, so it
cannot wait to see whether any record has them), empty for most objects."""
CSV_HEADER = ["Bucket", "Key", "Size", "LastModifiedDate", "ETag", "StorageClass", "ObjectType", *CSV_RARE]
CSV_VERSION_HEADER = ["Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", *CSV_HEADER[2:]]
"""--all-versions: OSS inventory's version columns, where an all-versions inventory has them."""
CSV_OWNER = "Owner"
"""The last column with --fetch-owner."""
_ERRORS = "osslist-surrogates"
_UNITS = ("K", "M", "G", "T", "P", "E")


def _surrogates(error: UnicodeError) -> tuple[bytes, int]:
    """surrogateescape for U+DC80..U+DCFF (the byte back), a backslash escape for the rest."""
    assert isinstance(error, UnicodeEncodeError)
    text = error.object[error.start : error.end]
    out = bytearray()
    for char in text:
        point = ord(char)
        out += bytes([point - 0xDC00]) if 0xDC80 <= point <= 0xDCFF else f"\\u{point:04x}".encode()
    return bytes(out), error.end


codecs.register_error(_ERRORS, _surrogates)


def human_size(size: int) -> str:
    """``1536`` -> ``1.5K``; one decimal below 10, none above; plain bytes below 1024."""
    if size < 1024:
        return str(size)
    value = float(size)
    for unit in _UNITS:
        value /= 1024
        shown = f"{value:.1f}" if value < 9.95 else f"{value:.0f}"
        if float(shown) < 1024 or unit == _UNITS[-1]:
            return shown + unit
    raise AssertionError("unreachable")  # pragma: no cover


class Writer(Generic[R]):
    """Formats records (``R``: listing records, or uploads for :class:`UploadWriter`) into lines
    and writes them as UTF-8 bytes; counts bytes written."""

    def __init__(self, stream: Stream) -> None:
        self._write_bytes, self._flush = _byte_sink(stream)
        self.bytes_written = 0

    def line(self, record: R) -> str:
        """One record as text, terminator included."""
        raise NotImplementedError

    def write(self, record: R) -> None:
        """Write one record."""
        self._put(self._render((record,)))

    def render(self, records: Iterable[R]) -> bytes:
        """A page of records as the exact bytes ``write`` of each would write, without writing.

        Thread-safe (no writer state is touched), so parallel workers render their pages and
        buffer compact bytes instead of records; the consumer then calls ``write_rendered``."""
        return self._render(records)

    def write_rendered(self, data: bytes) -> None:
        """Write bytes from ``render`` (of this writer or one configured alike), counted."""
        self._put(data)

    def flush(self) -> None:
        """Push everything to the OS, so ``bytes_written`` is the output's size."""
        self._flush()

    def close(self) -> None:
        """Flush; the stream itself belongs to the caller (it may be stdout) and stays open."""
        self.flush()

    def _render(self, records: Iterable[R]) -> bytes:
        return "".join(map(self.line, records)).encode("utf-8", _ERRORS)

    def _put(self, data: bytes) -> None:
        if data:
            self._write_bytes(data)
            self.bytes_written += len(data)


class TextWriter(Writer[Record]):
    """Keys (and prefixes) verbatim, one per line or NUL-terminated."""

    def __init__(self, stream: Stream, *, null: bool = False) -> None:
        super().__init__(stream)
        self._end = "\0" if null else "\n"

    def line(self, record: Record) -> str:
        name = record.prefix if type(record) is PrefixRecord else record.key
        return name + self._end

    def _render(self, records: Iterable[Record]) -> bytes:
        """One join over the names, with no method call per record (the default format)."""
        names = [r.prefix if type(r) is PrefixRecord else r.key for r in records]
        end = self._end
        return (end.join(names) + end).encode("utf-8", _ERRORS) if names else b""


class LongWriter(TextWriter):
    """Fixed-width columns: last modified, size, storage class, etag, key."""

    _render = Writer._render  # line by line: TextWriter's join over bare names does not apply

    def __init__(self, stream: Stream, *, null: bool = False, human: bool = False, versions: bool = False) -> None:
        super().__init__(stream, null=null)
        self._size: Callable[[int], str] = human_size if human else str
        width = 6 if human else 15
        self._object = "{:<24}  {:>%d}  {:<15}  {:<34}  {}" % width
        self._prefix = self._object.format("", "PRE", "", "", "{}")
        if versions:  # version id and latest/old columns before the key
            self._version = "{:<24}  {:>%d}  {:<15}  {:<34}  {:<36}  {:<6}  {}" % width
            self._prefix = self._version.format("", "PRE", "", "", "", "", "{}")

    def line(self, record: Record) -> str:
        if type(record) is not ObjectRecord:
            if type(record) is PrefixRecord:
                return self._prefix.format(record.prefix) + self._end
            if type(record) is VersionRecord:
                return self._version_line(record) + self._end
        return (
            self._object.format(
                record.last_modified, self._size(record.size), record.storage_class, record.etag, record.key
            )
            + self._end
        )

    def _version_line(self, record: VersionRecord) -> str:
        """A version: its size, or DEL for a delete marker (no size, class or ETag)."""
        state = "latest" if record.is_latest else "old"
        if record.is_delete_marker:
            return self._version.format(record.last_modified, "DEL", "", "", record.version_id, state, record.key)
        return self._version.format(
            record.last_modified, self._size(record.size), record.storage_class, record.etag, record.version_id,
            state, record.key,
        )


class JsonlWriter(Writer[Record]):
    """One JSON object per line; encode_basestring escapes controls, quotes and backslashes."""

    def line(self, record: Record, quote: Callable[[str], str] = encode_basestring) -> str:
        if type(record) is not ObjectRecord:
            if type(record) is PrefixRecord:
                return f'{{"prefix": {quote(record.prefix)}}}\n'
            if type(record) is VersionRecord:
                return _version_json(record, quote)
        rare = "" if record.details is None else _rare_json(record.details, quote)
        return (
            f'{{"key": {quote(record.key)}, "size": {record.size}, '
            f'"last_modified": {quote(record.last_modified)}, "etag": {quote(record.etag)}, '
            f'"storage_class": {quote(record.storage_class)}, "type": {quote(record.type)}{rare}}}\n'
        )

    def _render(self, records: Iterable[Record]) -> bytes:
        records = list(records)
        try:
            return "".join(map(self.line, records)).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate somewhere: find it record by record
            return b"".join(map(self._encode_one, records))

    def _encode_one(self, record: Record) -> bytes:
        try:
            return self.line(record).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: ASCII escapes keep the JSON valid
            return self.line(record, encode_basestring_ascii).encode("ascii")


def _version_json(record: VersionRecord, quote: Callable[[str], str]) -> str:
    """A version's JSON: the object fields (null for a delete marker, which has no size,
    ETag, class or type), then version_id, is_latest and is_delete_marker."""
    latest = "true" if record.is_latest else "false"
    if record.is_delete_marker:
        head = f'{{"key": {quote(record.key)}, "size": null, "last_modified": {quote(record.last_modified)}, ' \
               '"etag": null, "storage_class": null, "type": null'
    else:
        head = (
            f'{{"key": {quote(record.key)}, "size": {record.size}, '
            f'"last_modified": {quote(record.last_modified)}, "etag": {quote(record.etag)}, '
            f'"storage_class": {quote(record.storage_class)}, "type": {quote(record.type)}'
        )
    marker = "true" if record.is_delete_marker else "false"
    rare = "" if record.details is None else _rare_json(record.details, quote)
    return (f'{head}, "version_id": {quote(record.version_id)}, "is_latest": {latest}, '
            f'"is_delete_marker": {marker}{rare}}}\n')


def _rare_json(details: Details, quote: Callable[[str], str]) -> str:
    """``, "restore": {...}, "transition_time": ..., "owner": ...``: the fields present."""
    parts = []
    restore = details.restore
    if restore is not None:
        expiry = "" if restore.expiry is None else f', "expiry": {quote(restore.expiry)}'
        parts.append(f', "restore": {{"ongoing": {"true" if restore.ongoing else "false"}{expiry}}}')
    if details.transition_time is not None:
        parts.append(f', "transition_time": {quote(details.transition_time)}')
    if details.owner is not None:
        parts.append(f', "owner": {quote(details.owner)}')
    return "".join(parts)


def _rare_cells(record: ObjectRecord, owner: bool) -> list[object]:
    """TransitionTime, RestoreState, RestoreExpiry (and Owner) of a csv row."""
    details = record.details
    if details is None:
        return ["", "", "", ""] if owner else ["", "", ""]
    restore = details.restore
    cells: list[object] = [
        details.transition_time or "",
        "" if restore is None else restore.state,
        (restore.expiry or "") if restore is not None else "",
    ]
    return cells + [details.owner or ""] if owner else cells


class CsvWriter(Writer[Record]):
    """OSS-inventory-like CSV through the csv module, so any key survives a round trip. With
    ``versions`` (--all-versions) the header adds VersionId, IsLatest, IsDeleteMarker after
    Key, as an all-versions OSS inventory does; a delete marker's Size and ETag are empty."""

    def __init__(
        self, stream: Stream, *, bucket: str = "", header: bool = True, versions: bool = False, owner: bool = False
    ) -> None:
        super().__init__(stream)
        self._bucket = bucket
        self._versions = versions
        self._owner = owner
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")  # RFC 4180; also quotes \r
        if header:
            names = CSV_VERSION_HEADER if versions else CSV_HEADER
            self._put(self._rows([names + [CSV_OWNER] if owner else names]))

    def line(self, record: Record) -> str:
        return self._rows([self._row(record)]).decode("utf-8", "surrogateescape")

    def _row(self, record: Record) -> list[object]:
        """The row's inventory columns, then the rare ones."""
        if type(record) is PrefixRecord:
            return self._main_row(record) + ([""] * (len(CSV_RARE) + self._owner))
        return self._main_row(record) + _rare_cells(record, self._owner)

    def _main_row(self, record: Record) -> list[object]:
        if type(record) is not ObjectRecord:
            if type(record) is PrefixRecord:
                if self._versions:
                    return [self._bucket, record.prefix, "", "", "", "", "", "", "", "Prefix"]
                return [self._bucket, record.prefix, "", "", "", "", "Prefix"]
            if type(record) is VersionRecord:
                return self._version_row(record)
        if self._versions:  # a plain record in a version listing: what ListObjects showed
            return [self._bucket, record.key, "", "", "", record.size, record.last_modified, record.etag,
                    record.storage_class, record.type]
        return [
            self._bucket,
            record.key,
            record.size,
            record.last_modified,
            record.etag,
            record.storage_class,
            record.type,
        ]

    def _version_row(self, record: VersionRecord) -> list[object]:
        flags = ["true" if record.is_latest else "false", "true" if record.is_delete_marker else "false"]
        if record.is_delete_marker:
            return [self._bucket, record.key, record.version_id, *flags, "", record.last_modified, "", "", ""]
        return [self._bucket, record.key, record.version_id, *flags, record.size, record.last_modified, record.etag,
                record.storage_class, record.type]

    def _render(self, records: Iterable[Record]) -> bytes:
        return self._rows(map(self._row, records))

    def render(self, records: Iterable[Record]) -> bytes:
        """As ``Writer.render``: the same rows and dialect, through a buffer of its own (the
        writer's shared buffer is not thread-safe)."""
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(map(self._row, records))
        return buffer.getvalue().encode("utf-8", _ERRORS)

    def _rows(self, rows: Iterable[Sequence[object]]) -> bytes:
        self._csv.writerows(rows)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8", _ERRORS)


UPLOAD_CSV_HEADER = ["Bucket", "Key", "UploadId", "Initiated"]
UPLOAD_PARTS_HEADER = ["PartCount", "Size"]


class UploadWriter(Writer["UploadRecord"]):
    """``osslist uploads``: one unfinished upload per record (``uploads.UploadRecord``), in the
    ls formats: text the key; long initiated, size, parts, upload id, key; jsonl ``{"key",
    "upload_id", "initiated"}`` plus ``"part_count"`` and ``"size"`` with --parts; csv
    Bucket, Key, UploadId, Initiated (+ PartCount, Size)."""

    def __init__(self, stream: Stream, fmt: str, *, bucket: str = "", parts: bool = False) -> None:
        super().__init__(stream)
        if fmt not in ("text", "long", "jsonl", "csv"):
            raise ValueError(f"unknown format {fmt!r}")
        self._fmt, self._bucket, self._parts = fmt, bucket, parts
        if fmt == "csv":
            self._put(self._csv_rows([UPLOAD_CSV_HEADER + (UPLOAD_PARTS_HEADER if parts else [])]))

    def line(self, record: UploadRecord) -> str:
        if self._fmt == "text":
            return record.key + "\n"
        if self._fmt == "long":
            size = "-" if record.size is None else str(record.size)
            count = "-" if record.part_count is None else str(record.part_count)
            return f"{record.initiated:<24}  {size:>15}  {count:>5}  {record.upload_id:<32}  {record.key}\n"
        if self._fmt == "jsonl":
            extra = f', "part_count": {record.part_count}, "size": {record.size}' if self._parts else ""
            quote = encode_basestring
            return (f'{{"key": {quote(record.key)}, "upload_id": {quote(record.upload_id)}, '
                    f'"initiated": {quote(record.initiated)}{extra}}}\n')
        row = [self._bucket, record.key, record.upload_id, record.initiated]
        return self._csv_rows([row + ([record.part_count, record.size] if self._parts else [])]).decode("utf-8")

    @staticmethod
    def _csv_rows(rows: Iterable[Sequence[object]]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)
        return buffer.getvalue().encode("utf-8", _ERRORS)


def make_writer(
    fmt: str,
    stream: Stream,
    *,
    null: bool = False,
    human: bool = False,
    bucket: str = "",
    header: bool = True,
    versions: bool = False,
    owner: bool = False,
) -> Writer[Record]:
    """The writer for ``fmt``; ``header=False`` skips the csv header (resuming a file);
    ``versions`` (--all-versions) gives csv and long their version columns, ``owner``
    (--fetch-owner) csv its Owner column."""
    if fmt == "text":
        return TextWriter(stream, null=null)
    if fmt == "long":
        return LongWriter(stream, null=null, human=human, versions=versions)
    if fmt == "jsonl":
        return JsonlWriter(stream)
    if fmt == "csv":
        return CsvWriter(stream, bucket=bucket, header=header, versions=versions, owner=owner)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _byte_sink(stream: Stream) -> tuple[Callable[[bytes], Any], Callable[[], None]]:
    """(write, flush) functions taking bytes, whatever kind of stream was given."""
    if isinstance(stream, io.TextIOBase) or hasattr(stream, "encoding"):
        buffer = getattr(stream, "buffer", None)
        if buffer is None:
            return (lambda data: stream.write(data.decode("utf-8", "surrogateescape"))), stream.flush
        stream.flush()  # anything already written through the text layer goes first

        def flush() -> None:
            buffer.flush()

        return buffer.write, flush
    return stream.write, stream.flush


class OutputFile:
    """Where records go (--output FILE or stdout) as bytes, so that a failed write names its
    destination: a full disk or ``/dev/full`` raises OutputError ("cannot write --output
    /dev/full: No space left on device"), not an anonymous OSError. A closed pipe stays a
    BrokenPipeError: the reader went away, which is not a failure to report."""

    def __init__(self, raw: IO[bytes] | LocalGzip, name: str, *, owned: bool) -> None:
        self._raw = raw
        self.name = name
        self._owned = owned

    def write(self, data: bytes | str) -> int:
        if isinstance(data, str):
            data = data.encode("utf-8", _ERRORS)
        try:
            return self._raw.write(data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise self._error(exc) from exc

    def flush(self) -> None:
        try:
            self._raw.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise self._error(exc) from exc

    def close(self) -> None:
        """Flush; close the file if we opened it (stdout stays open)."""
        if not self._owned:
            self.flush()
            return
        try:
            self.flush()
        except OutputError:
            try:
                self._raw.close()  # tries the same flush again, and fails the same way
            except OSError:
                pass
            raise
        try:
            self._raw.close()
        except OSError as exc:
            raise self._error(exc) from exc

    def _error(self, exc: OSError) -> OutputError:
        return OutputError(f"cannot write {self.name}: {exc.strerror or type(exc).__name__}")


def gzips(path: str, compress: str = "auto") -> bool:
    """Whether a local output is written gzipped: ``--compress gzip``, or ``auto`` and a name
    ending in ``.gz`` (as for an oss:// key), so ``zcat FILE.gz`` reads what osslist wrote."""
    return compress == "gzip" or (compress == "auto" and path.endswith(".gz"))


class LocalGzip(gzip.GzipFile):
    """A local file written as gzip (level 1, as oss:// reports, no name or time in the header);
    closing it closes the file too (a GzipFile leaves a given file open)."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0)
        self._file = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._file.close()
