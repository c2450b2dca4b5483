"""Object reads and writes on one bucket, for reports written into OSS: PutObject, the
multipart upload calls, and a streamed GetObject. oss2 errors become ours here.

It rides on the listing's :class:`~osslist.client.BucketClient`, so a destination gets the
same credential chain and refresh, the same session and the same never-follow-a-redirect rule
as the bucket being listed (the destination may still be another bucket, endpoint or region:
it is its own BucketClient). Every call is retried on 5xx, 429, a corrupted upload
(InvalidDigest) and network errors with backoff; a key or token error forces one credential
refresh; any other refusal is :class:`OssRefused` naming ``oss://bucket/key`` (exit 4).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from typing import Callable, Iterator, TypeVar

import oss2
import oss2.exceptions
from oss2.models import PartInfo

from osslist.backoff import BackoffPolicy, RetriesExhausted
from osslist.client import (
    NETWORK_ERRORS, BucketClient, describe_failure, gave_up_text, missing_action, safe_text, scrubbed,
)
from osslist.errors import OssError, OssRefused, OssUnavailable

T = TypeVar("T")
RETRYABLE_CODES = frozenset({"InvalidDigest"})  # the bytes were damaged on the way: send again
_READ_CHUNK = 1024 * 1024


def content_md5(data: bytes | bytearray) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


_ACTIONS = {"ListParts": "oss:ListParts", "GetObject": "oss:GetObject", "HeadObject": "oss:GetObject",
            "ListMultipartUploads": "oss:ListMultipartUploads"}


class _Body:
    """A part's bytes as oss2 reads them (``read(n)`` slices, ``len``) without a copy of the
    whole part; a fresh one per attempt, so a retry reads from the start."""

    def __init__(self, data: bytes | bytearray) -> None:
        self._view = memoryview(data)
        self._at = 0

    def __len__(self) -> int:
        return len(self._view)

    def read(self, amount: int | None = -1) -> bytes:
        end = len(self._view) if amount is None or amount < 0 else min(len(self._view), self._at + amount)
        chunk = bytes(self._view[self._at : end])
        self._at = end
        return chunk


class ObjectClient:
    """The object calls of one destination bucket, each retried as a whole."""

    def __init__(
        self, client: BucketClient, *, policy: BackoffPolicy | None = None
    ) -> None:
        self.bucket_name = client.bucket_name
        self.endpoint = client.endpoint
        self.region = client.region
        self._client = client
        self._bucket: oss2.Bucket = client.oss2_bucket
        # the listing client's policy (its --retry-budget), plus a damaged upload; other delays for tests
        retry_policy = client.retry_policy if policy is None else client.retry_policy.with_backoff(policy)
        self._retry = replace(retry_policy, codes=retry_policy.codes | RETRYABLE_CODES)

    @property
    def client(self) -> BucketClient:
        """The bucket client it rides on (to list the destination, e.g. an inventory's shards)."""
        return self._client

    def url(self, key: str) -> str:
        return f"oss://{self.bucket_name}/{key}"

    def put(self, key: str, data: bytes | bytearray, *, forbid_overwrite: bool = False) -> str:
        """One PutObject with Content-MD5; returns the ETag."""
        headers = {"Content-MD5": content_md5(data)}
        if forbid_overwrite:
            headers["x-oss-forbid-overwrite"] = "true"
        return self._call("PutObject", key, lambda: self._bucket.put_object(key, _Body(data), headers=headers).etag)

    def initiate(self, key: str) -> str:
        """InitiateMultipartUpload; returns the upload id."""
        return self._call("InitiateMultipartUpload", key, lambda: self._bucket.init_multipart_upload(key).upload_id)

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes | bytearray) -> str:
        """UploadPart with Content-MD5 (the same part again on a retry); returns its ETag."""
        headers = {"Content-MD5": content_md5(data)}
        return self._call(
            f"UploadPart {number}", key,
            lambda: self._bucket.upload_part(key, upload_id, number, _Body(data), headers=headers).etag,
        )

    def complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """CompleteMultipartUpload with the parts in ascending order. A retry that finds the
        upload gone while the object exists means the first try completed it."""
        infos = [PartInfo(number, etag) for number, etag in sorted(parts)]
        tried = False

        def send() -> None:
            nonlocal tried
            try:
                self._bucket.complete_multipart_upload(key, upload_id, infos)
            except oss2.exceptions.NoSuchUpload:
                if not tried or not self._bucket.object_exists(key):
                    raise
            finally:
                tried = True

        self._call("CompleteMultipartUpload", key, send)

    def abort(self, key: str, upload_id: str) -> None:
        """AbortMultipartUpload; an upload already gone is fine (that is what abort wants)."""

        def send() -> None:
            try:
                self._bucket.abort_multipart_upload(key, upload_id)
            except oss2.exceptions.NoSuchUpload:
                pass

        self._call("AbortMultipartUpload", key, send)

    def list_parts(self, key: str, upload_id: str) -> list[tuple[int, str, int]]:
        """(number, ETag, size) of every part of an upload (ListParts, all pages)."""

        def send() -> list[tuple[int, str, int]]:
            # ListParts always sends each part's Size (PartInfo's None is for parts made to complete an upload)
            return [(p.part_number, p.etag, p.size or 0) for p in oss2.PartIterator(self._bucket, key, upload_id)]

        return self._call("ListParts", key, send)

    def get_small(self, key: str) -> bytes | None:
        """A small object's bytes (a checkpoint), or None when there is no such object."""

        def send() -> bytes | None:
            try:
                return bytes(self._bucket.get_object(key).read())
            except oss2.exceptions.NoSuchKey:
                return None

        return self._call("GetObject", key, send)

    def uploads_of(self, key: str) -> list[str]:
        """The upload ids of unfinished multipart uploads of exactly ``key`` (ListMultipartUploads)."""
        return [upload_id for found, upload_id in self.uploads_under(key) if found == key]

    def uploads_under(self, prefix: str) -> list[tuple[str, str]]:
        """(key, upload id) of the unfinished multipart uploads of keys under ``prefix``."""

        def send() -> list[tuple[str, str]]:
            return [(u.key, u.upload_id) for u in oss2.MultipartUploadIterator(self._bucket, prefix=prefix)]

        return self._call("ListMultipartUploads", prefix, send)

    def exists(self, key: str) -> bool:
        """HeadObject: is there an object at ``key``?"""
        return self._call("HeadObject", key, lambda: bool(self._bucket.object_exists(key)))

    def stream(self, key: str) -> Iterator[bytes]:
        """The object's bytes, streamed in chunks (GetObject; only its start is retried)."""
        result = self._call("GetObject", key, lambda: self._bucket.get_object(key))
        try:
            while chunk := result.read(_READ_CHUNK):
                yield chunk
        except NETWORK_ERRORS as exc:
            raise self._error(OssUnavailable, "GetObject", key, exc) from scrubbed(exc)

    def _call(self, operation: str, key: str, send: Callable[[], T]) -> T:
        """``send`` through the client's one retry path (backoff, budget, one credential refresh)."""
        try:
            return self._client.retrying(send, self._retry)
        except oss2.exceptions.ServerError as exc:
            raise self._error(OssRefused, operation, key, exc) from scrubbed(exc)
        except RetriesExhausted as gave_up:
            last = gave_up.last if isinstance(gave_up.last, Exception) else None
            raise self._error(OssUnavailable, operation, key, last, gave_up=gave_up) from scrubbed(last)

    def _error(
        self, kind: type[OssError], operation: str, key: str, exc: Exception | None, *,
        gave_up: RetriesExhausted | None = None,
    ) -> OssError:
        """One line naming the destination, status, code and request id; never a body."""
        status = getattr(exc, "status", None)
        status = status if isinstance(status, int) and status > 0 else None
        code, request_id = safe_text(getattr(exc, "code", None)), safe_text(getattr(exc, "request_id", None))
        prefix = "" if gave_up is None else gave_up_text(gave_up, self._retry.budget)
        message = (f"{operation} {self.url(key)} at {self.endpoint}: {prefix}{describe_failure(exc)}, "
                   f"request id {request_id or 'none'}")
        message += missing_action(status, code, _ACTIONS.get(operation))
        return kind(message, status=status, code=code, request_id=request_id, bucket=self.bucket_name, endpoint=self.endpoint)
