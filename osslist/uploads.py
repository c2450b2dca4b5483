"""Unfinished multipart uploads: ListMultipartUploads paging (``key-marker`` +
``upload-id-marker``) and, on demand, their parts (ListParts). Their parts are billed and
ListObjects never shows them, which is why ``osslist uploads`` and ``du --include-uploads`` ask.

Pages are small (at most 1000 uploads) and rare next to object listings, so they are parsed
with ElementTree; values are url-decoded as oss2 decodes them.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, replace
from typing import Callable, Iterator, Sequence
from urllib.parse import unquote

from osslist.errors import ListingError
from osslist.listing import PageSource
from osslist.pages import ObjectRecord
from osslist.ranges import KeyRange
from osslist.versions import marker_query

__all__ = [
    "UploadPosition", "UploadRecord", "UploadTotals", "iter_upload_pages", "iter_uploads", "totals_of", "upload_params",
    "upload_sizes", "with_parts",
]


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """One unfinished upload; ``part_count`` and ``size`` (bytes of its parts) with --parts."""

    key: str
    upload_id: str
    initiated: str
    part_count: int | None = None
    size: int | None = None

    def initiated_epoch(self) -> float:
        """Seconds since the epoch of ``initiated`` (ISO 8601 UTC, read as LastModified is)."""
        return ObjectRecord(self.key, 0, self.initiated, "", "", "").mtime_epoch()


@dataclass(frozen=True)
class UploadPosition:
    """Where the upload listing continues: the two markers, and whether it is finished."""

    key_marker: str = ""
    upload_id_marker: str = ""
    done: bool = False


def upload_params(prefix: str, position: UploadPosition, max_uploads: int) -> dict[str, str]:
    """The query of the next ListMultipartUploads request."""
    base = {"uploads": "", "encoding-type": "url", "max-uploads": str(max_uploads)}
    return marker_query(base, prefix, "", position.key_marker, "upload-id-marker", position.upload_id_marker)


def iter_upload_pages(
    client: PageSource, *, prefix: str = "", max_uploads: int = 1000, position: UploadPosition | None = None
) -> Iterator[tuple[list[UploadRecord], UploadPosition]]:
    """Every page of unfinished uploads under ``prefix``, keys ascending, each key's uploads
    in initiation order; ListingError when a truncated page does not say where to go on."""
    current = position or UploadPosition()
    while not current.done:
        records, after = parse_uploads(client.get_listing_page(upload_params(prefix, current, max_uploads)))
        if after is not None and (after.key_marker, after.upload_id_marker) <= (
            current.key_marker, current.upload_id_marker
        ) and after.key_marker <= current.key_marker:
            raise ListingError("OSS sent upload markers that do not advance; stopping rather than looping")
        current = after if after is not None else UploadPosition(done=True)
        yield records, current


def parse_uploads(body: bytes) -> tuple[list[UploadRecord], UploadPosition | None]:
    """The uploads of one ListMultipartUploadsResult and the position after it (None: last page)."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise ListingError(f"malformed upload listing: {exc}") from exc
    if root.tag != "ListMultipartUploadsResult":
        raise ListingError(f"upload listing is a <{root.tag[:40]}>, not a <ListMultipartUploadsResult>")
    decode: Callable[[str], str] = unquote if root.findtext("EncodingType") == "url" else str
    records = [
        UploadRecord(decode(u.findtext("Key") or ""), u.findtext("UploadId") or "", u.findtext("Initiated") or "")
        for u in root.findall("Upload")
    ]
    if root.findtext("IsTruncated") != "true":
        return records, None
    key_marker = decode(root.findtext("NextKeyMarker") or "")
    if not key_marker:
        raise ListingError("OSS sent a truncated upload page without a NextKeyMarker; stopping rather than guessing")
    return records, UploadPosition(key_marker, root.findtext("NextUploadIdMarker") or "")


def with_parts(record: UploadRecord, parts: list[tuple[int, str, int]]) -> UploadRecord:
    """The record with its part count and the bytes of its parts."""
    return replace(record, part_count=len(parts), size=sum(size for _, _, size in parts))


@dataclass
class UploadTotals:
    """Counts of an upload listing for the summary: uploads, their parts and bytes (with --parts)."""

    uploads: int = 0
    parts: int = 0
    bytes: int = 0
    requests: int = 0
    elapsed: float = 0.0

    def merge(self, other: UploadTotals) -> UploadTotals:
        self.uploads += other.uploads
        self.parts += other.parts
        self.bytes += other.bytes
        return self

    def to_dict(self) -> dict[str, int | float]:
        return {"uploads": self.uploads, "parts": self.parts, "bytes": self.bytes, "requests": self.requests,
                "elapsed_seconds": round(self.elapsed, 3)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def to_text(self) -> str:
        noun = "unfinished upload" if self.uploads == 1 else "unfinished uploads"
        return (f"{self.uploads:,} {noun}, {self.parts:,} parts, {self.bytes:,} bytes; "
                f"{self.requests:,} requests in {self.elapsed:.1f} s")


def totals_of(records: list[UploadRecord]) -> UploadTotals:
    return UploadTotals(len(records), sum(r.part_count or 0 for r in records), sum(r.size or 0 for r in records))


def iter_uploads(
    client: PageSource, parts_of: Callable[[str, str], list[tuple[int, str, int]]] | None, *, prefix: str = "",
    max_uploads: int = 1000,
) -> Iterator[list[UploadRecord]]:
    """Every page of uploads, each upload with its parts when ``parts_of`` (ListParts) is given."""
    for records, _ in iter_upload_pages(client, prefix=prefix, max_uploads=max_uploads):
        if parts_of is not None:
            records = [with_parts(r, parts_of(r.key, r.upload_id)) for r in records]
        yield records


def upload_sizes(
    client: PageSource, parts_of: Callable[[str, str], list[tuple[int, str, int]]], *, prefix: str,
    ranges: Sequence[KeyRange],
) -> Iterator[tuple[str, int]]:
    """(key, bytes of its parts) of every unfinished upload whose key lies in ``ranges`` (a
    shard's: so shards together count each upload once)."""
    for records in iter_uploads(client, parts_of, prefix=prefix):
        for record in records:
            if any(r.contains(record.key) for r in ranges):
                yield record.key, record.size or 0
