"""OSS request authentication: V1 (``OSS key:sig``, HMAC-SHA1) and V4 (``OSS4-HMAC-SHA256``).

The canonical strings are rebuilt from what arrived on the wire exactly as oss2 2.19.1 builds
them before sending (``oss2/auth.py``: ``ProviderAuth`` and ``ProviderAuthV4``), so a request
passes only if it was signed with the secret of the AccessKeyId it names. Checks run in OSS's
order: key known, token belongs to that set, set not expired, signature matches. The request
time is not checked against the clock (no RequestTimeTooSkewed): tests move the emulator's
clock freely while clients sign with the real time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from osslist.emulator.credentials import CredentialStore, IssuedCredentials
from osslist.emulator.wire import (
    AccessDenied,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidSecurityToken,
    SecurityTokenExpired,
    SignatureDoesNotMatch,
)

V4_SCHEME = "OSS4-HMAC-SHA256"
TOKEN_HEADER = "x-oss-security-token"
_V4_DEFAULT_SIGNED = ("content-type", "content-md5")
_V4_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-~.")

# Query parameters that V1 signs (oss2's ProviderAuth._subresource_key_set, listing-relevant
# and common ones; the rest are operations the emulator does not implement).
V1_SUBRESOURCES = frozenset(
    """acl uploadId uploads partNumber group link delete website location objectInfo objectMeta
    response-content-type response-content-language response-cache-control response-expires
    response-content-disposition response-content-encoding logging cors lifecycle restore qos
    referer stat bucketInfo append position security-token live comp status vod startTime endTime
    x-oss-process symlink callback callback-var tagging encryption versions versioning versionId
    policy requestPayment x-oss-traffic-limit qosInfo asyncFetch x-oss-request-payer sequential
    inventory inventoryId continuation-token worm wormId wormExtend replication
    replicationLocation replicationProgress transferAcceleration cname metaQuery resourceGroup
    style styleName regionList accessPoint publicAccessBlock""".split()
)


@dataclass(frozen=True)
class SignedRequest:
    """The parts of a request a signature covers (bucket and key decoded, headers lower-case)."""

    method: str
    bucket: str
    key: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class AuthResult:
    access_key_id: str
    signature_version: str


def _pair(k: str, v: str) -> str:
    return f"{k}={v}" if v else k


def v1_string_to_sign(req: SignedRequest) -> bytes:
    h = req.headers
    oss_headers = sorted((k, v) for k, v in h.items() if k.startswith("x-oss-"))
    canon = "".join(f"{k}:{v}\n" for k, v in oss_headers)
    subs = sorted((k, v) for k, v in req.params.items() if k in V1_SUBRESOURCES)
    resource = f"/{req.bucket}/{req.key}" + ("?" + "&".join(_pair(k, v) for k, v in subs) if subs else "")
    date = h.get("x-oss-date", "") or h.get("date", "")
    return "\n".join([req.method, h.get("content-md5", ""), h.get("content-type", ""), date, canon + resource]).encode()


def v1_signature(secret: str, req: SignedRequest) -> str:
    digest = hmac.new(secret.encode(), v1_string_to_sign(req), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def v4_uri_encode(text: str, keep_slash: bool) -> str:
    out = []
    for b in text.encode("utf-8"):
        if b in _V4_SAFE or (keep_slash and b == 0x2F):
            out.append(chr(b))
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def v4_canonical_request(req: SignedRequest, additional: list[str]) -> bytes:
    query = sorted((v4_uri_encode(k, False), v4_uri_encode(v, False)) for k, v in req.params.items())
    signed = sorted(
        (k, v)
        for k, v in req.headers.items()
        if k.startswith("x-oss-") or k in _V4_DEFAULT_SIGNED or k in additional
    )
    return "\n".join(
        [
            req.method,
            v4_uri_encode(f"/{req.bucket}/{req.key}", True),
            "&".join(_pair(k, v) for k, v in query),
            "".join(f"{k}:{v}\n" for k, v in signed),
            ";".join(sorted(additional)),
            req.headers.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD"),
        ]
    ).encode()


def v4_signature(secret: str, req: SignedRequest, scope: str, additional: list[str]) -> str:
    """``scope`` is ``DATE/REGION/PRODUCT/aliyun_v4_request`` as the client put it in Credential."""
    date, region, product, _ = scope.split("/")
    string_to_sign = "\n".join(
        [V4_SCHEME, req.headers.get("x-oss-date", ""), scope, hashlib.sha256(v4_canonical_request(req, additional)).hexdigest()]
    )
    key = ("aliyun_v4" + secret).encode()
    for part in (date, region, product, "aliyun_v4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _parse_v4(value: str) -> tuple[str, str, str, list[str]]:
    """(access key id, scope, signature, additional headers) from a V4 Authorization value."""
    fields = {}
    for part in value[len(V4_SCHEME) :].split(","):
        name, _, val = part.strip().partition("=")
        fields[name] = val
    key_id, _, scope = fields.get("Credential", "").partition("/")
    if not key_id or scope.count("/") != 3 or "Signature" not in fields:
        raise InvalidArgument("malformed OSS4-HMAC-SHA256 Authorization header")
    additional = [h for h in fields.get("AdditionalHeaders", "").split(";") if h]
    return key_id, scope, fields["Signature"], additional


def _check_set(creds: IssuedCredentials | None, key_id: str, token: str | None, now: float) -> IssuedCredentials:
    if creds is None:
        raise InvalidAccessKeyId("The OSS Access Key Id you provided does not exist in our records.",
                                 access_key_id=key_id, credentials_valid=False)
    if token != creds.security_token:
        raise InvalidSecurityToken("The security token you provided is invalid.",
                                   access_key_id=key_id, credentials_valid=False)
    if creds.expired(now):
        raise SecurityTokenExpired("The security token you provided has expired.",
                                   access_key_id=key_id, credentials_valid=False)
    return creds


def authenticate(req: SignedRequest, store: CredentialStore, now: float) -> AuthResult:
    """Who signed ``req``; raises the OSS wire error OSS would answer otherwise."""
    authorization = req.headers.get("authorization", "")
    token = req.headers.get(TOKEN_HEADER)
    if authorization.startswith(V4_SCHEME):
        key_id, scope, signature, additional = _parse_v4(authorization)
        creds = _check_set(store.lookup(key_id), key_id, token, now)
        expected, version = v4_signature(creds.access_key_secret, req, scope, additional), "4"
    elif authorization.startswith("OSS "):
        key_id, _, signature = authorization[4:].rpartition(":")
        creds = _check_set(store.lookup(key_id), key_id, token, now)
        expected, version = v1_signature(creds.access_key_secret, req), "1"
    else:
        raise AccessDenied("You have no right to access this object because of bucket acl.")
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise SignatureDoesNotMatch("The request signature we calculated does not match the signature you provided.",
                                    access_key_id=key_id, credentials_valid=True)
    return AuthResult(key_id, version)
