"""Credentials: the frozen snapshot and the refresh policy.

Value, refresh policy and fetching are kept apart (botocore's shape): :class:`Credentials` is
an immutable snapshot whose repr masks everything; :class:`RefreshingCredentials` takes a
plain ``fetch`` callable and knows nothing about HTTP. The fetchers live elsewhere: the metadata
RAM role in ``metadata.py``, RRSA in ``rrsa.py``, and the chain that picks one in ``sources.py``.

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

import logging
import re
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Protocol

from osslist.clock import check_correctable, describe_offset, parse_server_time
from osslist.errors import CredentialsError
from osslist.metadata import RoleCredentials

log = logging.getLogger(__name__)

ADVISORY_MAX = 15 * 60.0
MANDATORY_MAX = 10 * 60.0
FLOOR_MAX = 60.0
SAME_SET_RETRY_MAX = 60.0


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def check_credential_text(fields: Mapping[str, str | None]) -> None:
    """Refuse a key id, secret or token that no HTTP request can carry, naming the field (the
    dict key), never the value: a line break or another control character, or a character
    outside Latin-1. Such a value used to surface as a header error retried like a network
    failure; here it is a credentials error (exit 3) before anything is sent."""
    for label, value in fields.items():
        if not value:
            continue
        if _CONTROL_RE.search(value):
            problem = "contains a line break or another control character"
        elif not value.isascii() and not _latin1(value):
            problem = "contains a character outside Latin-1, which an HTTP header cannot carry"
        else:
            continue
        raise CredentialsError(f"{label} {problem}; fix where it is set (the value is not shown)")


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


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
    server_date: str | None = field(default=None, repr=False, compare=False)
    """The HTTP Date of the answer that carried this set (the issuing server's clock)."""

    def __post_init__(self) -> None:
        check_credential_text({"the access key id": self.access_key_id,
                               "the access key secret": self.access_key_secret,
                               "the security token": self.security_token})

    def __repr__(self) -> str:
        expires = self.expiration.isoformat() if self.expiration else None
        return f"Credentials(access_key_id={self.masked_key_id!r}, expiration={expires!r})"

    __str__ = __repr__

    @property
    def masked_key_id(self) -> str:
        """The key id as it may appear in logs and ``whoami``."""
        return mask_key_id(self.access_key_id)

    @classmethod
    def from_role(cls, role: RoleCredentials, *, origin: str) -> Credentials:
        """Wrap a validated metadata/STS credential set; ``origin`` names the source in errors."""
        check_credential_text({f"AccessKeyId from {origin}": role.access_key_id,
                               f"AccessKeySecret from {origin}": role.access_key_secret,
                               f"SecurityToken from {origin}": role.security_token})
        return cls(role.access_key_id, role.access_key_secret, role.security_token, role.expiration,
                   role.server_date)


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
    skew: float = 0.0
    """Seconds the issuing server's clock is ahead of ours, when expiry is judged by its clock."""

    def remaining(self, now: float) -> float:
        expiration = self.credentials.expiration
        return float("inf") if expiration is None else expiration.timestamp() - (now + self.skew)

    def lifetime(self) -> float:
        expiration = self.credentials.expiration
        return float("inf") if expiration is None else expiration.timestamp() - (self.first_seen + self.skew)


def server_skew(credentials: Credentials, now: float) -> float:
    """0, unless the set looks expired (or about to) by the local clock while the Date of the
    answer that carried it says it is not: then ``server - local``, so that its expiry is judged
    by the issuing server's clock. A set both clocks call expired stays expired; a day or more
    apart is :class:`~osslist.errors.ClockSkewError`, as on the OSS side."""
    expiration = credentials.expiration
    server_now = parse_server_time(credentials.server_date) if credentials.server_date else None
    if expiration is None or server_now is None or expiration.timestamp() - now > FLOOR_MAX:
        return 0.0
    if expiration.timestamp() - server_now <= FLOOR_MAX:
        return 0.0
    return check_correctable(server_now - now, "the credential server's")


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
            snap = _Snapshot(fresh, first_seen=now, skew=server_skew(fresh, now))
            if snap.skew and not (old and old.skew):
                log.warning("the local clock is %s the credential server's by %+.0f s; judging credential "
                            "expiry by the server's clock", describe_offset(snap.skew), snap.skew)
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


__all__ = [
    "Credentials",
    "check_credential_text",
    "Provider",
    "RefreshingCredentials",
    "StaticProvider",
    "mask_key_id",
]
