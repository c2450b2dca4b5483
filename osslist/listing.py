"""Pagination over one half-open key range: (start_after, end_before).

The client owns the retries of one request (the same page is asked again, so nothing is
skipped or duplicated); this module owns the walk from page to page and refuses to guess:
a truncated page without a way forward, or a marker that does not move, is a ListingError,
never an endless loop and never a silent early stop.

Order: OSS returns keys in UTF-8 byte order. The comparisons here (``end_before``, the
advancing marker) use Python ``str`` order, which is code-point order and equals UTF-8 byte
order for every string without lone surrogates. Parsed keys never hold one (pages.py decodes
bad escapes to U+FFFD) and ListingSpec refuses strings that cannot be encoded as UTF-8, so
the two orders agree on everything compared here.

Position (where to continue) is a plain value: ``marker`` is the name of the last record
yielded, or for v1 the marker to send next (NextMarker, or the last record if NextMarker lags
behind it), or ``start_after`` before the first page; ``token``
is the v2 continuation token; ``done`` says the range is finished. ``dataclasses.asdict`` and
``Position.from_dict`` round-trip it through JSON, and ``iter_pages(..., position=p)``
continues exactly after the page that produced ``p``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterator, Protocol

from osslist.errors import ListingError, UsageError
from osslist.pages import Page, Record, parse_page, record_name

__all__ = ["Bound", "ListingSpec", "PageSource", "Position", "cut_at", "iter_pages", "iter_records", "request_params"]

MAX_KEYS_LIMIT = 1000


Bound = Callable[[str], "str | None"]
"""``bound(last key of a page) -> the end to cut that page at``: a range whose end moves while
it is listed (the parallel lister's slots); without one, ``spec.end_before``."""


class PageSource(Protocol):
    """What the listing needs from a bucket client: one raw ListBucketResult per call."""

    def get_listing_page(self, params: dict[str, str]) -> bytes: ...


@dataclass(frozen=True)
class ListingSpec:
    """What to list: a prefix, an optional delimiter, and the range (start_after, end_before)."""

    prefix: str = ""
    delimiter: str = ""
    start_after: str = ""
    end_before: str | None = None
    list_api: str = "v1"
    max_keys: int = MAX_KEYS_LIMIT
    fetch_owner: bool = False
    """--fetch-owner: keep each object's owner ID (v2 asks for it with fetch-owner=true; v1 and
    ListObjectVersions always send it, and it is dropped unless asked for)."""

    def __post_init__(self) -> None:
        if self.list_api not in ("v1", "v2"):
            raise UsageError(f"list API must be v1 or v2, not {self.list_api!r}")
        if isinstance(self.max_keys, bool) or not 1 <= self.max_keys <= MAX_KEYS_LIMIT:
            raise UsageError(f"max-keys must be between 1 and {MAX_KEYS_LIMIT}, not {self.max_keys!r}")
        for name in ("prefix", "delimiter", "start_after", "end_before"):
            _require_utf8(name, getattr(self, name))


@dataclass(frozen=True)
class Position:
    """Where a listing continues; JSON-serialisable with ``dataclasses.asdict``."""

    marker: str = ""
    token: str | None = None
    done: bool = False
    whole_keys: ClassVar[bool] = True
    """A page ending on a key means that key is finished (keys are unique in ListObjects;
    not so for versions, see ``versions.VersionPosition``)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Position:
        """Rebuild a Position from its ``asdict`` form (a checkpoint), checking the types."""
        marker, token, done = data.get("marker", ""), data.get("token"), data.get("done", False)
        if not isinstance(marker, str) or not isinstance(done, bool):
            raise UsageError("checkpoint position is malformed")
        if token is not None and not isinstance(token, str):
            raise UsageError("checkpoint position is malformed")
        return cls(marker=marker, token=token, done=done)


def request_params(spec: ListingSpec, position: Position) -> dict[str, str]:
    """The query of the next ListObjects / ListObjectsV2 request (empty fields left out)."""
    params = {"encoding-type": "url", "max-keys": str(spec.max_keys)}
    if spec.prefix:
        params["prefix"] = spec.prefix
    if spec.delimiter:
        params["delimiter"] = spec.delimiter
    if spec.list_api == "v1":
        if position.marker:
            params["marker"] = position.marker
        return params
    params["list-type"] = "2"
    if spec.fetch_owner:
        params["fetch-owner"] = "true"
    if position.token is not None:
        params["continuation-token"] = position.token
    elif position.marker:
        params["start-after"] = position.marker
    return params


def iter_pages(
    client: PageSource, spec: ListingSpec, *, position: Position | None = None, bound: Bound | None = None
) -> Iterator[tuple[Page, Position]]:
    """Yield each page (records cut at ``end_before``, or at what ``bound`` says for the
    page: the one place a range's end is cut) with the Position after it.

    Raises ListingError on a truncated page without a next marker/token, or one that does
    not advance.
    """
    current = position if position is not None else Position(marker=spec.start_after)
    if spec.end_before is not None and current.marker >= spec.end_before:
        return
    while not current.done:
        body = client.get_listing_page(request_params(spec, current))
        page = parse_page(body, api=spec.list_api, owner=spec.fetch_owner)
        page, current = _advance(spec, current, page, bound)
        yield page, current


def iter_records(
    client: PageSource, spec: ListingSpec, *, position: Position | None = None
) -> Iterator[Record]:
    """Every record of the range, in key order."""
    for page, _ in iter_pages(client, spec, position=position):
        yield from page.records


def _advance(spec: ListingSpec, before: Position, page: Page, bound: Bound | None = None) -> tuple[Page, Position]:
    """Check the page against the protocol, cut it at its end, and say where to go next."""
    records = _drop_repeats(page.records, before.marker)
    end = spec.end_before if bound is None or not records else bound(record_name(records[-1]))
    cut = cut_at(records, end)
    last = record_name(cut[-1]) if cut else before.marker
    if len(cut) < len(records) or not page.is_truncated:
        return _with(page, cut), Position(marker=last, token=None, done=True)
    if spec.list_api == "v1":
        following = max(_next_marker(page, before), last)  # never ask again for what was yielded
        done = spec.end_before is not None and following >= spec.end_before
        return _with(page, cut), Position(marker=following, token=None, done=done)
    return _with(page, cut), Position(marker=last, token=_next_token(page, before), done=False)


def _next_marker(page: Page, before: Position) -> str:
    if not page.next_marker:
        raise ListingError("OSS sent a truncated page without a NextMarker; stopping rather than guessing")
    if page.next_marker <= before.marker:
        raise ListingError("OSS sent a NextMarker that does not advance; stopping rather than looping")
    return page.next_marker


def _next_token(page: Page, before: Position) -> str:
    if not page.next_token:
        raise ListingError(
            "OSS sent a truncated page without a NextContinuationToken; stopping rather than guessing"
        )
    if page.next_token == before.token:
        raise ListingError("OSS sent a continuation token that does not advance; stopping rather than looping")
    return page.next_token


def _drop_repeats(records: list[Record], marker: str) -> list[Record]:
    """Drop leading records not strictly after the marker (already yielded, or before the range).

    OSS promises entries strictly after the marker; a common prefix that was the previous
    NextMarker is the one case a server could repeat, and it must not be written twice.
    """
    if not marker:
        return records
    skip = 0
    while skip < len(records) and record_name(records[skip]) <= marker:
        skip += 1
    return records[skip:] if skip else records


def cut_at(records: list[Record], end_before: str | None) -> list[Record]:
    """Records strictly before ``end_before`` (the page is in key order)."""
    if end_before is None or not records or record_name(records[-1]) < end_before:
        return records
    keep = 0
    while keep < len(records) and record_name(records[keep]) < end_before:
        keep += 1
    return records[:keep]


def _with(page: Page, records: list[Record]) -> Page:
    if records is page.records:
        return page
    return Page(records=records, is_truncated=page.is_truncated, next_marker=page.next_marker,
                next_token=page.next_token)


def _require_utf8(name: str, value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise UsageError(f"{name} must be text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UsageError(f"{name} is not valid UTF-8 (OSS keys are UTF-8)") from exc
