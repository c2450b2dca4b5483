"""Multipart uploads, the model: initiate, parts, complete, abort, and the two listings. No HTTP.

OSS's rules live here: part numbers 1..10000; a part re-uploaded under the same number
replaces the old one; CompleteMultipartUpload names parts in ascending order, each with the
ETag its upload returned, every part but the last at least 100 KiB; the object's ETag is the
MD5 of the parts' binary MD5s followed by ``-<number of parts>`` (OSS documents only its shape,
``"B864DB6A936D376F9F8D3ED3BBE540DD-3"``; the rule is S3's, which it matches). Errors are
model exceptions; the handlers turn them into OSS's wire errors.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
from dataclasses import dataclass, field
from typing import NamedTuple

MIN_PART_SIZE = 100 * 1024
MAX_PART_NUMBER = 10_000


class UploadError(Exception):
    """A refused multipart operation; ``kind`` names the OSS error it becomes."""

    kind = "UploadError"


class NoSuchUpload(UploadError):
    kind = "NoSuchUpload"


class InvalidPart(UploadError):
    kind = "InvalidPart"


class InvalidPartOrder(UploadError):
    kind = "InvalidPartOrder"


class EntityTooSmall(UploadError):
    kind = "EntityTooSmall"


class InvalidPartNumber(UploadError):
    kind = "InvalidPartNumber"


def content_etag(data: bytes) -> str:
    """The ETag OSS gives a Normal object or a part: the upper-case hex MD5 of its bytes."""
    return hashlib.md5(data).hexdigest().upper()


def multipart_etag(part_etags: list[str]) -> str:
    """The ETag of a completed multipart object: MD5 of the parts' binary MD5s, then ``-N``."""
    digest = hashlib.md5(b"".join(bytes.fromhex(e) for e in part_etags)).hexdigest().upper()
    return f"{digest}-{len(part_etags)}"


class Part(NamedTuple):
    number: int
    data: bytes
    etag: str
    last_modified: int


@dataclass
class Upload:
    """One multipart upload in progress. ``seq`` orders uploads of one key by initiation."""

    upload_id: str
    bucket: str
    key: str
    initiated: int
    seq: int
    content_type: str
    storage_class: str = "Standard"
    parts: dict[int, Part] = field(default_factory=dict)


@dataclass(frozen=True)
class PartsPage:
    parts: list[Part]
    is_truncated: bool
    next_marker: int


@dataclass(frozen=True)
class UploadsPage:
    uploads: list[Upload]
    prefixes: list[str]
    is_truncated: bool
    next_key_marker: str
    next_upload_id_marker: str


@dataclass(frozen=True)
class Completed:
    """What a completed upload becomes: the object's bytes, ETag, Content-Type and class."""

    data: bytes
    etag: str
    content_type: str
    storage_class: str


class UploadStore:
    """Every upload in progress, across buckets; thread-safe (parts arrive in parallel)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uploads: dict[str, Upload] = {}
        self._seq = itertools.count()

    def initiate(self, bucket: str, key: str, *, now: int, content_type: str, storage_class: str) -> Upload:
        upload = Upload(secrets.token_hex(16).upper(), bucket, key, now, next(self._seq), content_type, storage_class)
        with self._lock:
            self._uploads[upload.upload_id] = upload
        return upload

    def _get(self, bucket: str, key: str, upload_id: str) -> Upload:
        upload = self._uploads.get(upload_id)
        if upload is None or upload.bucket != bucket or upload.key != key:
            raise NoSuchUpload(upload_id)
        return upload

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int, data: bytes, *, now: int) -> Part:
        if not 1 <= number <= MAX_PART_NUMBER:
            raise InvalidPartNumber(str(number))
        part = Part(number, data, content_etag(data), now)
        with self._lock:
            self._get(bucket, key, upload_id).parts[number] = part
        return part

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        with self._lock:
            self._get(bucket, key, upload_id)
            del self._uploads[upload_id]

    def complete(self, bucket: str, key: str, upload_id: str, chosen: list[tuple[int, str]] | None) -> Completed:
        """Check the part list as OSS does and end the upload; ``chosen`` None means every
        uploaded part in order (``x-oss-complete-all: yes``)."""
        with self._lock:
            upload = self._get(bucket, key, upload_id)
            if chosen is None:
                chosen = [(n, upload.parts[n].etag) for n in sorted(upload.parts)]
            parts = _checked_parts(upload, chosen)
            del self._uploads[upload_id]
        etags = [p.etag for p in parts]
        return Completed(b"".join(p.data for p in parts), multipart_etag(etags), upload.content_type, upload.storage_class)

    def get(self, bucket: str, key: str, upload_id: str) -> Upload:
        with self._lock:
            return self._get(bucket, key, upload_id)

    def count(self) -> int:
        with self._lock:
            return len(self._uploads)

    def list_parts(self, bucket: str, key: str, upload_id: str, *, marker: int, max_parts: int) -> PartsPage:
        with self._lock:
            upload = self._get(bucket, key, upload_id)
            numbers = sorted(n for n in upload.parts if n > marker)
            page = [upload.parts[n] for n in numbers[:max_parts]]
        truncated = len(numbers) > max_parts
        return PartsPage(page, truncated, page[-1].number if page else 0)

    def list_uploads(
        self, bucket: str, *, prefix: str, delimiter: str, key_marker: str, upload_id_marker: str, max_uploads: int
    ) -> UploadsPage:
        """Uploads by key then initiation order, after (key-marker, upload-id-marker) as OSS
        pages them: without an upload-id-marker every upload of key-marker itself is skipped."""
        with self._lock:
            mine = sorted((u for u in self._uploads.values() if u.bucket == bucket), key=lambda u: (u.key, u.seq))
            marker_seq = self._uploads[upload_id_marker].seq if upload_id_marker in self._uploads else None
        rolled = key_marker if delimiter and key_marker.endswith(delimiter) else None
        entries = [
            u for u in mine
            if u.key.startswith(prefix) and _after(u, key_marker, upload_id_marker, marker_seq)
            and not (rolled and u.key.startswith(rolled))
        ]
        return _page_uploads(entries, prefix, delimiter, max_uploads)


def _after(upload: Upload, key_marker: str, upload_id_marker: str, marker_seq: int | None) -> bool:
    if upload.key != key_marker:
        return upload.key > key_marker
    if not upload_id_marker:
        return False
    return marker_seq is None or upload.seq > marker_seq


def _page_uploads(entries: list[Upload], prefix: str, delimiter: str, max_uploads: int) -> UploadsPage:
    uploads: list[Upload] = []
    prefixes: list[str] = []
    last_key, last_id = "", ""
    for upload in entries:
        common = _common_prefix(upload.key, prefix, delimiter)
        if common is not None and prefixes and prefixes[-1] == common:
            continue
        if len(uploads) + len(prefixes) == max_uploads:
            return UploadsPage(uploads, prefixes, True, last_key, last_id)
        if common is not None:
            prefixes.append(common)
            last_key, last_id = common, ""
        else:
            uploads.append(upload)
            last_key, last_id = upload.key, upload.upload_id
    return UploadsPage(uploads, prefixes, False, "", "")


def _common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    cut = key.find(delimiter, len(prefix))
    return key[: cut + len(delimiter)] if cut >= 0 else None


def _checked_parts(upload: Upload, chosen: list[tuple[int, str]]) -> list[Part]:
    """The parts CompleteMultipartUpload names, in OSS's order of checks: ascending numbers,
    each uploaded with that ETag, all but the last at least MIN_PART_SIZE."""
    if not chosen:
        raise InvalidPart("no parts")
    numbers = [n for n, _ in chosen]
    if any(b <= a for a, b in zip(numbers, numbers[1:])):
        raise InvalidPartOrder(str(numbers))
    parts = []
    for number, etag in chosen:
        part = upload.parts.get(number)
        if part is None or part.etag != etag.strip('"').upper():
            raise InvalidPart(str(number))
        parts.append(part)
    for part in parts[:-1]:
        if len(part.data) < MIN_PART_SIZE:
            raise EntityTooSmall(str(part.number))
    return parts
