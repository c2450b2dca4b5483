"""Which OSS operation a request is, from its method, whether it names a key, and its query.

Pure: no HTTP objects, no state. Each route carries the RAM action a policy would check
(``oss:PutObject`` covers PutObject and every multipart step but abort, as in OSS).
"""

from __future__ import annotations

from typing import NamedTuple

from osslist.emulator.auth import V1_SUBRESOURCES


class Route(NamedTuple):
    operation: str
    action: str


_BUCKET_ROUTES = {
    ("GET", ""): Route("ListObjects", "oss:ListObjects"),
    ("GET", "uploads"): Route("ListMultipartUploads", "oss:ListMultipartUploads"),
    ("GET", "versions"): Route("ListObjectVersions", "oss:ListObjectVersions"),
    ("GET", "versioning"): Route("GetBucketVersioning", "oss:GetBucketVersioning"),
    ("PUT", "versioning"): Route("PutBucketVersioning", "oss:PutBucketVersioning"),
}
_OBJECT_ROUTES = {
    ("PUT", ""): Route("PutObject", "oss:PutObject"),
    ("PUT", "part"): Route("UploadPart", "oss:PutObject"),
    ("POST", "uploads"): Route("InitiateMultipartUpload", "oss:PutObject"),
    ("POST", "uploadId"): Route("CompleteMultipartUpload", "oss:PutObject"),
    ("DELETE", "uploadId"): Route("AbortMultipartUpload", "oss:AbortMultipartUpload"),
    ("DELETE", ""): Route("DeleteObject", "oss:DeleteObject"),
    ("GET", "uploadId"): Route("ListParts", "oss:ListParts"),
    ("GET", ""): Route("GetObject", "oss:GetObject"),
    ("HEAD", ""): Route("HeadObject", "oss:GetObject"),
    ("HEAD", "objectMeta"): Route("GetObjectMeta", "oss:GetObject"),
}
# Signed query names that do not change the operation (GetObject's response-* overrides,
# ListObjectsV2's token, a presigned URL's token, the versionId of an object operation).
_NEUTRAL = frozenset(name for name in V1_SUBRESOURCES if name.startswith("response-")) | {
    "continuation-token", "security-token", "versionId",
}
_UNSUPPORTED = "unsupported"


def subresource(params: dict[str, str]) -> str:
    """The sub-resource that picks the operation: '' for none, 'part' for an UploadPart."""
    if "uploadId" in params:
        return "part" if "partNumber" in params else "uploadId"
    for name in ("uploads", "objectMeta", "versions", "versioning"):
        if name in params:
            return name
    if any(name in V1_SUBRESOURCES and name not in _NEUTRAL for name in params):
        return _UNSUPPORTED
    return ""


class UnknownOperation(Exception):
    """No route; ``implemented`` is False for an operation the emulator lacks (501), True for
    a method OSS refuses on this resource (405)."""

    def __init__(self, implemented: bool) -> None:
        super().__init__("no route")
        self.implemented = implemented


def route(method: str, has_key: bool, params: dict[str, str]) -> Route:
    sub = subresource(params)
    table = _OBJECT_ROUTES if has_key else _BUCKET_ROUTES
    found = table.get((method, sub))
    if found is not None:
        return found
    known = sub != _UNSUPPORTED and any(s == sub for _, s in table)
    raise UnknownOperation(implemented=known)
