"""The XML of versioning, in OSS's shapes: ListVersionsResult (ListObjectVersions), the
VersioningConfiguration of Get/PutBucketVersioning, and the archive fields (RestoreInfo,
TransitionTime) that ListObjects and ListObjectVersions share.

Element order follows OSS's ListObjectVersions documentation: ``<Version>`` is Key, VersionId,
IsLatest, LastModified, ETag, Type, Size, StorageClass, Owner, then RestoreInfo and
TransitionTime when the object has them; ``<DeleteMarker>`` is Key, VersionId, IsLatest,
LastModified, Owner. Versions and delete markers come in listing order (keys ascending, each
key's versions newest first), common prefixes after them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from osslist.emulator.listing_xml import OWNER, archive_fields, stamps
from osslist.emulator.versions import VersionEntry, VersionsPage
from osslist.emulator.xmltext import escape, escape_all, field, url_encode_all

_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


class BadVersioningConfiguration(ValueError):
    """A PutBucketVersioning body that is not a VersioningConfiguration with a valid Status."""


def _entries(entries: list[VersionEntry], url: bool) -> str:
    """Every <Version> and <DeleteMarker> of a page, keys, times and ETags encoded in one pass
    each (as the plain listing's ``_contents``): a call per field per entry dominated a page."""
    keys = url_encode_all([e.key for e in entries]) if url else [escape(e.key) for e in entries]
    times = stamps([e.version.last_modified for e in entries])
    etags = escape_all([e.version.etag for e in entries])
    out = []
    for (_, v, latest), key, stamp, etag in zip(entries, keys, times, etags):
        head = (f"<Key>{key}</Key><VersionId>{v.version_id}</VersionId>"
                f"<IsLatest>{'true' if latest else 'false'}</IsLatest><LastModified>{stamp}</LastModified>")
        if v.delete_marker:
            out.append(f"<DeleteMarker>{head}{OWNER}</DeleteMarker>")
        else:
            out.append(f'<Version>{head}<ETag>"{etag}"</ETag><Type>{v.object_type}</Type><Size>{v.size}</Size>'
                       f"<StorageClass>{v.storage_class}</StorageClass>{OWNER}{archive_fields(v.archive)}</Version>")
    return "".join(out)


def list_versions_result(bucket: str, query: dict[str, str], max_keys: int, page: VersionsPage, url: bool) -> bytes:
    """``query``: the request's prefix, delimiter, key-marker and version-id-marker."""
    out = [
        f"{_HEAD}<ListVersionsResult><Name>{escape(bucket)}</Name><Prefix>{field(query['prefix'], url)}</Prefix>",
        f"<KeyMarker>{field(query['key-marker'], url)}</KeyMarker>",
        f"<VersionIdMarker>{escape(query['version-id-marker'])}</VersionIdMarker>",
        f"<MaxKeys>{max_keys}</MaxKeys><Delimiter>{field(query['delimiter'], url)}</Delimiter>",
        "<EncodingType>url</EncodingType>" if url else "",
        f"<IsTruncated>{'true' if page.is_truncated else 'false'}</IsTruncated>",
    ]
    if page.is_truncated:
        out.append(f"<NextKeyMarker>{field(page.next_key_marker, url)}</NextKeyMarker>")
        out.append(f"<NextVersionIdMarker>{page.next_version_id_marker}</NextVersionIdMarker>")
    out.append(_entries(page.entries, url))
    out.extend(f"<CommonPrefixes><Prefix>{field(p, url)}</Prefix></CommonPrefixes>" for p in page.prefixes)
    out.append("</ListVersionsResult>\n")
    return "".join(out).encode("utf-8")


def versioning_result(status: str | None) -> bytes:
    """GetBucketVersioning: no Status until versioning was first enabled."""
    inner = f"<Status>{status}</Status>" if status else ""
    return f"{_HEAD}<VersioningConfiguration>{inner}</VersioningConfiguration>\n".encode()


def parse_versioning(body: bytes) -> str:
    """The Status of a PutBucketVersioning body: Enabled or Suspended."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise BadVersioningConfiguration("not XML") from exc
    status = root.findtext("Status") if root.tag == "VersioningConfiguration" else None
    if status not in ("Enabled", "Suspended"):
        raise BadVersioningConfiguration(str(status))
    return status
