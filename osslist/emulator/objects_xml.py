"""The XML of the multipart operations, in OSS's shapes: the bodies OSS answers with, and the
one body it reads (CompleteMultipartUpload's part list)."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from osslist.emulator.listing_xml import last_modified
from osslist.emulator.uploads import PartsPage, Upload, UploadsPage
from osslist.emulator.xmltext import escape, field

_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


class BadPartList(ValueError):
    """The CompleteMultipartUpload body is not a part list."""


def _encoding(url: bool) -> str:
    return "<EncodingType>url</EncodingType>" if url else ""


def initiate_result(bucket: str, upload: Upload, url: bool) -> bytes:
    return (
        f"{_HEAD}<InitiateMultipartUploadResult>{_encoding(url)}<Bucket>{escape(bucket)}</Bucket>"
        f"<Key>{field(upload.key, url)}</Key><UploadId>{upload.upload_id}</UploadId>"
        "</InitiateMultipartUploadResult>\n"
    ).encode()


def complete_result(location: str, bucket: str, key: str, etag: str, url: bool) -> bytes:
    return (
        f"{_HEAD}<CompleteMultipartUploadResult>{_encoding(url)}<Location>{escape(location)}</Location>"
        f"<Bucket>{escape(bucket)}</Bucket><Key>{field(key, url)}</Key><ETag>&quot;{etag}&quot;</ETag>"
        "</CompleteMultipartUploadResult>\n"
    ).encode()


def list_parts_result(bucket: str, upload: Upload, marker: int, max_parts: int, page: PartsPage, url: bool) -> bytes:
    parts = "".join(
        f"<Part><PartNumber>{p.number}</PartNumber><LastModified>{last_modified(p.last_modified)}</LastModified>"
        f"<ETag>&quot;{p.etag}&quot;</ETag><Size>{len(p.data)}</Size></Part>"
        for p in page.parts
    )
    return (
        f"{_HEAD}<ListPartsResult>{_encoding(url)}<Bucket>{escape(bucket)}</Bucket><Key>{field(upload.key, url)}</Key>"
        f"<UploadId>{upload.upload_id}</UploadId><PartNumberMarker>{marker}</PartNumberMarker>"
        f"<NextPartNumberMarker>{page.next_marker}</NextPartNumberMarker><MaxParts>{max_parts}</MaxParts>"
        f"<IsTruncated>{str(page.is_truncated).lower()}</IsTruncated>{parts}</ListPartsResult>\n"
    ).encode()


def list_uploads_result(bucket: str, query: dict[str, str], max_uploads: int, page: UploadsPage, url: bool) -> bytes:
    """``query``: the request's prefix, delimiter, key-marker and upload-id-marker."""
    uploads = "".join(
        f"<Upload><Key>{field(u.key, url)}</Key><UploadId>{u.upload_id}</UploadId>"
        f"<Initiated>{last_modified(u.initiated)}</Initiated></Upload>"
        for u in page.uploads
    )
    prefixes = "".join(f"<CommonPrefixes><Prefix>{field(p, url)}</Prefix></CommonPrefixes>" for p in page.prefixes)
    return (
        f"{_HEAD}<ListMultipartUploadsResult>{_encoding(url)}<Bucket>{escape(bucket)}</Bucket>"
        f"<KeyMarker>{field(query['key-marker'], url)}</KeyMarker>"
        f"<UploadIdMarker>{escape(query['upload-id-marker'])}</UploadIdMarker>"
        f"<NextKeyMarker>{field(page.next_key_marker, url)}</NextKeyMarker>"
        f"<NextUploadIdMarker>{page.next_upload_id_marker}</NextUploadIdMarker>"
        f"<Delimiter>{field(query['delimiter'], url)}</Delimiter><Prefix>{field(query['prefix'], url)}</Prefix>"
        f"<MaxUploads>{max_uploads}</MaxUploads><IsTruncated>{str(page.is_truncated).lower()}</IsTruncated>"
        f"{uploads}{prefixes}</ListMultipartUploadsResult>\n"
    ).encode()


def parse_part_list(body: bytes) -> list[tuple[int, str]]:
    """(part number, ETag) of each ``<Part>`` of a CompleteMultipartUpload body, in body order."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise BadPartList("not XML") from exc
    if root.tag != "CompleteMultipartUpload":
        raise BadPartList(root.tag)
    parts = []
    for node in root.findall("Part"):
        number, etag = node.findtext("PartNumber"), node.findtext("ETag")
        if number is None or etag is None or not number.strip().isdigit():
            raise BadPartList("a Part needs PartNumber and ETag")
        parts.append((int(number), etag.strip()))
    return parts
