"""OSS request authentication: V1 (``OSS key:sig``, HMAC-SHA1) and V4 (``OSS4-HMAC-SHA256``), in
the Authorization header or in a presigned URL's query string.

The canonical strings are rebuilt from what arrived on the wire exactly as oss2 2.19.1 builds
them before sending (``oss2/auth.py``: ``ProviderAuth`` and ``ProviderAuthV4``), so a request
passes only if it was signed with the secret of the AccessKeyId it names. Checks, in order:

1. the request's time. A header-signed request needs ``Date`` (V1) or ``x-oss-date`` (V4):
   missing or unparsable is 403 AccessDenied (OSS V1 signature docs); more than 15 minutes from
   the server's time is 403 RequestTimeTooSkewed (EC 0002-00000504), whose body carries
   ``RequestTime``, ``ServerTime`` and ``MaxAllowedSkewMilliseconds`` (the docs name the error
   but not its fields: these are S3's, which OSS's error pages follow). A presigned URL past
   its expiry (``Expires``; V4 ``x-oss-date`` + ``x-oss-expires``) is 403 AccessDenied, EC
   0002-00000069 (the docs give the EC, not the code);
2. the V4 scope: its region must be the emulator's (EC 0002-00000228; the code and status,
   400 InvalidArgument, are those the docs give for the same check on PostObject), and an empty
   ``AdditionalHeaders=`` is refused (EC 0002-00000209; code and status undocumented, so
   400 InvalidArgument);
3. key known, token belongs to that set, set not expired, signature matches (OSS's order).

Step 1 compares with the real time plus ``clock_offset`` (clients sign with the real time),
not with the injectable ``clock`` that drives credential lifetimes, so a test may move that
clock freely. The docs do not say whether OSS checks the time before or after the key; the
emulator checks it first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from osslist.emulator.credentials import CredentialStore, IssuedCredentials
from osslist.emulator.wire import (
    AccessDenied,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidSecurityToken,
    RequestTimeTooSkewed,
    SecurityTokenExpired,
    SignatureDoesNotMatch,
)

V4_SCHEME = "OSS4-HMAC-SHA256"
TOKEN_HEADER = "x-oss-security-token"
MAX_SKEW = 15 * 60.0
V4_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# Query parameters that carry a presigned URL's signature: not part of the operation.
V1_QUERY_AUTH = ("OSSAccessKeyId", "Expires", "Signature", "security-token")
V4_QUERY_AUTH = ("x-oss-signature-version", "x-oss-credential", "x-oss-date", "x-oss-expires",
                 "x-oss-signature", "x-oss-additional-headers", "x-oss-security-token")
QUERY_AUTH_PARAMS = frozenset(V1_QUERY_AUTH + V4_QUERY_AUTH)
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


@dataclass(frozen=True)
class Claim:
    """What a request says about who signed it, when, and with what."""

    version: str  # "1" or "4"
    key_id: str
    signature: str
    token: str | None
    timestamp: str  # the time as it enters the string to sign
    presigned: bool = False
    expires_at: float | None = None  # presigned URLs only
    scope: str = ""  # V4 only
    additional: tuple[str, ...] = ()


def without_query_auth(params: dict[str, str]) -> dict[str, str]:
    """The operation's own parameters: a presigned URL's signature parameters removed."""
    return {k: v for k, v in params.items() if k not in QUERY_AUTH_PARAMS}


def _pair(k: str, v: str) -> str:
    return f"{k}={v}" if v else k


def v1_string_to_sign(req: SignedRequest, date: str | None = None) -> bytes:
    """``date`` replaces the Date header (a presigned URL signs its ``Expires``)."""
    h = req.headers
    oss_headers = sorted((k, v) for k, v in h.items() if k.startswith("x-oss-"))
    canon = "".join(f"{k}:{v}\n" for k, v in oss_headers)
    subs = sorted((k, v) for k, v in req.params.items() if k in V1_SUBRESOURCES)
    resource = f"/{req.bucket}/{req.key}" + ("?" + "&".join(_pair(k, v) for k, v in subs) if subs else "")
    if date is None:
        date = h.get("x-oss-date", "") or h.get("date", "")
    return "\n".join([req.method, h.get("content-md5", ""), h.get("content-type", ""), date, canon + resource]).encode()


def v1_signature(secret: str, req: SignedRequest, date: str | None = None) -> str:
    digest = hmac.new(secret.encode(), v1_string_to_sign(req, date), hashlib.sha1).digest()
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
    query = sorted((v4_uri_encode(k, False), v4_uri_encode(v, False))
                   for k, v in req.params.items() if k != "x-oss-signature")
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


def v4_signature(secret: str, req: SignedRequest, scope: str, additional: list[str], timestamp: str | None = None) -> str:
    """``scope`` is ``DATE/REGION/PRODUCT/aliyun_v4_request`` as the client put it in Credential;
    ``timestamp`` is x-oss-date (header, or query for a presigned URL)."""
    date, region, product, _ = scope.split("/")
    stamp = req.headers.get("x-oss-date", "") if timestamp is None else timestamp
    string_to_sign = "\n".join(
        [V4_SCHEME, stamp, scope, hashlib.sha256(v4_canonical_request(req, additional)).hexdigest()]
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
    if "AdditionalHeaders" in fields and not fields["AdditionalHeaders"]:
        raise InvalidArgument("AdditionalHeaders in the Authorization header is empty.", ec="0002-00000209")
    additional = [h for h in fields.get("AdditionalHeaders", "").split(";") if h]
    return key_id, scope, fields["Signature"], additional


def _v4_time(stamp: str) -> float:
    try:
        return datetime.strptime(stamp, V4_DATE_FORMAT).replace(tzinfo=timezone.utc).timestamp()
    except ValueError as exc:
        raise AccessDenied("OSS authentication requires a valid x-oss-date.") from exc


def _header_claim(req: SignedRequest) -> Claim:
    authorization = req.headers.get("authorization", "")
    token = req.headers.get(TOKEN_HEADER)
    if authorization.startswith(V4_SCHEME):
        key_id, scope, signature, additional = _parse_v4(authorization)
        return Claim("4", key_id, signature, token, req.headers.get("x-oss-date", ""), scope=scope,
                     additional=tuple(additional))
    key_id, _, signature = authorization[4:].rpartition(":")
    date = req.headers.get("x-oss-date", "") or req.headers.get("date", "")
    return Claim("1", key_id, signature, token, date)


def _query_claim(req: SignedRequest) -> Claim | None:
    """The claim of a presigned URL, or None when the query carries no signature."""
    q = req.params
    if "x-oss-signature" in q:
        key_id, _, scope = q.get("x-oss-credential", "").partition("/")
        expires = q.get("x-oss-expires", "")
        if not key_id or scope.count("/") != 3 or not expires.isdigit():
            raise AccessDenied("The presigned URL lacks x-oss-credential or x-oss-expires.")
        stamp = q.get("x-oss-date", "")
        additional = tuple(h for h in q.get("x-oss-additional-headers", "").split(";") if h)
        return Claim("4", key_id, q["x-oss-signature"], q.get("x-oss-security-token"), stamp, presigned=True,
                     expires_at=_v4_time(stamp) + int(expires), scope=scope, additional=additional)
    if "Signature" in q and "OSSAccessKeyId" in q:
        expires = q.get("Expires", "")
        if not expires.isdigit():
            raise AccessDenied("The presigned URL lacks a valid Expires.")
        return Claim("1", q["OSSAccessKeyId"], q["Signature"], q.get("security-token"), expires, presigned=True,
                     expires_at=float(expires))
    return None


def claim_of(req: SignedRequest) -> Claim:
    """Who says they signed ``req``: the Authorization header first, else a presigned query."""
    authorization = req.headers.get("authorization", "")
    if authorization.startswith((V4_SCHEME, "OSS ")):
        return _header_claim(req)
    claim = _query_claim(req)
    if claim is None:
        raise AccessDenied("You have no right to access this object because of bucket acl.")
    return claim


def request_time(claim: Claim) -> float:
    """The moment a header-signed request says it was made; AccessDenied when it says none."""
    if claim.version == "4":
        return _v4_time(claim.timestamp)
    try:
        moment = parsedate_to_datetime(claim.timestamp)
    except (TypeError, ValueError, IndexError) as exc:
        raise AccessDenied("OSS authentication requires a valid Date.") from exc
    return moment.timestamp() if moment.tzinfo else moment.replace(tzinfo=timezone.utc).timestamp()


def check_time(claim: Claim, server_now: float, max_skew: float = MAX_SKEW) -> None:
    """Presigned: not expired (a V4 x-oss-date may run ``max_skew`` ahead). Header-signed: not
    more than ``max_skew`` from the server's time."""
    if claim.presigned:
        assert claim.expires_at is not None
        if server_now > claim.expires_at:
            raise AccessDenied("Request has expired.", ec="0002-00000069")
        if claim.version == "4" and _v4_time(claim.timestamp) > server_now + max_skew:
            raise RequestTimeTooSkewed.at(claim.timestamp, server_now)
        return
    if abs(request_time(claim) - server_now) > max_skew:
        raise RequestTimeTooSkewed.at(claim.timestamp, server_now)


def check_region(claim: Claim, region: str) -> None:
    if claim.version == "4" and claim.scope.split("/")[1] != region:
        raise InvalidArgument("The signing region in credential is invalid.", ec="0002-00000228")


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


def expected_signature(claim: Claim, secret: str, req: SignedRequest) -> str:
    if claim.version == "4":
        return v4_signature(secret, req, claim.scope, list(claim.additional), claim.timestamp)
    return v1_signature(secret, req, claim.timestamp if claim.presigned else None)


def authenticate(
    req: SignedRequest, store: CredentialStore, now: float, *, server_now: float, region: str
) -> AuthResult:
    """Who signed ``req``; raises the OSS wire error OSS would answer otherwise. ``now`` judges
    credential expiry, ``server_now`` the request's own time (see the module docstring)."""
    claim = claim_of(req)
    check_time(claim, server_now)
    check_region(claim, region)
    creds = _check_set(store.lookup(claim.key_id), claim.key_id, claim.token, now)
    expected = expected_signature(claim, creds.access_key_secret, req)
    if not hmac.compare_digest(expected.encode(), claim.signature.encode("utf-8", "replace")):
        raise SignatureDoesNotMatch("The request signature we calculated does not match the signature you provided.",
                                    access_key_id=claim.key_id, credentials_valid=True)
    return AuthResult(claim.key_id, claim.version)
