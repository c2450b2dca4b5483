"""OSS object and multipart handlers: HTTP in, model calls, HTTP out.

Each handler reads what OSS reads from the request (headers, query, body), calls the model
(``state.Bucket`` for objects, ``uploads.UploadStore`` for multipart uploads) and builds the
reply OSS sends; model exceptions become OSS's wire errors here and nowhere else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Callable, Iterator, TypeVar

from osslist.emulator import uploads as model
from osslist.emulator.faults import Faults
from osslist.emulator.objects_xml import (
    BadPartList,
    complete_result,
    initiate_result,
    list_parts_result,
    list_uploads_result,
    parse_part_list,
)
from osslist.emulator.server import HttpRequest, HttpResponse
from osslist.emulator.state import STORAGE_CLASSES, Bucket, ObjectExists, ObjectInfo, StoredContent, check_key
from osslist.emulator.wire import (
    EntityTooSmall,
    FileAlreadyExists,
    InvalidArgument,
    InvalidDigest,
    InvalidObjectName,
    InvalidPart,
    InvalidPartOrder,
    InvalidRange,
    MalformedDigest,
    MalformedXML,
    MethodNotAllowed,
    NoSuchKey,
    NoSuchVersion,
    NoSuchUpload,
    OssWireError,
    server_error,
)

T = TypeVar("T")
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_ZEROS = bytes(64 * 1024)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_UPLOAD_ERRORS: dict[type[model.UploadError], Callable[[str], OssWireError]] = {
    model.NoSuchUpload: lambda _: NoSuchUpload(
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    ),
    model.InvalidPart: lambda n: InvalidPart(
        "One or more of the specified parts could not be found or the specified entity tag might not have matched "
        f"the part's entity tag. (part {n})"
    ),
    model.InvalidPartOrder: lambda _: InvalidPartOrder("The list of parts was not in ascending order."),
    model.EntityTooSmall: lambda n: EntityTooSmall(
        f"Your proposed upload is smaller than the minimum allowed size. (part {n})"
    ),
    model.InvalidPartNumber: lambda _: InvalidArgument("Part number must be an integer between 1 and 10000, inclusive."),
}


@dataclass(frozen=True)
class ObjectRequest:
    """One request on an object, addressed: the handlers never parse Host or path."""

    http: HttpRequest
    bucket: Bucket
    key: str
    params: dict[str, str]

    def header(self, name: str, default: str = "") -> str:
        return self.http.headers.get(name, default)


def _etag_header(etag: str) -> str:
    return f'"{etag}"'


def _http_date(epoch: int) -> str:
    return formatdate(epoch, usegmt=True)


def _url(params: dict[str, str]) -> bool:
    encoding = params.get("encoding-type", "")
    if encoding not in ("", "url"):
        raise InvalidArgument("The encoding-type must be url.")
    return encoding == "url"


def _checked_body(req: ObjectRequest) -> bytes:
    """The body, after OSS's Content-MD5 check (when the header is sent)."""
    body, sent = req.http.body, req.header("content-md5")
    if sent:
        try:
            digest = base64.b64decode(sent, validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != 16:
            raise MalformedDigest("The Content-MD5 you specified is not valid.")
        if digest != hashlib.md5(body).digest():
            raise InvalidDigest("The Content-MD5 you specified was invalid.")
    return body


def _forbid_overwrite(req: ObjectRequest) -> bool:
    value = req.header("x-oss-forbid-overwrite", "false").lower()
    if value not in ("true", "false"):
        raise InvalidArgument("x-oss-forbid-overwrite must be true or false.")
    return value == "true"


def _storage_class(req: ObjectRequest) -> str:
    value = req.header("x-oss-storage-class", "Standard")
    if value not in STORAGE_CLASSES:
        raise InvalidArgument(f"Invalid storage class: {value}.")
    return value


def _exists_error() -> FileAlreadyExists:
    return FileAlreadyExists("The object you specified already exists and can not be overwritten.")


def _content_range(spec: str, size: int, standard: bool) -> tuple[int, int] | None:
    """(first, last) byte of a Range header as OSS serves it, or None for the whole object.

    OSS ignores a range it cannot serve (200, whole object) unless the request says
    ``x-oss-range-behavior: standard``: then an end past the object is clamped and a start
    past it is 416 InvalidRange. Of several ranges only the first counts."""
    match = _RANGE.fullmatch(spec.split(",", 1)[0].strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        n = int(last)
        if n == 0 or size == 0 or (n > size and not standard):
            return None
        return max(0, size - n), size - 1
    start = int(first)
    end = size - 1 if last == "" else int(last)
    if end < start:
        return None
    if start >= size:
        if standard:
            raise InvalidRange("The requested range cannot be satisfied")
        return None
    if end >= size and not standard:
        return None
    return start, min(end, size - 1)


def _zeros(n: int) -> Iterator[bytes]:
    """The content of a seeded object (size only, no bytes kept): zeros, streamed."""
    while n > 0:
        chunk = _ZEROS[: min(n, len(_ZEROS))]
        n -= len(chunk)
        yield chunk


class ObjectHandlers:
    """Handlers of the object operations and of ListMultipartUploads."""

    def __init__(self, uploads: model.UploadStore, faults: Faults, clock: Callable[[], float]) -> None:
        self._uploads = uploads
        self._faults = faults
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())


    # --- simple objects --------------------------------------------------------------------

    def put_object(self, req: ObjectRequest) -> HttpResponse:
        body = _checked_body(req)
        content = StoredContent(body, req.header("content-type") or DEFAULT_CONTENT_TYPE)
        etag = model.content_etag(body)
        try:
            version_id = req.bucket.put(
                req.key, content=content, etag=etag, last_modified=self._now(),
                storage_class=_storage_class(req), forbid_overwrite=_forbid_overwrite(req),
            )
        except ObjectExists:
            raise _exists_error() from None
        except ValueError as exc:
            raise InvalidObjectName(str(exc)) from exc
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        return HttpResponse(200, b"", {"ETag": _etag_header(etag), "Content-MD5": md5, **_version_header(version_id)})

    def _read(self, req: ObjectRequest) -> tuple[ObjectInfo, StoredContent | None]:
        if "versionId" in req.params:
            return _read_version(req)
        found = req.bucket.read(req.key)
        if found is None:
            raise NoSuchKey("The specified key does not exist.")
        return found

    def _object_headers(self, info: ObjectInfo, content: StoredContent | None) -> dict[str, str]:
        return {
            "Content-Type": content.content_type if content else DEFAULT_CONTENT_TYPE,
            "ETag": _etag_header(info.etag),
            "Last-Modified": _http_date(info.last_modified),
            "Accept-Ranges": "bytes",
            "x-oss-object-type": info.object_type,
            "x-oss-storage-class": info.storage_class,
        }

    def head_object(self, req: ObjectRequest) -> HttpResponse:
        info, content = self._read(req)
        return HttpResponse(200, (), self._object_headers(info, content), length=info.size)

    def get_object_meta(self, req: ObjectRequest) -> HttpResponse:
        info, _ = self._read(req)
        headers = {"ETag": _etag_header(info.etag), "Last-Modified": _http_date(info.last_modified)}
        return HttpResponse(200, (), headers, length=info.size)

    def get_object(self, req: ObjectRequest) -> HttpResponse:
        info, content = self._read(req)
        headers = self._object_headers(info, content)
        standard = req.header("x-oss-range-behavior").lower() == "standard"
        span = _content_range(req.header("range"), info.size, standard) if req.header("range") else None
        first, last = span if span else (0, info.size - 1)
        length = last - first + 1 if info.size else 0
        if content is not None:
            body: bytes | Iterator[bytes] = content.data[first : last + 1]
        else:
            body = _zeros(length)
        if span is None:
            return HttpResponse(200, body, headers, length=length)
        headers["Content-Range"] = f"bytes {first}-{last}/{info.size}"
        return HttpResponse(206, body, headers, length=length)

    def delete_object(self, req: ObjectRequest) -> HttpResponse:
        """Without versioning the object goes; with it a delete marker is added (or, with a
        versionId, that version goes for good). The headers say which."""
        if "versionId" in req.params:
            gone = req.bucket.delete_version(req.key, req.params["versionId"])
            headers = {"x-oss-version-id": req.params["versionId"]} if gone else {}
            if gone is not None and gone.delete_marker:
                headers["x-oss-delete-marker"] = "true"
            return HttpResponse(204, b"", headers)
        _, marker = req.bucket.remove(req.key, now=self._now())
        headers = {"x-oss-delete-marker": "true", "x-oss-version-id": marker} if marker else {}
        return HttpResponse(204, b"", headers)

    # --- multipart -------------------------------------------------------------------------

    def initiate(self, req: ObjectRequest) -> HttpResponse:
        check_object_key(req.key)
        if _forbid_overwrite(req) and req.bucket.exists(req.key):
            raise _exists_error()
        content_type = req.header("content-type") or DEFAULT_CONTENT_TYPE
        upload = self._uploads.initiate(
            req.bucket.name, req.key, now=self._now(), content_type=content_type, storage_class=_storage_class(req)
        )
        return _xml(initiate_result(req.bucket.name, upload, _url(req.params)))

    def upload_part(self, req: ObjectRequest) -> HttpResponse:
        number = _part_number(req.params["partNumber"])
        status = self._faults.parts.take(number)
        if status:
            raise server_error(status)
        if self._faults.part_latency:
            time.sleep(self._faults.part_latency)
        body = _checked_body(req)
        part = _upload_call(
            lambda: self._uploads.upload_part(
                req.bucket.name, req.key, req.params["uploadId"], number, body, now=self._now()
            )
        )
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        return HttpResponse(200, b"", {"ETag": _etag_header(part.etag), "Content-MD5": md5})

    def complete(self, req: ObjectRequest, location: str) -> HttpResponse:
        upload_id = req.params["uploadId"]
        _upload_call(lambda: self._uploads.get(req.bucket.name, req.key, upload_id))
        chosen = None
        if req.header("x-oss-complete-all").lower() != "yes":
            try:
                chosen = parse_part_list(req.http.body)
            except BadPartList as exc:
                raise MalformedXML("The XML you provided was not well-formed or did not validate against our published schema.") from exc
        forbid = _forbid_overwrite(req)
        if forbid and req.bucket.exists(req.key):
            raise _exists_error()
        done = _upload_call(lambda: self._uploads.complete(req.bucket.name, req.key, upload_id, chosen))
        try:
            version_id = req.bucket.put(
                req.key, content=StoredContent(done.data, done.content_type), etag=done.etag,
                last_modified=self._now(), storage_class=done.storage_class, object_type="Multipart",
                forbid_overwrite=forbid,
            )
        except ObjectExists:
            raise _exists_error() from None
        body = complete_result(location, req.bucket.name, req.key, done.etag, _url(req.params))
        response = _xml(body)
        response.headers["ETag"] = _etag_header(done.etag)
        response.headers.update(_version_header(version_id))
        return response

    def abort(self, req: ObjectRequest) -> HttpResponse:
        _upload_call(lambda: self._uploads.abort(req.bucket.name, req.key, req.params["uploadId"]))
        return HttpResponse(204, b"")

    def list_parts(self, req: ObjectRequest) -> HttpResponse:
        upload_id, params = req.params["uploadId"], req.params
        marker = _bounded_int(params.get("part-number-marker", ""), "part-number-marker", 0, model.MAX_PART_NUMBER, 0)
        max_parts = _bounded_int(params.get("max-parts", ""), "max-parts", 1, 1000, 1000)
        upload = _upload_call(lambda: self._uploads.get(req.bucket.name, req.key, upload_id))
        page = _upload_call(
            lambda: self._uploads.list_parts(req.bucket.name, req.key, upload_id, marker=marker, max_parts=max_parts)
        )
        return _xml(list_parts_result(req.bucket.name, upload, marker, max_parts, page, _url(params)))

    def list_uploads(self, bucket: Bucket, params: dict[str, str]) -> HttpResponse:
        max_uploads = _bounded_int(params.get("max-uploads", ""), "max-uploads", 1, 1000, 1000)
        query = {name: params.get(name, "") for name in ("prefix", "delimiter", "key-marker", "upload-id-marker")}
        page = self._uploads.list_uploads(
            bucket.name, prefix=query["prefix"], delimiter=query["delimiter"], key_marker=query["key-marker"],
            upload_id_marker=query["upload-id-marker"], max_uploads=max_uploads,
        )
        return _xml(list_uploads_result(bucket.name, query, max_uploads, page, _url(params)))

    def cut_for_part(self, params: dict[str, str], content_length: int) -> int | None:
        """Bytes to read of an UploadPart body before dropping it, when a drop waits for it."""
        raw = params.get("partNumber", "")
        if not raw.isdigit() or self._faults.parts.peek(int(raw)) != 0:
            return None
        self._faults.parts.take(int(raw))
        return content_length // 2


def _version_header(version_id: str | None) -> dict[str, str]:
    return {"x-oss-version-id": version_id} if version_id else {}


def _read_version(req: ObjectRequest) -> tuple[ObjectInfo, StoredContent | None]:
    """GetObject/HeadObject with a versionId: that version (404 NoSuchVersion when unknown,
    405 for a delete marker, as OSS answers)."""
    version = req.bucket.read_version(req.key, req.params["versionId"])
    if version is None:
        raise NoSuchVersion("The specified version does not exist.")
    if version.delete_marker:
        raise MethodNotAllowed("The specified method is not allowed against this resource.")
    info = ObjectInfo(req.key, version.size, version.last_modified, version.etag, version.storage_class,
                      version.object_type)
    content = version.content if isinstance(version.content, StoredContent) else None
    return info, content


def _upload_call(call: Callable[[], T]) -> T:
    """Run a model call, turning its refusal into OSS's wire error."""
    try:
        return call()
    except model.UploadError as exc:
        raise _UPLOAD_ERRORS[type(exc)](str(exc)) from exc


def _xml(body: bytes) -> HttpResponse:
    return HttpResponse(200, body, {"Content-Type": "application/xml"})


def _part_number(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= model.MAX_PART_NUMBER:
        raise InvalidArgument("Part number must be an integer between 1 and 10000, inclusive.")
    return int(raw)


def _bounded_int(raw: str, name: str, low: int, high: int, default: int) -> int:
    if raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidArgument(f"{name} must be an integer between {low} and {high}.")
    return int(raw)


def check_object_key(key: str) -> None:
    """OSS's object-name rule for a write: 1..1023 bytes of UTF-8."""
    try:
        check_key(key)
    except ValueError as exc:
        raise InvalidObjectName(str(exc)) from exc
