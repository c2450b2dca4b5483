"""The bucket client: oss2 over our refreshing credentials, with oss2/requests errors mapped
to ours at this one boundary.

oss2 calls the provider's ``get_credentials()`` for every signed request, so the adapter
hands it one frozen snapshot each time and a long listing refreshes without rebuilding the
Bucket (facts.md §5). Everything is validated before the first network call; oss2's logger,
which dumps Authorization and x-oss-security-token headers at DEBUG, is silenced for good.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
import time
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

import oss2
import oss2.credentials
import oss2.exceptions
import requests
import requests.adapters
import urllib3.exceptions

from osslist.backoff import (
    DEFAULT_RETRY_BUDGET,
    TRANSIENT_STATUSES,
    BackoffPolicy,
    RetriesExhausted,
    RetryPolicy,
    retry,
)
from osslist.clock import ServerClock, make_auth
from osslist.credentials import Credentials, Provider
from osslist.errors import CredentialsError, OssError, OssRefused, OssUnavailable, UsageError

# Every pattern here is used with fullmatch: "$" would also accept a trailing newline.
BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
REGION_RE = re.compile(r"[a-z0-9-]{2,40}")
REGION_FROM_HOST_RE = re.compile(r"oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com")
_HOST_LABEL_RE = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
REFRESH_CODES = frozenset({"SecurityTokenExpired", "InvalidAccessKeyId", "InvalidSecurityToken"})
# What OSS sends when it throttles (its "HTTP status code 503" and "429" pages, and the EC of
# the per-account QPS limit): retried for the whole budget, and said once on stderr.
THROTTLE_CODES = frozenset({
    "SlowDown", "ServiceUnavailable", "QpsLimitExceeded", "TotalQpsLimitExceeded",
    "MetaOperationQpsLimitExceeded", "ActiveRequestLimitExceeded", "CpuLimitExceeded",
    "DownloadTrafficRateLimitExceeded", "UploadTrafficRateLimitExceeded",
})
THROTTLE_ECS = frozenset({"0004-00000302"})
NETWORK_ERRORS = (oss2.exceptions.RequestError, requests.RequestException, urllib3.exceptions.HTTPError, OSError)
DEFAULT_POLICY = BackoffPolicy(max_attempts=None, base=0.2, cap=5.0, deadline=DEFAULT_RETRY_BUDGET)
# 5xx, 429 and throttling codes: until the budget runs out; no reply at all (refused, reset,
# timed out): 6 tries, so a wrong endpoint fails in seconds, not after the whole budget.
OSS_RETRY = RetryPolicy(
    backoff=DEFAULT_POLICY,
    statuses=TRANSIENT_STATUSES,
    codes=THROTTLE_CODES,
    exceptions=NETWORK_ERRORS,
    replyless_attempts=6,
    throttle_codes=THROTTLE_CODES,
    throttle_ecs=THROTTLE_ECS,
)
LISTING_BODY_CAP = 64 * 1024 * 1024
MAX_RETRY_BUDGET = 86400.0
_READ_CHUNK = 256 * 1024  # a 1000-key page is ~350 KB: two reads, and the cap still checked per read
_SAFE_TOKEN_RE = re.compile(r"[A-Za-z0-9._-]{1,80}")
_THIRD_PARTY_LOGGERS = ("urllib3", "requests")

log = logging.getLogger(__name__)
T = TypeVar("T")


class _DropAll(logging.Filter):
    """Refuses every record: oss2 formats request and response headers into its messages."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def silence_third_party_logs() -> None:
    """Keep oss2's header dumps and urllib3's debug lines out of every log, even with ``-v``.

    The level on ``oss2`` stops its children too (they inherit it); the filter also stops a
    child whose level someone set explicitly. Idempotent.
    """
    names = ["oss2"] + [n for n in logging.root.manager.loggerDict if n.startswith("oss2.")]
    for name in names:
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL + 1)
        if not any(isinstance(f, _DropAll) for f in logger.filters):
            logger.addFilter(_DropAll())
    for name in _THIRD_PARTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET too: a DEBUG root must not reach them
            logger.setLevel(logging.WARNING)


class Oss2CredentialsAdapter(oss2.credentials.CredentialsProvider):
    """oss2's ``CredentialsProvider`` over one of ours: each call builds oss2's value from ONE
    snapshot, and remembers (per thread) which set signed the request, so a refresh after a
    token error can tell whether another thread already replaced it."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self._last = threading.local()

    def __repr__(self) -> str:
        return f"Oss2CredentialsAdapter({self.provider!r})"

    def get_credentials(self) -> oss2.credentials.Credentials:
        snapshot = self.provider.get_credentials()
        self._last.value = snapshot
        return oss2.credentials.Credentials(
            snapshot.access_key_id, snapshot.access_key_secret, snapshot.security_token or ""
        )

    def last_used(self) -> Credentials | None:
        """The snapshot that signed this thread's latest request."""
        return getattr(self._last, "value", None)


def validate_bucket_name(bucket: str) -> str:
    """OSS rules: 3-63 characters of lowercase letters, digits and hyphens, alphanumeric ends."""
    if not BUCKET_RE.fullmatch(bucket or ""):
        raise UsageError(
            f"invalid bucket name {bucket!r}: 3-63 lowercase letters, digits or hyphens, "
            "starting and ending with a letter or digit"
        )
    return bucket


def normalize_endpoint(endpoint: str) -> str:
    """``scheme://host[:port]``; a scheme-less endpoint means https (oss2 would use http).

    The host is a DNS name or an IP literal (IPv6 in brackets: ``http://[::1]:8080``); port 0
    is refused rather than silently dropped (it would mean port 80 or 443)."""
    raw = (endpoint or "").strip()
    if not raw.isprintable() or " " in raw:  # urlsplit would drop a tab or newline silently
        raise UsageError(f"invalid endpoint {raw!r}: spaces or control characters")
    url = raw if "://" in raw else f"https://{raw}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"invalid endpoint {raw!r}: bad host or port") from exc
    if parts.username or parts.password:
        raise UsageError("invalid endpoint: it must not carry user:password@")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"invalid endpoint {raw!r}: expected [https://]HOST[:PORT]")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageError(f"invalid endpoint {raw!r}: expected no path or query")
    if port == 0:
        raise UsageError(f"invalid endpoint {raw!r}: port 0 (give the port the server listens on)")
    host = _endpoint_host(raw, parts.hostname)
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def _endpoint_host(raw: str, hostname: str) -> str:
    """The host as it goes in a URL: an IP literal (IPv6 bracketed) or a DNS name of dotted
    labels; anything else (a space, a stray character) is refused before any request."""
    try:
        address = ipaddress.ip_address(hostname if "%" not in hostname else "")  # no IPv6 zone id
    except ValueError:
        labels = hostname.split(".")
        if len(hostname) > 253 or not all(_HOST_LABEL_RE.fullmatch(label) for label in labels):
            raise UsageError(f"invalid endpoint {raw!r}: {hostname!r} is not a host name or IP address") from None
        return hostname
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def region_of(endpoint: str) -> str | None:
    """``cn-hangzhou`` from ``oss-cn-hangzhou[-internal].aliyuncs.com``; None otherwise."""
    host = urlsplit(endpoint).hostname or ""
    match = REGION_FROM_HOST_RE.fullmatch(host)
    return match.group(1) if match else None


class BucketClient:
    """One bucket on one endpoint: ``get_listing_page(params) -> bytes`` with its retries."""

    def __init__(
        self,
        *,
        bucket: oss2.Bucket,
        http: OssHttpSession,
        adapter: Oss2CredentialsAdapter,
        endpoint: str,
        region: str | None,
        signature_version: int,
        retry_policy: RetryPolicy = OSS_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bucket_name: str = bucket.bucket_name
        self.endpoint = endpoint
        self.region = region
        self.signature_version = signature_version
        self.provider = adapter.provider
        self._bucket = bucket
        self._http = http
        self._adapter = adapter
        self._retry = retry_policy
        self._sleep = sleep
        self._clock = clock
        # OSS's clock as learned from RequestTimeTooSkewed; the signer dates requests with it.
        self.server_clock: ServerClock = getattr(bucket.auth, "server_clock", None) or ServerClock()
        self._note_lock = threading.Lock()
        self._throttling_said = False

    def __repr__(self) -> str:
        return f"BucketClient(bucket={self.bucket_name!r}, endpoint={self.endpoint!r})"

    @property
    def requests_made(self) -> int:
        """Requests sent to OSS so far, from every thread: retries included, and every call made
        through this client (listing pages, ListParts, object calls), counted where they leave."""
        return self._http.requests_sent

    @property
    def retry_policy(self) -> RetryPolicy:
        """What this client retries and for how long (``--retry-budget``)."""
        return self._retry

    def get_listing_page(self, params: dict[str, str]) -> bytes:
        """One signed ``GET /?<params>``, retried under the OSS retry policy (the same request
        again, so nothing is skipped or duplicated): 5xx, 429 and throttling until the budget
        runs out, network errors a few times. Any other refusal raises :class:`OssRefused`.

        The budget is per call, that is per page: a page that succeeds starts the next one
        with the whole budget again, so a range that makes progress never runs out.
        """
        try:
            return self.retrying(lambda: self._send(params))
        except oss2.exceptions.ServerError as exc:
            raise self._error(OssRefused, exc, action=listing_action(params)) from _scrubbed(exc)
        except RetriesExhausted as gave_up:
            last = gave_up.last if isinstance(gave_up.last, Exception) else None
            raise self._error(OssUnavailable, last, gave_up=gave_up) from _scrubbed(last)

    def retrying(self, send: Callable[[], T], policy: RetryPolicy | None = None) -> T:
        """``send()`` (one signed oss2 call) under ``policy`` (default this client's), with the
        one recovery a refusal allows per call and the throttling note. Raises what is not
        retried unchanged (oss2's errors, ours) and :class:`RetriesExhausted`; the caller maps
        them. The listing and ``ossobjects`` both send through here."""
        recovery = _Recovery()
        chosen = policy or self._retry
        return retry(lambda: self._send_signed(send, recovery), chosen, sleep=self._sleep, clock=self._clock,
                     on_retry=lambda last: self._note_retry(last, chosen))

    def _send_signed(self, send: Callable[[], T], recovery: _Recovery) -> T:
        """Send one signed request, with the recoveries a refusal allows, each once per call
        and sent again at once (OSS executed nothing): a key or token error forces a credential
        refresh; RequestTimeTooSkewed teaches the signer OSS's clock (clock.py). oss2 errors
        are otherwise raised as they are; the retry policy and the caller sort them."""
        while True:
            try:
                return send()
            except oss2.exceptions.ServerError as exc:
                if not self._recover(exc, recovery):
                    raise

    def _recover(self, exc: oss2.exceptions.ServerError, recovery: _Recovery) -> bool:
        """Apply the cure for ``exc`` if this call has not used it yet; True when applied."""
        if exc.code in REFRESH_CODES and not recovery.refreshed:
            recovery.refreshed = True
            self.refresh_credentials()
            return True
        if not recovery.skew_corrected and self.server_clock.corrected(exc):
            recovery.skew_corrected = True
            return True
        return False

    def _note_retry(self, last: object, policy: RetryPolicy) -> None:
        """Before each retry: a debug line, and the first time OSS throttles, one warning."""
        log.debug("retrying a request on bucket %s after %s", self.bucket_name, _describe(last))
        if self._throttling_said or not policy.throttling(last):
            return
        with self._note_lock:
            if self._throttling_said:
                return
            self._throttling_said = True
        log.warning(
            "OSS is throttling requests (%s); backing off and retrying each request for up to "
            "%g s (--retry-budget)", _describe(last), policy.budget,
        )

    @property
    def oss2_bucket(self) -> oss2.Bucket:
        """The signed oss2 Bucket (this client's credentials, session and no-redirect rule), for
        the object calls of ``ossobjects``."""
        return self._bucket

    def close(self) -> None:
        """Close the pooled connections. The Python API's listings do when they end, so a
        long-lived script keeps no socket per listing; a connection still in use by a request
        is closed when that request ends."""
        self._bucket.session.session.close()

    def refresh_credentials(self) -> None:
        """Force one refresh of the set that signed this thread's last request (after a key or
        token error), unless another thread already replaced it."""
        self.provider.force_refresh(self._adapter.last_used())

    def _send(self, params: dict[str, str]) -> bytes:
        response = self._bucket._do("GET", self.bucket_name, "", params=dict(params))
        chunks: list[bytes] = []
        size = 0
        # oss2's own iteration reads 8 KiB at a time: ~40 trips through urllib3 per page
        for chunk in response.response.iter_content(_READ_CHUNK):
            size += len(chunk)
            if size > LISTING_BODY_CAP:
                response.response.close()
                raise OssUnavailable(
                    f"GET / on bucket {self.bucket_name} at {self.endpoint}: listing body over "
                    f"{LISTING_BODY_CAP} bytes", bucket=self.bucket_name, endpoint=self.endpoint,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _error(
        self, kind: type[OssError], exc: Exception | None, *, gave_up: RetriesExhausted | None = None,
        action: str | None = None,
    ) -> OssError:
        """Our error for an oss2/requests failure: bucket, endpoint, status, code, request id;
        never the body (OSS error bodies can echo the security token). A 403 names ``action``,
        the RAM action the request needed (least privilege: what to add to the policy)."""
        status = getattr(exc, "status", None)
        status = status if isinstance(status, int) and status > 0 else None
        code = _safe(getattr(exc, "code", None))
        request_id = _safe(getattr(exc, "request_id", None))
        prefix = "" if gave_up is None else gave_up_text(gave_up, self._retry.budget)
        message = (
            f"GET / on bucket {self.bucket_name} at {self.endpoint}: {prefix}{_describe(exc)}, "
            f"request id {request_id or 'none'}"
        )
        message += missing_action(status, code, action)
        return kind(message, status=status, code=code, request_id=request_id,
                    bucket=self.bucket_name, endpoint=self.endpoint)


def listing_action(params: dict[str, str]) -> str:
    """The RAM action a bucket GET with these query parameters needs."""
    if "versions" in params:
        return "oss:ListObjectVersions"
    if "uploads" in params:
        return "oss:ListMultipartUploads"
    return "oss:ListObjects"


class _Recovery:
    """What one call has already tried to cure (a credential refresh, the clock skew)."""

    __slots__ = ("refreshed", "skew_corrected")

    def __init__(self) -> None:
        self.refreshed = False
        self.skew_corrected = False


def missing_action(status: int | None, code: str | None, action: str | None) -> str:
    """"; the role needs ACTION" for a 403 AccessDenied (least privilege: what to add to the
    policy); nothing for other refusals (a bad key, a skewed clock are not a missing action)."""
    return f"; the role needs {action}" if status == 403 and code == "AccessDenied" and action else ""


def gave_up_text(gave_up: RetriesExhausted, budget: float) -> str:
    """``gave up after 57 tries in 298.1 s (retry budget 300 s): ``, the start of an error line."""
    return f"gave up after {gave_up.tries} tries in {gave_up.elapsed:.1f} s (retry budget {budget:g} s): "


def _describe(outcome: object) -> str:
    """``HTTP 503 ServiceUnavailable`` or ``network error (ConnectionError)``; no body, ever."""
    status = getattr(outcome, "status", None)
    if not isinstance(status, int) or status <= 0:
        return f"network error ({type(getattr(outcome, 'exception', outcome)).__name__})"
    code = _safe(getattr(outcome, "code", None))
    return f"HTTP {status} {code or 'no error code'}"


def _scrubbed(exc: Exception | None) -> Exception | None:
    """The oss2 error without its body, message or odd details, before it is chained: with
    ``-v`` the CLI prints the cause, and an OSS error body can echo the security token."""
    if isinstance(exc, oss2.exceptions.OssError) and not isinstance(exc, oss2.exceptions.RequestError):
        details = exc.details if isinstance(exc.details, dict) else {}
        exc.details = {k: v for k, v in details.items() if k in ("Code", "RequestId", "HostId", "EC")
                       and _safe(v) is not None}
        exc.body, exc.message = b"", ""
        exc.headers = {"x-oss-request-id": exc.request_id} if _safe(exc.request_id) else {}
        exc.args = (exc.status, exc.headers, exc.body, exc.details)
    return exc


def _safe(value: Any) -> str | None:
    """A server-sent code or request id, only when it looks like one (nothing echoed)."""
    return value if isinstance(value, str) and _SAFE_TOKEN_RE.fullmatch(value) else None


def make_bucket_client(
    bucket: str,
    endpoint: str,
    provider: Provider,
    *,
    region: str | None = None,
    signature_version: int = 4,
    connect_timeout: float = 5.0,
    read_timeout: float = 30.0,
    pool_size: int = 10,
    policy: BackoffPolicy = DEFAULT_POLICY,
    retry_budget: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> BucketClient:
    """Validate everything (UsageError, no network call), then build the oss2 Bucket.

    V4 signing needs a region: from ``oss-<region>[-internal].aliyuncs.com`` or ``region``.
    One ``oss2.Session`` carries a pool of ``pool_size`` connections for all threads.
    ``policy`` sets the backoff delays; ``retry_budget`` (seconds) replaces its deadline.
    """
    validate_bucket_name(bucket)
    url = normalize_endpoint(endpoint)
    if signature_version not in (1, 4):
        raise UsageError(f"unsupported signature version {signature_version}: use 1 or 4")
    region = _signing_region(region, url)
    if signature_version == 4 and not region:
        raise UsageError(
            f"signature V4 needs a region: the endpoint {url} does not name one "
            "(oss-<region>.aliyuncs.com); pass --region or use --signature-version 1"
        )
    if pool_size < 1 or connect_timeout <= 0 or read_timeout <= 0:
        raise UsageError("pool size and timeouts must be positive")
    retry_policy = _oss_retry(policy, retry_budget)
    silence_third_party_logs()
    adapter = Oss2CredentialsAdapter(provider)
    auth = make_auth(adapter, signature_version, ServerClock())
    http = OssHttpSession(url, pool_size)
    oss_bucket = _oss2_bucket(auth, url, bucket, session=oss_session(http, pool_size),
                              connect_timeout=(connect_timeout, read_timeout), region=region)
    return BucketClient(bucket=oss_bucket, http=http, adapter=adapter, endpoint=url, region=region,
                        signature_version=signature_version, retry_policy=retry_policy,
                        sleep=sleep, clock=clock)


# -- the seam to oss2 and requests ----------------------------------------------------------------
#
# The one private call is ``oss2.Bucket._do(method, bucket_name, key, **kwargs)`` in
# ``BucketClient._send``: it signs and sends a request and raises oss2's exceptions, but leaves
# the body unparsed, so pages.py's expat pass replaces oss2's ElementTree parsing (CONTRIBUTING
# says why). pyproject pins the oss2 versions it is tested with; tests/test_client.py fails
# when its signature or behaviour changes. The HTTP settings below go through oss2's public
# ``Session`` (whose ``session`` attribute is the requests.Session it sends with) and requests'
# documented extension points; nothing is patched on an instance.


class OssHttpSession(requests.Session):
    """The requests session under oss2: never follows a redirect, reads the environment once.

    ``get_redirect_target`` is requests' hook for "where does this response redirect to":
    answering None hands a 3xx back to oss2, which raises it as a refusal. oss2 does not pass
    ``allow_redirects``, and requests, on a redirect to another host, strips only
    ``Authorization``: ``x-oss-security-token`` would follow. OSS never redirects a listing,
    so a 3xx comes from a wrong endpoint or someone in the path.
    """

    def __init__(self, url: str, pool_size: int) -> None:
        super().__init__()
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        settle_environment(self, url)
        self._sent_lock = threading.Lock()
        self._sent = 0

    @property
    def requests_sent(self) -> int:
        """Requests handed to the network so far (each retry, each page of ListParts), every thread."""
        with self._sent_lock:
            return self._sent

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # Any: requests' own
        with self._sent_lock:
            self._sent += 1
        return super().send(request, **kwargs)

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None


def oss_session(http: OssHttpSession, pool_size: int) -> oss2.Session:
    """oss2's Session carrying ``http`` (one pool for every thread)."""
    session = oss2.Session(pool_size=pool_size)
    session.session = http
    return session


def _oss2_bucket(auth: oss2.AuthBase, url: str, bucket: str, **kwargs: Any) -> oss2.Bucket:  # Any: Bucket's own
    """oss2's Bucket on ``url``. oss2's endpoint check cannot read an IPv6 literal (its
    normaliser drops the brackets), so that Bucket is built on a stand-in IPv4 endpoint, then
    given the real one: its URL maker already takes a bracketed IPv6 host for an IP (path style)."""
    parts = urlsplit(url)
    if ":" not in (parts.hostname or ""):
        return oss2.Bucket(auth, url, bucket, **kwargs)
    oss_bucket = oss2.Bucket(auth, f"{parts.scheme}://127.0.0.1", bucket, **kwargs)
    oss_bucket.endpoint = url
    oss_bucket._make_url = type(oss_bucket._make_url)(url, False, False)
    return oss_bucket


def _oss_retry(backoff: BackoffPolicy, budget: float | None) -> RetryPolicy:
    """OSS_RETRY with these delays, and ``budget`` seconds (checked) instead of their deadline."""
    policy = OSS_RETRY.with_backoff(backoff)
    if budget is None:
        return policy
    if not 0 <= budget <= MAX_RETRY_BUDGET:  # NaN fails this too
        raise UsageError(f"--retry-budget must be between 0 and {MAX_RETRY_BUDGET:g} seconds")
    return policy.with_budget(budget)


def _signing_region(region: str | None, url: str) -> str | None:
    """The region V4 signs with: the one given (checked), else the endpoint's. A given region
    that contradicts the endpoint's is used as asked, with a warning: OSS would refuse the
    signature, and the warning says why before the 403 does."""
    if region is None:
        return region_of(url)
    if not REGION_RE.fullmatch(region):
        raise UsageError(f"invalid region {region!r}: e.g. cn-hangzhou")
    named = region_of(url)
    if named is not None and named != region:
        log.warning("--region %s contradicts the endpoint %s, which is in region %s; signing with %s",
                    region, url, named, region)
    return region


def settle_environment(session: requests.Session, url: str) -> None:
    """Read once what requests would otherwise re-read from the environment for every request.

    With ``trust_env`` on, each request scans ``os.environ`` twice for proxy variables and
    looks for a ``.netrc`` (a tenth of a listing request's CPU). The proxies (``NO_PROXY``
    applied to this endpoint) and the CA bundle variables are resolved here, once, so they
    are still honoured; ``.netrc`` no longer is, which is wanted: its Basic credentials would
    replace the OSS signature in the Authorization header.
    """
    settings = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies = dict(settings["proxies"])
    session.verify = settings["verify"]
    session.trust_env = False


def describe_identity(provider: Provider) -> dict[str, Any]:
    """What ``osslist whoami`` prints: source, role name, masked key id, expiration, hardened
    mode. Fetches credentials first (CredentialsError when there are none); no secret."""
    provider.get_credentials()
    info: dict[str, Any] = {"source": None, "role_name": None, "access_key_id": None,
                            "expiration": None, "hardened_mode": None}
    info.update(provider.describe())
    return info


# For ossobjects, which maps its own oss2 errors the same way.
scrubbed = _scrubbed
safe_text = _safe
describe_failure = _describe

__all__ = [
    "BucketClient",
    "NETWORK_ERRORS",
    "OSS_RETRY",
    "Oss2CredentialsAdapter",
    "OssHttpSession",
    "describe_failure",
    "describe_identity",
    "gave_up_text",
    "make_bucket_client",
    "normalize_endpoint",
    "oss_session",
    "region_of",
    "silence_third_party_logs",
    "validate_bucket_name",
]
