"""Pagination of ListObjectVersions over one half-open key range: the version source's
counterpart of ``listing.iter_pages``, yielding the same ``(Page, Position)`` pairs so the run
loop, the parallel lister and checkpoints treat it like any other listing.

Paging is exact: the request after a page sends ``key-marker`` = NextKeyMarker and
``version-id-marker`` = NextVersionIdMarker, which OSS continues after that very version, so a
key whose versions span many pages is listed once per version. A ``VersionPosition`` carries
the pair (``marker``, ``token``) and says ``whole_keys = False``: a page ending on a key does
not mean that key is finished, so nothing may stop a range early on the strength of its last
key (``parallel`` asks). Ranges are cut between keys only (``start_after`` < key <
``end_before``): every version of a key falls in the same range, shard and checkpoint piece.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar, Iterator

from osslist.errors import ListingError, UsageError
from osslist.listing import Bound, ListingSpec, PageSource, Position, cut_at
from osslist.pages import Page, PrefixRecord, Record, VersionRecord, record_name
from osslist.versionpages import VersionPage, parse_version_page

__all__ = ["VersionPosition", "iter_version_pages", "marker_query", "version_params"]


@dataclass(frozen=True)
class VersionPosition(Position):
    """Where a version listing continues: ``marker`` is the key-marker, ``token`` the
    version-id-marker (None before the first page, or after a common prefix)."""

    settled: bool = False
    """--as-of: the version the key at ``marker`` had at that time was already found (so its
    older versions on the next pages are skipped)."""
    whole_keys: ClassVar[bool] = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VersionPosition:
        """Rebuild from a checkpoint's ``asdict`` form."""
        plain = Position.from_dict(data)
        settled = data.get("settled", False)
        if not isinstance(settled, bool):
            raise UsageError("checkpoint position is malformed")
        return cls(marker=plain.marker, token=plain.token, done=plain.done, settled=settled)


def version_params(spec: ListingSpec, position: Position) -> dict[str, str]:
    """The query of the next ListObjectVersions request (empty fields left out)."""
    base = {"versions": "", "encoding-type": "url", "max-keys": str(spec.max_keys)}
    return marker_query(base, spec.prefix, spec.delimiter, position.marker, "version-id-marker", position.token)


def marker_query(
    base: dict[str, str], prefix: str, delimiter: str, key_marker: str, id_name: str, id_marker: str | None
) -> dict[str, str]:
    """``base`` plus prefix, delimiter, key-marker and the id marker that only counts with it
    (ListObjectVersions' version-id-marker, ListMultipartUploads' upload-id-marker)."""
    params = dict(base)
    for name, value in (("prefix", prefix), ("delimiter", delimiter), ("key-marker", key_marker)):
        if value:
            params[name] = value
    if key_marker and id_marker:
        params[id_name] = id_marker
    return params


def iter_version_pages(
    client: PageSource, spec: ListingSpec, *, position: Position | None = None, bound: Bound | None = None,
    as_of: float | None = None,
) -> Iterator[tuple[Page, VersionPosition]]:
    """Yield each page of versions (cut at ``end_before``, or where ``bound`` says, as in
    ``listing.iter_pages``) with the position after it. With ``as_of`` (epoch seconds) each
    key yields only the version it had then: its newest version dated at or before ``as_of``,
    and nothing when that is a delete marker (or when the key did not exist yet).

    Raises ListingError on a truncated page without a NextKeyMarker, or markers that do not
    move."""
    current = _start(spec, position)
    if spec.end_before is not None and current.marker >= spec.end_before:
        return
    while not current.done:
        raw = parse_version_page(client.get_listing_page(version_params(spec, current)), owner=spec.fetch_owner)
        page, after = _advance(spec, current, raw, bound)
        if as_of is not None:
            page, after = _at_time(page, current, after, as_of)
        current = after
        yield page, current


def _start(spec: ListingSpec, position: Position | None) -> VersionPosition:
    if position is None:
        return VersionPosition(marker=spec.start_after)
    if isinstance(position, VersionPosition):
        return position
    return VersionPosition(position.marker, position.token, position.done)


def _at_time(
    page: Page, before: VersionPosition, after: VersionPosition, as_of: float
) -> tuple[Page, VersionPosition]:
    """The page reduced to each key's version at ``as_of`` (versions come newest first, so it
    is the first one dated at or before it), and whether the key the next page continues
    was settled here."""
    settled = before.marker if before.settled and before.token else None
    kept: list[Record] = []
    for record in page.records:
        if type(record) is PrefixRecord:
            kept.append(record)
        elif record.key != settled and record.mtime_epoch() <= as_of:
            settled = record.key
            if not (isinstance(record, VersionRecord) and record.is_delete_marker):
                kept.append(record)
    reduced = Page(records=kept, is_truncated=page.is_truncated, next_marker=page.next_marker, next_token=None)
    return reduced, replace(after, settled=settled == after.marker)


def _advance(
    spec: ListingSpec, before: VersionPosition, raw: VersionPage, bound: Bound | None
) -> tuple[Page, VersionPosition]:
    records = _after(raw.records, before.marker)
    end = spec.end_before if bound is None or not records else bound(record_name(records[-1]))
    cut = cut_at(records, end)
    page = Page(records=cut, is_truncated=raw.is_truncated, next_marker=raw.next_key_marker or None, next_token=None)
    last = record_name(cut[-1]) if cut else before.marker
    if len(cut) < len(records) or not raw.is_truncated:
        return page, VersionPosition(marker=last, token=None, done=True)
    following = raw.next_key_marker
    token = raw.next_version_id_marker or None
    if not following:
        raise ListingError("OSS sent a truncated version page without a NextKeyMarker; stopping rather than guessing")
    if following < before.marker or (following == before.marker and token == before.token):
        raise ListingError("OSS sent version markers that do not advance; stopping rather than looping")
    done = spec.end_before is not None and following >= spec.end_before
    return page, VersionPosition(marker=following, token=token, done=done)


def _after(records: list[Record], marker: str) -> list[Record]:
    """Drop leading records before the key-marker (and a common prefix equal to it): OSS
    continues after the markers, and a repeated common prefix must not be written twice.
    Versions of the marker key itself are the continuation, so they stay."""
    if not marker:
        return records
    skip = 0
    while skip < len(records):
        record = records[skip]
        name = record_name(record)
        if name > marker or (name == marker and type(record) is not PrefixRecord):
            break
        skip += 1
    return records[skip:] if skip else records

