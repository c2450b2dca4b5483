"""OSS error replies: each wire error is a class whose attributes are its status, Code and EC,
serialized in exactly one place (``error_response``).

The EC of SecurityTokenExpired (0002-00000007) is OSS's documented one; the other EC values
only have OSS's shape.
"""

from __future__ import annotations

import base64
from datetime import datetime, timezone

from osslist.emulator.server import HttpResponse
from osslist.emulator.xmltext import escape

HOST_ID = "oss-emulator.localhost"


class OssWireError(Exception):
    """An OSS error reply. ``access_key_id``/``credentials_valid`` feed the request log."""

    status = 400
    code = "InvalidRequest"
    ec = "0000-00000000"

    def __init__(
        self,
        message: str,
        *,
        access_key_id: str | None = None,
        credentials_valid: bool | None = None,
        ec: str | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.access_key_id = access_key_id
        self.credentials_valid = credentials_valid
        if ec is not None:
            self.ec = ec  # OSS gives one code several ECs, one per cause
        self.fields = fields or {}
        """Extra elements of the error body (e.g. RequestTimeTooSkewed's ServerTime)."""


class InvalidArgument(OssWireError):
    status, code, ec = 400, "InvalidArgument", "0017-00000101"


class AccessDenied(OssWireError):
    status, code, ec = 403, "AccessDenied", "0003-00000001"


class InvalidAccessKeyId(OssWireError):
    status, code, ec = 403, "InvalidAccessKeyId", "0002-00000005"


class InvalidSecurityToken(OssWireError):
    status, code, ec = 403, "InvalidSecurityToken", "0002-00000008"


class SecurityTokenExpired(OssWireError):
    status, code, ec = 403, "SecurityTokenExpired", "0002-00000007"


class SignatureDoesNotMatch(OssWireError):
    status, code, ec = 403, "SignatureDoesNotMatch", "0002-00000040"


class RequestTimeTooSkewed(OssWireError):
    status, code, ec = 403, "RequestTimeTooSkewed", "0002-00000504"

    @classmethod
    def at(cls, request_time: str, server_now: float) -> "RequestTimeTooSkewed":
        """The refusal of a request made at ``request_time`` (as sent) while the server's clock
        read ``server_now``; ServerTime is ISO 8601 UTC with milliseconds, like LastModified."""
        moment = datetime.fromtimestamp(server_now, timezone.utc)
        server = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        return cls(
            "The difference between the request time and the current time is too large.",
            fields={"RequestTime": request_time, "ServerTime": server, "MaxAllowedSkewMilliseconds": "900000"},
        )


class NoSuchBucket(OssWireError):
    status, code, ec = 404, "NoSuchBucket", "0015-00000101"


class MethodNotAllowed(OssWireError):
    status, code, ec = 405, "MethodNotAllowed", "0016-00000001"


class NotImplementedOperation(OssWireError):
    status, code, ec = 501, "NotImplemented", "0016-00000002"


class InvalidObjectName(OssWireError):
    status, code, ec = 400, "InvalidObjectName", "0016-00000005"


class InvalidDigest(OssWireError):
    """Content-MD5 does not match the body (OSS names this InvalidDigest, not S3's BadDigest)."""

    status, code, ec = 400, "InvalidDigest", "0017-00000503"


class MalformedDigest(InvalidDigest):
    """Content-MD5 is not the base64 of 16 bytes: the same code, OSS's other EC."""

    ec = "0017-00000502"


class MalformedXML(OssWireError):
    status, code, ec = 400, "MalformedXML", "0017-00000201"


class InvalidPart(OssWireError):
    status, code, ec = 400, "InvalidPart", "0042-00000210"


class InvalidPartOrder(OssWireError):
    status, code, ec = 400, "InvalidPartOrder", "0042-00000209"


class EntityTooSmall(OssWireError):
    status, code, ec = 400, "EntityTooSmall", "0042-00000213"


class NoSuchKey(OssWireError):
    status, code, ec = 404, "NoSuchKey", "0026-00000001"


class NoSuchVersion(OssWireError):
    status, code, ec = 404, "NoSuchVersion", "0026-00000001"


class NoSuchUpload(OssWireError):
    status, code, ec = 404, "NoSuchUpload", "0017-00000244"


class FileAlreadyExists(OssWireError):
    status, code, ec = 409, "FileAlreadyExists", "0026-00000002"


class InvalidRange(OssWireError):
    status, code, ec = 416, "InvalidRange", "0039-00000001"


class InternalError(OssWireError):
    status, code, ec = 500, "InternalError", "0000-00000001"


class ServiceUnavailable(OssWireError):
    status, code, ec = 503, "ServiceUnavailable", "0000-00000002"


class QpsLimitExceeded(OssWireError):
    status, code, ec = 429, "QpsLimitExceeded", "0004-00000302"


def server_error(status: int) -> OssWireError:
    """The injected failure for ``Faults.error_every`` / ``unavailable_for``: 503 and 429 are
    OSS's throttling replies, anything else an InternalError."""
    if status == 503:
        return ServiceUnavailable("Please reduce your request rate.")
    if status == 429:
        return QpsLimitExceeded("Please reduce your request rate.")
    return InternalError("we encountered an internal error, please try again")


def error_response(error: OssWireError, request_id: str, *, head: bool = False) -> HttpResponse:
    """The XML error body and headers OSS sends; never echoes a secret. A HEAD reply has no
    body, so OSS carries the same XML base64-encoded in ``x-oss-err`` (oss2 reads it there)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n'
        f"  <Code>{error.code}</Code>\n"
        f"  <Message>{escape(error.message)}</Message>\n"
        f"  <RequestId>{request_id}</RequestId>\n"
        f"  <HostId>{HOST_ID}</HostId>\n"
        f"  <EC>{error.ec}</EC>\n"
        + "".join(f"  <{name}>{escape(value)}</{name}>\n" for name, value in error.fields.items())
        + f"  <RecommendDoc>https://api.aliyun.com/troubleshoot?q={error.ec}</RecommendDoc>\n"
        "</Error>\n"
    ).encode()
    headers = {"Content-Type": "application/xml", "x-oss-request-id": request_id, "x-oss-ec": error.ec}
    if head:
        headers["x-oss-err"] = base64.b64encode(body).decode()
    return HttpResponse(
        error.status,
        body,
        headers,
        error_code=error.code,
        access_key_id=error.access_key_id,
        credentials_valid=error.credentials_valid,
    )
