"""Credential sets the emulator hands out and later recognises on the OSS side.

The store is the single source of truth shared by the metadata server, STS and OSS: a set
is valid on OSS exactly when the store issued it (or it is a configured static key) and the
clock has not reached its Expiration. Expirations are whole seconds, because that is all the
``%Y-%m-%dT%H:%M:%SZ`` strings clients parse can carry.
"""

from __future__ import annotations

import math
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_ALNUM = string.ascii_letters + string.digits


def iso_utc(epoch: float) -> str:
    """Epoch seconds as the metadata server and STS print them."""
    return time.strftime(TIME_FORMAT, time.gmtime(epoch))


def _random_alnum(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


@dataclass(frozen=True)
class IssuedCredentials:
    """One credential set; the secret and token never appear in its repr."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(repr=False)
    expiration: float | None
    """Epoch seconds (whole); None for a static key that never expires."""
    issued_at: float
    source: str
    """``metadata``, ``sts``, ``static`` or ``test``."""

    def expired(self, now: float) -> bool:
        return self.expiration is not None and now >= self.expiration

    @property
    def expiration_iso(self) -> str | None:
        return None if self.expiration is None else iso_utc(self.expiration)

    @property
    def last_updated_iso(self) -> str:
        return iso_utc(self.issued_at)


class CredentialStore:
    """Issues temporary sets, holds static keys, and looks either up by AccessKeyId."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._by_id: dict[str, IssuedCredentials] = {}
        self._issued: list[IssuedCredentials] = []

    def issue(self, *, source: str, lifetime: float) -> IssuedCredentials:
        """A fresh STS-style set (``STS.`` key id, secret, security token) valid for ``lifetime``."""
        now = self._clock()
        creds = IssuedCredentials(
            access_key_id="STS." + _random_alnum(24),
            access_key_secret=_random_alnum(44),
            security_token="CAIS" + secrets.token_urlsafe(180),
            expiration=float(math.floor(now + lifetime)),
            issued_at=now,
            source=source,
        )
        with self._lock:
            self._by_id[creds.access_key_id] = creds
            self._issued.append(creds)
        return creds

    def add_static(self, access_key_id: str, access_key_secret: str) -> IssuedCredentials:
        """A long-lived key pair (no token, no expiry), like a RAM user's AccessKey."""
        creds = IssuedCredentials(access_key_id, access_key_secret, None, None, self._clock(), "static")
        with self._lock:
            self._by_id[access_key_id] = creds
        return creds

    def lookup(self, access_key_id: str) -> IssuedCredentials | None:
        with self._lock:
            return self._by_id.get(access_key_id)

    @property
    def issued(self) -> list[IssuedCredentials]:
        """Every temporary set issued so far, in order (static keys are not "issued")."""
        with self._lock:
            return list(self._issued)


class RotatingRole:
    """The metadata server's view of one RAM role: the same set until rotation is due.

    Like ECS, a fetch returns the current set until it is within ``window`` seconds of its
    Expiration; then a new set is issued. The old one stays valid on OSS until it expires.
    """

    def __init__(self, store: CredentialStore, *, lifetime: float, window: float, clock: Callable[[], float]):
        self._store = store
        self._lifetime = lifetime
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._current: IssuedCredentials | None = None

    def current(self) -> IssuedCredentials:
        with self._lock:
            cur = self._current
            if cur is None or cur.expiration is None or self._clock() >= cur.expiration - self._window:
                cur = self._store.issue(source="metadata", lifetime=self._lifetime)
                self._current = cur
            return cur
