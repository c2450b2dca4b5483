"""The OSS endpoint: addressing, faults, authentication, routing, then the handlers.

Bucket listing (ListObjects v1 / ListObjectsV2) is handled here; object and multipart
operations in ``objects`` (routes in ``routes``). Any other operation answers 501
NotImplemented (405 for a method OSS would not accept on that resource). Every reply carries
``x-oss-request-id``; a policy denial (``Faults.deny``) answers 403 AccessDenied.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import secrets
import time
from urllib.parse import unquote

from osslist.emulator import versioning
from osslist.emulator.auth import SignedRequest, authenticate, without_query_auth
from osslist.emulator.config import EmulatorConfig
from osslist.emulator.credentials import CredentialStore
from osslist.emulator.faults import Faults
from osslist.emulator.listing_xml import ListingParams, render_listing
from osslist.emulator.objects import ObjectHandlers, ObjectRequest
from osslist.emulator.queries import check_lengths, max_keys, url_encoded
from osslist.emulator.routes import Route, UnknownOperation, route
from osslist.emulator.server import HttpRequest, HttpResponse
from osslist.emulator.state import Bucket, BucketStore
from osslist.emulator.uploads import UploadStore
from osslist.emulator.wire import (
    AccessDenied,
    InvalidArgument,
    MethodNotAllowed,
    NoSuchBucket,
    NotImplementedOperation,
    OssWireError,
    error_response,
    server_error,
)

_LISTING_PARAMS = frozenset(
    "prefix delimiter marker max-keys encoding-type list-type continuation-token start-after fetch-owner".split()
)
# OSS refuses these of 1024 bytes or more (400 InvalidArgument; the ECs of prefix and marker are
# OSS's error pages'; no page found gives start-after's, so it keeps the generic one).
_LENGTH_LIMITED: dict[str, str | None] = {"prefix": "0015-00000403", "marker": "0015-00000405", "start-after": None}


def split_address(host: str, path: str) -> tuple[str, str]:
    """(bucket, key) from Host and the decoded path: virtual-hosted style when Host is a name
    with a dot that is not an IP (``bucket.oss-cn-hangzhou.aliyuncs.com``), else path style."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.strip("[]")
    if "." in name and name != "localhost" and not _is_ip(name):
        return name.split(".", 1)[0], path[1:]
    bucket, _, key = path[1:].partition("/")
    return bucket, key


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def new_request_id() -> str:
    return secrets.token_hex(12).upper()


def encode_token(after: str) -> str:
    """An opaque v2 continuation token (URL-safe base64 of where the next page starts)."""
    return base64.urlsafe_b64encode(after.encode("utf-8")).decode().rstrip("=")


def decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidArgument("The continuation token provided is incorrect.") from exc


def parse_listing(params: dict[str, str]) -> ListingParams:
    """Validate the query of a listing request (max-keys 1..1000, default 100; prefix, marker
    and start-after under 1024 bytes)."""
    check_lengths(params, _LENGTH_LIMITED)
    limit, url = max_keys(params), url_encoded(params)
    v2 = params.get("list-type") == "2"
    if "list-type" in params and not v2:
        raise InvalidArgument("list-type must be 2.")
    token = params.get("continuation-token", "") if v2 else ""
    start_after = params.get("start-after", "") if v2 else ""
    after = decode_token(token) if token else (start_after if v2 else params.get("marker", ""))
    return ListingParams(
        v2=v2,
        prefix=params.get("prefix", ""),
        delimiter=params.get("delimiter", ""),
        marker=params.get("marker", ""),
        start_after=start_after,
        token=token,
        after=after,
        max_keys=limit,
        url=url,
        fetch_owner=params.get("fetch-owner", "").lower() == "true",
    )


class OssService:
    """Handlers of the OSS endpoint."""

    name = "oss"

    def __init__(
        self, config: EmulatorConfig, buckets: BucketStore, store: CredentialStore, faults: Faults, uploads: UploadStore
    ) -> None:
        self._config = config
        self._buckets = buckets
        self._store = store
        self._faults = faults
        self._objects = ObjectHandlers(uploads, faults, config.clock)

    def server_time(self) -> float:
        """What OSS's clock reads: the real time (clients sign with it) plus ``clock_offset``."""
        return time.time() + self._config.clock_offset

    def cut_body(self, head: HttpRequest) -> int | None:
        """A waiting ``Faults.drop_part`` for this UploadPart: read half its body, then drop."""
        if head.method != "PUT" or "uploadId" not in head.params:
            return None
        return self._objects.cut_for_part(head.params, int(head.headers.get("content-length") or 0))

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id()
        faults = self._faults
        if faults.oss_latency:
            time.sleep(faults.oss_latency)
        if faults.should_drop():
            return HttpResponse(0, drop=True, error_code="DroppedConnection")
        if faults.oss_redirect:
            return HttpResponse(302, b"", {"Location": faults.oss_redirect, "x-oss-request-id": request_id},
                                error_code="Redirect")
        try:
            status = faults.oss_error()
            if status is not None:
                raise server_error(status)
            response = self._handle(request, request_id)
        except OssWireError as error:
            return error_response(error, request_id, head=request.method == "HEAD")
        response.headers["x-oss-request-id"] = request_id
        return response

    def _handle(self, request: HttpRequest, request_id: str) -> HttpResponse:
        bucket_name, key = split_address(request.headers.get("host", ""), unquote(request.path))
        signed = SignedRequest(request.method, bucket_name, key, request.params, request.headers)
        auth = authenticate(signed, self._store, self._config.clock(), server_now=self.server_time(),
                            region=self._config.region)
        params = without_query_auth(signed.params)
        try:
            response = self._dispatch(request, bucket_name, key, params)
        except OssWireError as error:
            error.access_key_id, error.credentials_valid = auth.access_key_id, True
            raise
        response.access_key_id, response.credentials_valid = auth.access_key_id, True
        response.signature_version = auth.signature_version
        return response

    def _dispatch(self, request: HttpRequest, bucket_name: str, key: str, params: dict[str, str]) -> HttpResponse:
        if not bucket_name:
            raise NotImplementedOperation("The emulator does not implement service-level operations.")
        bucket = self._buckets.get(bucket_name)
        if bucket is None:
            raise NoSuchBucket("The specified bucket does not exist.")
        if bucket_name in self._faults.denied_buckets:
            raise AccessDenied("You have no right to access this bucket.")
        op = _route(request.method, key, params)
        scope = key if key else params.get("prefix", "")
        if self._faults.denied(bucket_name, scope, op.action):
            raise AccessDenied(f"You have no right to access this object because of bucket acl. ({op.action})")
        if op.operation == "ListObjects":
            return HttpResponse(200, self._list_objects(bucket, params), {"Content-Type": "application/xml"})
        if op.operation == "ListMultipartUploads":
            return self._objects.list_uploads(bucket, params)
        if op.operation == "ListObjectVersions":
            return versioning.list_object_versions(bucket, params, self._faults)
        if op.operation == "GetBucketVersioning":
            return versioning.get_versioning(bucket)
        if op.operation == "PutBucketVersioning":
            return versioning.put_versioning(bucket, request.body)
        req = ObjectRequest(request, bucket, key, params)
        if op.operation == "CompleteMultipartUpload":
            host = request.headers.get("host", "")
            return self._objects.complete(req, f"http://{host}/{bucket_name}/{key}")
        return _OBJECT_HANDLERS[op.operation](self._objects, req)

    def _list_objects(self, bucket: Bucket, params: dict[str, str]) -> bytes:
        if set(params) - _LISTING_PARAMS:
            raise NotImplementedOperation("The emulator does not implement this bucket operation.")
        listing = parse_listing(params)
        limit = listing.max_keys
        if self._faults.short_pages:
            limit = min(limit, self._faults.short_pages)
        page = bucket.list(prefix=listing.prefix, delimiter=listing.delimiter, after=listing.after, max_keys=limit)
        return render_listing(bucket.name, listing, page, encode_token)


_OBJECT_HANDLERS = {
    "PutObject": ObjectHandlers.put_object,
    "UploadPart": ObjectHandlers.upload_part,
    "InitiateMultipartUpload": ObjectHandlers.initiate,
    "AbortMultipartUpload": ObjectHandlers.abort,
    "DeleteObject": ObjectHandlers.delete_object,
    "ListParts": ObjectHandlers.list_parts,
    "GetObject": ObjectHandlers.get_object,
    "HeadObject": ObjectHandlers.head_object,
    "GetObjectMeta": ObjectHandlers.get_object_meta,
}


def _route(method: str, key: str, params: dict[str, str]) -> Route:
    try:
        return route(method, bool(key), params)
    except UnknownOperation as exc:
        if exc.implemented:
            raise MethodNotAllowed("The specified method is not allowed against this resource.") from exc
        raise NotImplementedOperation("The emulator does not implement this operation.") from exc
