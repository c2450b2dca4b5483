"""The ListBucketResult bodies of ListObjects (v1) and ListObjectsV2, in OSS's shapes.

Built by string joins (no ElementTree) because a 1000-key page must cost a few ms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import formatdate
from functools import lru_cache
from itertools import repeat
from typing import Callable, Iterable

from osslist.emulator.state import Columns, ListingResult
from osslist.emulator.versions import Archive
from osslist.emulator.xmltext import escape, escape_all, field, url_encode_all

OWNER_ID = "1234567890123456"
OWNER = f"<Owner><ID>{OWNER_ID}</ID><DisplayName>{OWNER_ID}</DisplayName></Owner>"


@dataclass(frozen=True)
class ListingParams:
    """A validated listing query. ``after`` is where the page starts (exclusive)."""

    v2: bool
    prefix: str
    delimiter: str
    marker: str
    start_after: str
    token: str
    after: str
    max_keys: int
    url: bool
    fetch_owner: bool


@lru_cache(maxsize=4096)
def _day(days: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(days * 86400))


@lru_cache(maxsize=1)
def _clock_times() -> list[str]:
    """"HH:MM:SS" for every second of a day (5 MB, built on first use in ~30 ms): a table
    lookup per object instead of three divmods and a format."""
    return [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]


def last_modified(epoch: int) -> str:
    """OSS's LastModified: ISO 8601 UTC with milliseconds (the date part cached per day,
    since strftime per object would dominate a page)."""
    return stamps([epoch])[0]


def stamps(epochs: list[int]) -> list[str]:
    """``last_modified`` of each epoch."""
    day, clock = _day, _clock_times()
    return [f"{day(t // 86400)}T{clock[t % 86400]}.000Z" for t in epochs]


def archive_fields(archive: Archive | None) -> str:
    """RestoreInfo (``ongoing-request="true"``, or ``ongoing-request="false",
    expiry-date="<HTTP date>"``) and TransitionTime (ISO 8601), each only when set."""
    if archive is None:
        return ""
    parts = []
    if archive.restore_ongoing is True:
        parts.append('<RestoreInfo>ongoing-request="true"</RestoreInfo>')
    elif archive.restore_ongoing is False:
        expiry = formatdate(archive.restore_expiry or 0, usegmt=True)
        parts.append(f'<RestoreInfo>ongoing-request="false", expiry-date="{expiry}"</RestoreInfo>')
    if archive.transition_time is not None:
        parts.append(f"<TransitionTime>{last_modified(archive.transition_time)}</TransitionTime>")
    return "".join(parts)


def _contents(columns: Columns, url: bool, owner: bool, archive: dict[str, Archive]) -> str:
    """Every <Contents> of a page in one join over the columns (no call per object)."""
    keys = url_encode_all(columns.keys) if url else list(map(escape, columns.keys))
    etags = escape_all(columns.etags)
    tail = f"{OWNER}</Contents>" if owner else "</Contents>"
    tails: Iterable[str] = repeat(tail)
    if archive:  # archive-class objects with RestoreInfo / TransitionTime (rare): a tail per row
        own = OWNER if owner else ""
        tails = [f"{own}{archive_fields(archive.get(k))}</Contents>" for k in columns.keys]
    return "".join(
        [
            f"<Contents><Key>{k}</Key><LastModified>{m}</LastModified>"
            f'<ETag>"{e}"</ETag><Type>{t}</Type><Size>{s}</Size><StorageClass>{c}</StorageClass>{tl}'
            for k, m, e, t, s, c, tl in zip(
                keys, stamps(columns.mtimes), etags, columns.object_types, columns.sizes, columns.storage_classes,
                tails,
            )
        ]
    )


def render_listing(
    bucket: str, q: ListingParams, page: ListingResult, encode_token: Callable[[str], str]
) -> bytes:
    """The XML body for one page of ``bucket``."""
    url = q.url
    head = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>{escape(bucket)}</Name>']
    head.append(f"<Prefix>{field(q.prefix, url)}</Prefix>")
    if q.v2:
        if q.start_after:
            head.append(f"<StartAfter>{field(q.start_after, url)}</StartAfter>")
        if q.token:
            head.append(f"<ContinuationToken>{q.token}</ContinuationToken>")
    else:
        head.append(f"<Marker>{field(q.marker, url)}</Marker>")
    head.append(f"<MaxKeys>{q.max_keys}</MaxKeys><Delimiter>{field(q.delimiter, url)}</Delimiter>")
    if url:
        head.append("<EncodingType>url</EncodingType>")
    head.append(f"<IsTruncated>{'true' if page.is_truncated else 'false'}</IsTruncated>")
    if page.is_truncated and page.next_marker is not None:
        if q.v2:
            head.append(f"<NextContinuationToken>{encode_token(page.next_marker)}</NextContinuationToken>")
        else:
            head.append(f"<NextMarker>{field(page.next_marker, url)}</NextMarker>")
    if q.v2:
        head.append(f"<KeyCount>{len(page.columns.keys) + len(page.prefixes)}</KeyCount>")
    owner = q.fetch_owner or not q.v2
    head.append(_contents(page.columns, url, owner, page.archive))
    head.extend(f"<CommonPrefixes><Prefix>{field(p, url)}</Prefix></CommonPrefixes>" for p in page.prefixes)
    head.append("</ListBucketResult>\n")
    return "".join(head).encode("utf-8")
