"""Credentials: the frozen snapshot, the refresh policy, and the three sources.

Value, refresh policy and fetching are kept apart (botocore's shape): :class:`Credentials` is
an immutable snapshot whose repr masks everything; :class:`RefreshingCredentials` takes a
plain ``fetch`` callable and knows nothing about HTTP; the sources (env keys, RRSA, metadata
RAM role) are small fetchers, each with a ``METHOD`` name for logs and ``whoami``.

Refresh windows (picked here, scaled for short lifetimes so 5-second test credentials walk
through them)::

    advisory  = min(15 min, 50 % of the lifetime)   try-lock; on failure keep the current set
    mandatory = min(10 min, 25 % of the lifetime)   block on the lock; raise if the refresh fails
    floor     = min(60 s,   10 % of the lifetime)   never hand out a set closer to expiry than this

The lifetime is measured from when a set was first seen. The metadata server returns the same
set until 30 minutes before it expires; when a refresh returns the same set, the next attempt
waits ``min(60 s, 5 % of the lifetime)`` instead of refetching on every request.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Protocol

import httpx

from osslist.backoff import BackoffPolicy, attempts
from osslist.errors import CredentialsError, MetadataError, StsError, UsageError
from osslist.metadata import (
    CREDENTIALS_BODY_CAP,
    MetadataClient,
    RoleCredentials,
    check_role_name,
    credentials_from_document,
    env_flag,
    read_capped,
)

log = logging.getLogger(__name__)

ADVISORY_MAX = 15 * 60.0
MANDATORY_MAX = 10 * 60.0
FLOOR_MAX = 60.0
SAME_SET_RETRY_MAX = 60.0


def mask_key_id(key_id: str) -> str:
    """``STS.****wxyz``: keep the ``STS.`` prefix and the last 4 characters, only when long."""
    prefix = "STS." if key_id.startswith("STS.") else ""
    rest = key_id[len(prefix) :]
    return f"{prefix}****{rest[-4:]}" if len(rest) >= 12 else f"{prefix}****"


@dataclass(frozen=True)
class Credentials:
    """One credential set, handed out whole so key, secret and token never straddle a refresh."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    expiration: datetime | None = None

    def __repr__(self) -> str:
        expires = self.expiration.isoformat() if self.expiration else None
        return f"Credentials(access_key_id={self.masked_key_id!r}, expiration={expires!r})"

    __str__ = __repr__

    @property
    def masked_key_id(self) -> str:
        """The key id as it may appear in logs and ``whoami``."""
        return mask_key_id(self.access_key_id)

    @classmethod
    def from_role(cls, role: RoleCredentials) -> Credentials:
        """Wrap a validated metadata/STS credential set."""
        return cls(role.access_key_id, role.access_key_secret, role.security_token, role.expiration)


class Provider(Protocol):
    """What the bucket client and ``whoami`` need from any source."""

    def get_credentials(self) -> Credentials: ...

    def force_refresh(self, stale: Credentials | None = None) -> Credentials: ...

    def describe(self) -> dict[str, Any]: ...


class StaticProvider:
    """Fixed keys from the environment; nothing to refresh."""

    def __init__(self, credentials: Credentials, *, method: str = "env", origin: str = "") -> None:
        self._credentials = credentials
        self.method = method
        self.origin = origin

    def __repr__(self) -> str:
        return f"StaticProvider(method={self.method!r}, credentials={self._credentials!r})"

    def get_credentials(self) -> Credentials:
        return self._credentials

    def force_refresh(self, stale: Credentials | None = None) -> Credentials:
        """Static keys cannot be refreshed; the caller's retry will fail the same way."""
        return self._credentials

    def describe(self) -> dict[str, Any]:
        return _describe(self.method, self._credentials, origin=self.origin)


@dataclass(frozen=True)
class _Snapshot:
    credentials: Credentials
    first_seen: float
    retry_at: float = 0.0

    def remaining(self, now: float) -> float:
        expiration = self.credentials.expiration
        return float("inf") if expiration is None else expiration.timestamp() - now

    def lifetime(self) -> float:
        expiration = self.credentials.expiration
        return float("inf") if expiration is None else expiration.timestamp() - self.first_seen


class RefreshingCredentials:
    """Expiring credentials refreshed through ``fetch`` under the advisory/mandatory windows.

    ``get_credentials()`` never returns a set inside the floor window: it refreshes, or raises
    :class:`CredentialsError`. One refresh runs at a time; threads arriving during a mandatory
    refresh wait for it and reuse its result.
    """

    def __init__(
        self,
        fetch: Callable[[], Credentials],
        *,
        method: str,
        clock: Callable[[], float] = time.time,
        advisory: float = ADVISORY_MAX,
        mandatory: float = MANDATORY_MAX,
        floor: float = FLOOR_MAX,
        same_set_retry: float = SAME_SET_RETRY_MAX,
        details: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self._fetch = fetch
        self.method = method
        self._clock = clock
        self._advisory, self._mandatory, self._floor = advisory, mandatory, floor
        self._same_set_retry = same_set_retry
        self._details = details or dict
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self.fetches = 0

    def __repr__(self) -> str:
        current = self._snapshot.credentials if self._snapshot else None
        return f"RefreshingCredentials(method={self.method!r}, credentials={current!r})"

    def _windows(self, snap: _Snapshot) -> tuple[float, float, float]:
        lifetime = snap.lifetime()
        return (
            min(self._advisory, 0.5 * lifetime),
            min(self._mandatory, 0.25 * lifetime),
            min(self._floor, 0.1 * lifetime),
        )

    def _usable(self, snap: _Snapshot, now: float, *, mandatory_ok: bool) -> bool:
        """Whether ``snap`` may be handed out now without a refresh attempt."""
        advisory, mandatory, floor = self._windows(snap)
        remaining = snap.remaining(now)
        if remaining > advisory:
            return True
        if remaining <= floor:
            return False
        if now < snap.retry_at:
            return True  # backing off after a same-set or failed refresh
        return mandatory_ok and remaining > mandatory

    def get_credentials(self) -> Credentials:
        """A set valid beyond the floor window, refreshing first when a window says so."""
        snap, now = self._snapshot, self._clock()
        if snap is not None:
            if self._usable(snap, now, mandatory_ok=False):
                return snap.credentials
            if self._usable(snap, now, mandatory_ok=True):
                return self._advisory_refresh(snap)
        return self._mandatory_refresh()

    def _advisory_refresh(self, snap: _Snapshot) -> Credentials:
        if not self._lock.acquire(blocking=False):
            return snap.credentials  # another thread is refreshing; this set is still good
        try:
            current = self._snapshot
            if current is not None and current is not snap:
                return current.credentials
            try:
                return self._refresh_locked().credentials
            except CredentialsError as exc:
                log.warning("advisory refresh of %s credentials failed, keeping the current set: %s",
                            self.method, exc)
                self._snapshot = replace(snap, retry_at=self._clock() + self._retry_delay(snap))
                return snap.credentials
        finally:
            self._lock.release()

    def _mandatory_refresh(self) -> Credentials:
        with self._lock:
            current = self._snapshot
            if current is not None and self._usable(current, self._clock(), mandatory_ok=True):
                return current.credentials  # another thread refreshed while this one waited
            snap = self._refresh_locked()
            if snap.remaining(self._clock()) <= self._windows(snap)[2]:
                raise CredentialsError(
                    f"{self.method} credentials {snap.credentials.masked_key_id} expire at "
                    f"{_iso(snap.credentials.expiration)} and the source has no newer set; "
                    "check the instance clock and the credential source"
                )
            return snap.credentials

    def force_refresh(self, stale: Credentials | None = None) -> Credentials:
        """Refetch now (OSS said the key or token is no longer good).

        With ``stale`` (the set the failed request was signed with), a refresh that another
        thread already made since is reused instead of fetching again.
        """
        with self._lock:
            current = self._snapshot
            if stale is not None and current is not None and current.credentials != stale:
                return current.credentials
            return self._refresh_locked().credentials

    def _refresh_locked(self) -> _Snapshot:
        """Fetch and swap in a new snapshot; the caller holds the lock."""
        now = self._clock()
        self.fetches += 1
        try:
            fresh = self._fetch()
        except CredentialsError:
            raise
        except Exception as exc:  # a source bug must not leak a raw third-party error
            raise CredentialsError(
                f"fetching {self.method} credentials failed: {type(exc).__name__}"
            ) from exc
        old = self._snapshot
        if old is not None and fresh == old.credentials:
            snap = replace(old, retry_at=now + self._retry_delay(old))
            log.debug("%s returned the same credential set %s; next try in %.1f s",
                      self.method, fresh.masked_key_id, snap.retry_at - now)
        else:
            snap = _Snapshot(fresh, first_seen=now)
            log.info("got %s credentials %s expiring %s", self.method, fresh.masked_key_id,
                     _iso(fresh.expiration))
        self._snapshot = snap
        return snap

    def _retry_delay(self, snap: _Snapshot) -> float:
        return min(self._same_set_retry, 0.05 * snap.lifetime())

    def describe(self) -> dict[str, Any]:
        """Source, masked key id, expiration and source details (role, hardened mode)."""
        snap = self._snapshot
        return _describe(self.method, snap.credentials if snap else None, **self._details())


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(method: str, credentials: Credentials | None, **details: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "source": method,
        "access_key_id": credentials.masked_key_id if credentials else None,
        "expiration": _iso(credentials.expiration) if credentials else None,
    }
    info.update(details)
    return info


# -- sources ------------------------------------------------------------------------------

ENV_KEY_SETS = (
    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"),
    ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN"),
)
RRSA_VARS = ("ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE")


def env_provider(environ: Mapping[str, str]) -> StaticProvider | None:
    """Static keys from the Alibaba SDK variables, else oss2's; None when neither is set."""
    for id_var, secret_var, token_var in ENV_KEY_SETS:
        key_id, secret = environ.get(id_var, "").strip(), environ.get(secret_var, "").strip()
        if key_id and secret:
            token = environ.get(token_var, "").strip() or None
            return StaticProvider(Credentials(key_id, secret, token), method="env", origin=id_var)
        if key_id or secret:
            missing = secret_var if key_id else id_var
            raise CredentialsError(f"{id_var if key_id else secret_var} is set but {missing} is not")
    return None


def metadata_provider(
    *,
    role_name: str | None,
    client: MetadataClient,
    environ: Mapping[str, str],
    clock: Callable[[], float] = time.time,
) -> RefreshingCredentials:
    """The instance RAM role, its name given or discovered once and then reused."""
    given = role_name or environ.get("ALIBABA_CLOUD_ECS_METADATA", "").strip() or None
    state: dict[str, str] = {}
    if given:
        state["role"] = check_role_name(given, origin="the configured role name", error=UsageError)

    def fetch() -> Credentials:
        if "role" not in state:
            state["role"] = client.discover_role_name()
        return Credentials.from_role(client.fetch_credentials(state["role"]))

    def details() -> dict[str, Any]:
        return {"role_name": state.get("role"), "hardened_mode": client.hardened,
                "metadata_endpoint": client.endpoint}

    return RefreshingCredentials(fetch, method="metadata", clock=clock, details=details)


# -- RRSA: STS AssumeRoleWithOIDC ---------------------------------------------------------

STS_DEFAULT_HOST = "sts.aliyuncs.com"
STS_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
STS_POLICY = BackoffPolicy(max_attempts=5, base=0.5, cap=5.0, deadline=30.0)
OIDC_TOKEN_CAP = 64 * 1024


def rrsa_configured(environ: Mapping[str, str]) -> bool:
    """RRSA applies only when the webhook injected all three variables."""
    return all(environ.get(name, "").strip() for name in RRSA_VARS)


def sts_endpoint(environ: Mapping[str, str]) -> str:
    """``ALIBABA_CLOUD_STS_ENDPOINT`` (scheme-less means https), else the regional default."""
    explicit = environ.get("ALIBABA_CLOUD_STS_ENDPOINT", "").strip()
    if explicit:
        url = explicit if "://" in explicit else f"https://{explicit}"
    else:
        region = environ.get("ALIBABA_CLOUD_STS_REGION", "").strip()
        vpc = env_flag(environ, "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED")
        host = f"sts{'-vpc' if vpc else ''}.{region}.aliyuncs.com" if region else STS_DEFAULT_HOST
        url = f"https://{host}"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise StsError("ALIBABA_CLOUD_STS_ENDPOINT is not a valid URL") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host or parsed.userinfo:
        raise StsError("ALIBABA_CLOUD_STS_ENDPOINT must be HOST or http(s)://HOST[:PORT]")
    return url.rstrip("/")


class RrsaFetcher:
    """One AssumeRoleWithOIDC call per refresh, re-reading the token file each time
    (kubelet rotates it).

    Proxy variables are honoured only for an https endpoint: STS is public and pods may need
    an egress proxy to reach it, and through a CONNECT tunnel the proxy never sees the OIDC
    token; a plain-http endpoint (the emulator, a VPC test rig) is reached directly.
    """

    def __init__(
        self,
        *,
        role_arn: str,
        oidc_provider_arn: str,
        token_file: str,
        endpoint: str,
        session_name: str = "osslist",
        duration_seconds: int = 3600,
        transport: httpx.BaseTransport | None = None,
        policy: BackoffPolicy = STS_POLICY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.role_arn = role_arn
        self.oidc_provider_arn = oidc_provider_arn
        self.token_file = token_file
        self.endpoint = endpoint
        self.session_name = session_name
        self.duration_seconds = max(900, duration_seconds)
        self._policy = policy
        self._sleep = sleep
        self._http = httpx.Client(
            transport=transport,
            timeout=STS_TIMEOUT,
            trust_env=endpoint.startswith("https://"),
            follow_redirects=False,
            headers={"Accept-Encoding": "identity"},
        )

    def __repr__(self) -> str:
        return f"RrsaFetcher(role_arn={self.role_arn!r}, endpoint={self.endpoint!r})"

    def __call__(self) -> Credentials:
        form = {
            "Action": "AssumeRoleWithOIDC",
            "Version": "2015-04-01",
            "Format": "JSON",
            "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "RoleArn": self.role_arn,
            "OIDCProviderArn": self.oidc_provider_arn,
            "OIDCToken": self._read_token(),
            "RoleSessionName": self.session_name,
            "DurationSeconds": str(self.duration_seconds),
        }
        status, body = self._post(form)
        return self._parse(status, body)

    def _read_token(self) -> str:
        try:
            with open(self.token_file, "rb") as handle:
                raw = handle.read(OIDC_TOKEN_CAP + 1)
        except OSError as exc:
            raise StsError(
                f"cannot read the OIDC token file {self.token_file} ({type(exc).__name__}); "
                "check ALIBABA_CLOUD_OIDC_TOKEN_FILE and the projected token volume"
            ) from exc
        token = raw.decode("utf-8", "replace").strip()
        if not token or len(raw) > OIDC_TOKEN_CAP:
            raise StsError(f"the OIDC token file {self.token_file} is empty or too large")
        return token

    def _post(self, form: dict[str, str]) -> tuple[int, bytes]:
        what = f"POST {self.endpoint}/ AssumeRoleWithOIDC"
        last = "no attempt made"
        for _attempt in attempts(self._policy, sleep=self._sleep):
            try:
                with self._http.stream("POST", self.endpoint + "/", data=form) as response:
                    status = response.status_code
                    body = read_capped(response, CREDENTIALS_BODY_CAP, what=what, error=StsError)
            except httpx.TransportError as exc:
                last = type(exc).__name__
                continue
            if status not in (429, 500, 502, 503, 504):
                return status, body
            last = f"HTTP {status}"
        raise StsError(f"{what}: STS kept failing ({last}); is the STS endpoint reachable?")

    def _parse(self, status: int, body: bytes) -> Credentials:
        what = f"STS AssumeRoleWithOIDC at {self.endpoint}"
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if status != 200 or not isinstance(doc, dict):
            code, request_id = _sts_error_fields(doc)
            raise StsError(
                f"{what}: HTTP {status}, code {code}, request id {request_id}; check "
                "ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and the role's trust policy"
            )
        role = credentials_from_document(doc.get("Credentials"), what=what, error=StsError)
        return Credentials.from_role(role)


def _sts_error_fields(doc: Any) -> tuple[str, str]:
    """Code and RequestId of an STS error, only when they look like identifiers (no echo)."""
    if not isinstance(doc, dict):
        return "unknown", "unknown"
    values = []
    for name in ("Code", "RequestId"):
        value = doc.get(name)
        ok = isinstance(value, str) and 0 < len(value) <= 80 and all(
            ch.isalnum() or ch in ".-_" for ch in value
        )
        values.append(value if ok else "unknown")
    return values[0], values[1]


def rrsa_provider(
    environ: Mapping[str, str],
    *,
    clock: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
) -> RefreshingCredentials:
    """RRSA from the webhook's variables; fails with the names of the missing ones."""
    missing = [name for name in RRSA_VARS if not environ.get(name, "").strip()]
    if missing:
        raise StsError(f"RRSA needs {', '.join(missing)} (set by the ACK RRSA webhook)")
    fetcher = RrsaFetcher(
        role_arn=environ["ALIBABA_CLOUD_ROLE_ARN"].strip(),
        oidc_provider_arn=environ["ALIBABA_CLOUD_OIDC_PROVIDER_ARN"].strip(),
        token_file=environ["ALIBABA_CLOUD_OIDC_TOKEN_FILE"].strip(),
        endpoint=sts_endpoint(environ),
        session_name=environ.get("ALIBABA_CLOUD_ROLE_SESSION_NAME", "").strip() or "osslist",
        transport=transport,
    )

    def details() -> dict[str, Any]:
        return {"role_arn": fetcher.role_arn, "sts_endpoint": fetcher.endpoint}

    return RefreshingCredentials(fetcher, method="rrsa", clock=clock, details=details)


def resolve_provider(
    source: str = "auto",
    *,
    role_name: str | None = None,
    metadata_endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    metadata_client: MetadataClient | None = None,
    sts_transport: Any = None,
) -> Provider:
    """Pick the credential source: ``auto`` tries env keys, then RRSA, then the metadata server.

    No network call is made here; the first ``get_credentials()`` fetches.
    """
    env = os.environ if environ is None else environ
    if source not in ("auto", "env", "rrsa", "metadata"):
        raise CredentialsError(f"unknown credential source {source!r}: use auto, env, rrsa or metadata")
    if source in ("auto", "env"):
        found = env_provider(env)
        if found is not None:
            return found
        if source == "env":
            raise CredentialsError(
                "no keys in ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET or OSS_ACCESS_KEY_ID/_SECRET"
            )
    if source == "rrsa" or (source == "auto" and rrsa_configured(env)):
        return rrsa_provider(env, clock=clock, transport=sts_transport)
    if env_flag(env, "ALIBABA_CLOUD_ECS_METADATA_DISABLED"):
        raise CredentialsError(
            "no credentials: no env keys, no RRSA variables, and "
            "ALIBABA_CLOUD_ECS_METADATA_DISABLED=true turns off the metadata server"
        )
    client = metadata_client or MetadataClient(endpoint=metadata_endpoint, environ=env)
    return metadata_provider(role_name=role_name, client=client, environ=env, clock=clock)


__all__ = [
    "Credentials",
    "CredentialsError",
    "MetadataError",
    "Provider",
    "RefreshingCredentials",
    "RrsaFetcher",
    "StaticProvider",
    "StsError",
    "env_provider",
    "mask_key_id",
    "metadata_provider",
    "resolve_provider",
    "rrsa_configured",
    "rrsa_provider",
    "sts_endpoint",
]
