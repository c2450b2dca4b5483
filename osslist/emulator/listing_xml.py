"""The ListBucketResult bodies of ListObjects (v1) and ListObjectsV2, in OSS's shapes.

Built by string joins (no ElementTree) because a 1000-key page must cost a few ms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from osslist.emulator.state import ListingResult, ObjectInfo
from osslist.emulator.xmltext import escape, field

OWNER_ID = "1234567890123456"
_OWNER = f"<Owner><ID>{OWNER_ID}</ID><DisplayName>{OWNER_ID}</DisplayName></Owner>"


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


def last_modified(epoch: int) -> str:
    """OSS's LastModified: ISO 8601 UTC with milliseconds (the date part cached per day,
    since strftime per object would dominate a page)."""
    days, rem = divmod(epoch, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    return f"{_day(days)}T{hours:02d}:{minutes:02d}:{seconds:02d}.000Z"


def _contents(obj: ObjectInfo, url: bool, owner: bool) -> str:
    return (
        f"<Contents><Key>{field(obj.key, url)}</Key>"
        f"<LastModified>{last_modified(obj.last_modified)}</LastModified>"
        f'<ETag>"{escape(obj.etag)}"</ETag><Type>{obj.object_type}</Type><Size>{obj.size}</Size>'
        f"<StorageClass>{obj.storage_class}</StorageClass>{_OWNER if owner else ''}</Contents>"
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
        head.append(f"<KeyCount>{len(page.objects) + len(page.prefixes)}</KeyCount>")
    owner = q.fetch_owner or not q.v2
    head.extend(_contents(obj, url, owner) for obj in page.objects)
    head.extend(f"<CommonPrefixes><Prefix>{field(p, url)}</Prefix></CommonPrefixes>" for p in page.prefixes)
    head.append("</ListBucketResult>\n")
    return "".join(head).encode("utf-8")
