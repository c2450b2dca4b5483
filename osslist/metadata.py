"""Client of the instance metadata server: the pod's RAM role name and its STS credentials.

Written against the official SDKs' weak spots (facts.md §1): its own ``httpx.Client`` with
``trust_env=False`` (a proxy variable must never see a metadata request), no redirects (a
3xx is an error and its target is never contacted), short timeouts with bounded retries and
backoff, response bodies read in chunks and abandoned past a small cap, the role name checked
before it goes into a URL path, and hardened mode (a session token) tried first.

httpx errors are translated into :class:`~osslist.errors.MetadataError` here and only here.
Messages carry method, path and status, never a body.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

import httpx

from osslist.backoff import BackoffPolicy, RetriesExhausted, RetryPolicy, retry
from osslist.errors import MetadataError, UsageError

DEFAULT_ENDPOINT = "http://100.100.100.200"
TOKEN_PATH = "/latest/api/token"
ROLE_PATH = "/latest/meta-data/ram/security-credentials/"
TOKEN_TTL_HEADER = "X-aliyun-ecs-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aliyun-ecs-metadata-token"

SMALL_BODY_CAP = 1024
CREDENTIALS_BODY_CAP = 64 * 1024
DEFAULT_TIMEOUT = httpx.Timeout(2.0, connect=1.0)
# The whole body of one answer, however it trickles in (tiny documents: well under a second).
BODY_READ_BUDGET = 10.0
DEFAULT_POLICY = BackoffPolicy(max_attempts=8, base=0.5, cap=5.0, deadline=30.0)
DEFAULT_TOKEN_TTL = 21600
# Reuse a token for this share of its TTL, then fetch a new one before it can expire mid-call.
TOKEN_REUSE_FRACTION = 0.8

ROLE_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")  # fullmatch: "$" accepts a trailing newline
NO_ROLE_MESSAGE = (
    "no RAM role attached to this pod: add the annotation k8s.aliyun.com/eci-ram-role-name "
    "to the pod template"
)
_EXPIRATION_RE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-]00:?00)?"
)
_CREDENTIAL_FIELDS = ("AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration")


def env_flag(environ: Mapping[str, str], name: str) -> bool:
    """True when an SDK-convention boolean variable is set to true (case-insensitive)."""
    return environ.get(name, "").strip().lower() == "true"


def parse_expiration(text: Any) -> datetime:
    """Parse an Alibaba ``Expiration`` as an aware UTC datetime, lenient about fractions.

    The servers send ``%Y-%m-%dT%H:%M:%SZ``; some SDK fixtures add milliseconds or ``+00:00``.
    A naive time is taken as UTC, which is what every Alibaba credential endpoint means.
    """
    match = _EXPIRATION_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError("Expiration is not an ISO 8601 UTC time")
    day, clock, fraction, _zone = match.groups()
    parsed = datetime.strptime(f"{day}T{clock}", "%Y-%m-%dT%H:%M:%S")
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    return parsed.replace(tzinfo=timezone.utc) + timedelta(microseconds=micros)


def check_role_name(raw: str, *, origin: str, error: type[Exception] = MetadataError) -> str:
    """Strip, keep the first line, and check the role name before it enters a URL path.

    A name the server sent is a metadata failure; one the user configured is bad input
    (``error=UsageError``: exit 2, nothing sent).
    """
    lines = raw.strip().splitlines()
    name = lines[0].strip() if lines else ""
    if not ROLE_NAME_RE.fullmatch(name):
        raise error(
            f"invalid RAM role name from {origin}: expected 1-64 characters of A-Z a-z 0-9 . _ -"
        )
    return name


@dataclass(frozen=True)
class RoleCredentials:
    """One validated credential set from the metadata server; the secret parts never print."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str = field(repr=False)
    expiration: datetime
    server_date: str | None = field(default=None, compare=False)
    """The answer's HTTP ``Date`` (the server's clock), to judge expiry when the local clock is off."""


def credentials_from_document(
    doc: Any, *, what: str, error: type[Exception], server_date: str | None = None
) -> RoleCredentials:
    """Validate a credentials JSON object (metadata or STS) and build the value.

    Shared by the metadata and RRSA sources: every field must be a non-empty string and
    ``Expiration`` must parse. The message names the missing field, never a value.
    """
    if not isinstance(doc, dict):
        raise error(f"{what}: credentials document is not a JSON object")
    for name in _CREDENTIAL_FIELDS:
        if not isinstance(doc.get(name), str) or not doc[name]:
            raise error(f"{what}: credentials document lacks {name}")
    try:
        expiration = parse_expiration(doc["Expiration"])
    except ValueError as exc:
        raise error(f"{what}: credentials Expiration is not an ISO 8601 UTC time") from exc
    return RoleCredentials(
        access_key_id=doc["AccessKeyId"],
        access_key_secret=doc["AccessKeySecret"],
        security_token=doc["SecurityToken"],
        expiration=expiration,
        server_date=server_date,
    )


@dataclass(frozen=True)
class Reply:
    """A status and a capped body: what the retry policy looks at (``status``)."""

    status: int
    body: bytes
    date: str | None = None


class _TokenUnavailable(Exception):
    """The PUT for a session token failed in a way that allows falling back to tokenless."""


class MetadataClient:
    """Role discovery and credential fetches against one metadata server.

    ``hardened`` tells afterwards whether the last fetch used a session token (True), fell back
    to tokenless access (False), or nothing was fetched yet (None). Thread-safe: the token
    cache sits under a lock; callers serialise credential refreshes anyway.
    """

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        environ: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        policy: BackoffPolicy = DEFAULT_POLICY,
        token_ttl: int = DEFAULT_TOKEN_TTL,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        env = os.environ if environ is None else environ
        base = endpoint or env.get("ALIBABA_CLOUD_IMDS_ENDPOINT") or DEFAULT_ENDPOINT
        self.endpoint = _check_endpoint(base)
        self.allow_tokenless = not env_flag(env, "ALIBABA_CLOUD_IMDSV1_DISABLED")
        self.hardened: bool | None = None
        self._retry = RetryPolicy(backoff=policy, exceptions=(_NetworkFailure,))
        self._token_ttl = token_ttl
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_deadline = 0.0
        self._http = httpx.Client(
            base_url=self.endpoint,
            transport=transport,
            timeout=timeout,
            trust_env=False,
            follow_redirects=False,
            # Ask for no compression; bytes are counted after decoding anyway.
            headers={"Accept-Encoding": "identity"},
        )

    def __repr__(self) -> str:
        return f"MetadataClient(endpoint={self.endpoint!r}, hardened={self.hardened!r})"

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def discover_role_name(self) -> str:
        """Ask the server which RAM role the instance (pod) carries."""
        reply = self._get(ROLE_PATH, cap=SMALL_BODY_CAP)
        if reply.status == 404:
            raise MetadataError(NO_ROLE_MESSAGE)
        self._require_ok("GET", ROLE_PATH, reply)
        return check_role_name(reply.body.decode("utf-8", "replace"), origin="the metadata server")

    def fetch_credentials(self, role_name: str) -> RoleCredentials:
        """Fetch and validate the role's current credential set."""
        role = check_role_name(role_name, origin="the configured role name")
        path = ROLE_PATH + role
        reply = self._get(path, cap=CREDENTIALS_BODY_CAP)
        if reply.status == 404:
            raise MetadataError(
                f"GET {path}: 404: RAM role {role!r} is not attached to this instance or pod; "
                "check the role name and the pod annotation k8s.aliyun.com/eci-ram-role-name"
            )
        self._require_ok("GET", path, reply)
        return _parse_credentials(reply.body, path, reply.date)

    # -- hardened mode -------------------------------------------------------------------

    def _get(self, path: str, *, cap: int) -> Reply:
        """GET with the session token when available. A 401 (or a 403 to a tokenless GET)
        renews the token, or the tokenless decision, once."""
        token = self._current_token()
        reply = self._send("GET", path, headers=_token_headers(token), cap=cap)
        if reply.status == 401 or (reply.status == 403 and token is None):
            token = self._current_token(renew=True)
            reply = self._send("GET", path, headers=_token_headers(token), cap=cap)
        if reply.status in (401, 403) and token is None:
            raise MetadataError(
                f"GET {path}: {reply.status}: the metadata server refused tokenless access "
                "(hardened mode required?) and no session token could be obtained"
            )
        return reply

    def _current_token(self, *, renew: bool = False) -> str | None:
        """The cached session token (None: tokenless, also cached), renewed when mostly used up."""
        with self._lock:
            if not renew and self.hardened is not None and self._clock() < self._token_deadline:
                return self._token
            try:
                token: str | None = self._fetch_token()
            except _TokenUnavailable as exc:
                if not self.allow_tokenless:
                    raise MetadataError(
                        f"hardened mode unavailable ({exc}) and ALIBABA_CLOUD_IMDSV1_DISABLED=true "
                        "forbids tokenless access to the metadata server"
                    ) from exc
                token = None
            self._token, self.hardened = token, token is not None
            self._token_deadline = self._clock() + self._token_ttl * TOKEN_REUSE_FRACTION
            return token

    def _fetch_token(self) -> str:
        headers = {TOKEN_TTL_HEADER: str(self._token_ttl)}
        try:
            reply = self._send("PUT", TOKEN_PATH, headers=headers, cap=SMALL_BODY_CAP, retry_network=False)
        except _NetworkFailure as exc:
            raise _TokenUnavailable(f"PUT {TOKEN_PATH}: {exc.kind}") from exc
        if reply.status in (403, 404, 405):
            raise _TokenUnavailable(f"PUT {TOKEN_PATH}: {reply.status}")
        self._require_ok("PUT", TOKEN_PATH, reply)
        token = reply.body.decode("ascii", "replace").strip()
        if not token or len(token) > SMALL_BODY_CAP or not token.isprintable():
            raise MetadataError(f"PUT {TOKEN_PATH}: the metadata server returned an unusable token")
        return token

    # -- transport ------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        cap: int,
        retry_network: bool = True,
    ) -> Reply:
        """One request with bounded retries on 5xx, 429, timeouts and connection errors
        (not the last two for the token PUT: they mean "fall back to tokenless")."""
        policy = self._retry if retry_network else replace(self._retry, exceptions=())
        try:
            return retry(lambda: self._send_once(method, path, headers=headers, cap=cap), policy,
                         sleep=self._sleep, clock=self._clock)
        except RetriesExhausted as gave_up:
            last = gave_up.last
            what = last.kind if isinstance(last, _NetworkFailure) else f"HTTP {getattr(last, 'status', '?')}"
            raise MetadataError(
                f"{method} {path}: metadata server at {self.endpoint} kept failing ({what}); "
                "is the metadata server reachable from this pod?"
            ) from None

    def _send_once(self, method: str, path: str, *, headers: dict[str, str], cap: int) -> Reply:
        try:
            with self._http.stream(method, path, headers=headers) as response:
                if response.is_redirect or 300 <= response.status_code < 400:
                    raise MetadataError(
                        f"{method} {path}: {response.status_code}: the metadata server answered "
                        "with a redirect, which osslist never follows"
                    )
                body = read_capped(response, cap, what=f"{method} {path}", clock=self._clock)
                return Reply(response.status_code, body, response.headers.get("date"))
        except httpx.TimeoutException as exc:
            raise _NetworkFailure("timeout") from exc
        except httpx.TransportError as exc:
            raise _NetworkFailure(f"connection error: {type(exc).__name__}") from exc

    @staticmethod
    def _require_ok(method: str, path: str, reply: Reply) -> None:
        if reply.status != 200:
            raise MetadataError(f"{method} {path}: unexpected HTTP {reply.status} from the metadata server")


class _NetworkFailure(Exception):
    """A timeout or connection error, before it becomes a MetadataError after the retries."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _token_headers(token: str | None) -> dict[str, str]:
    return {TOKEN_HEADER: token} if token else {}


def read_capped(
    response: httpx.Response,
    cap: int,
    *,
    what: str,
    error: type[Exception] = MetadataError,
    budget: float = BODY_READ_BUDGET,
    clock: Callable[[], float] = time.monotonic,
) -> bytes:
    """Read at most ``cap`` bytes within ``budget`` seconds; stop (the connection is then
    dropped) once either is exceeded.

    A declared Content-Length over the cap is refused before a single body byte is read. The
    read timeout bounds each wait, not the whole body: a server dripping a byte a second would
    otherwise hold the caller for hours. Chunks are taken as they arrive (no re-chunking, which
    would wait for 4 KB before the clock is looked at).
    """
    too_big = error(f"{what}: response body larger than {cap} bytes; refusing to read it")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_big
    deadline = clock() + budget
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > cap:
            raise too_big
        if clock() > deadline:
            raise error(f"{what}: response body still arriving after {budget:g} s; giving up")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_credentials(body: bytes, path: str, date: str | None = None) -> RoleCredentials:
    what = f"GET {path}"
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise MetadataError(f"{what}: the metadata server returned invalid JSON") from exc
    code = doc.get("Code") if isinstance(doc, dict) else None
    if code != "Success":
        shown = code if isinstance(code, str) and code.isidentifier() and len(code) < 40 else "missing"
        raise MetadataError(f"{what}: the metadata server answered Code={shown}, not Success")
    return credentials_from_document(doc, what=what, error=MetadataError, server_date=date)


def _check_endpoint(url: str) -> str:
    """Accept only an http(s) URL with a host and no path, query or credentials; no space or
    control character (httpx would percent-encode one into the host) and no port 0."""
    if not url.strip().isprintable() or " " in url.strip():
        raise UsageError(f"invalid metadata endpoint {url.strip()!r}: spaces or control characters")
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL as exc:
        raise UsageError("invalid metadata endpoint: not a URL") from exc
    if parsed.port == 0:
        raise UsageError(f"invalid metadata endpoint {url.strip()!r}: port 0 (give the port the server listens on)")
    if parsed.userinfo:
        raise UsageError("invalid metadata endpoint: it must not carry user:password@")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"invalid metadata endpoint {url!r}: expected http://HOST[:PORT]")
    if parsed.path not in ("", "/") or parsed.query:
        raise UsageError(f"invalid metadata endpoint {url!r}: expected no path or query")
    return str(parsed.copy_with(path="/")).rstrip("/")
