"""OSS's clock as osslist sees it, for a pod whose own clock is wrong.

OSS refuses a request dated more than 15 minutes from its clock with 403 RequestTimeTooSkewed.
botocore's answer, taken here: measure the offset from the refusal (its ``ServerTime``, else the
response's ``Date`` header), sign every later request with ``local time + offset``, warn once on
stderr with the measured skew, and retry the refused request (it was never executed). An offset
beyond a day is not a drifting clock but a broken one: :class:`ClockSkewError`, exit 1.

oss2 reads the time itself when it signs (V1: ``utils.http_date()``, V4: ``datetime.utcnow()``)
and offers no hook, so :func:`make_auth` returns subclasses of its two provider auths whose
``_sign_request`` is oss2 2.19.1's with the date taken from a :class:`ServerClock`. They call
oss2's private signing helpers by their mangled names; ``tests/test_clock.py`` signs with both
and checks the emulator accepts them, so an oss2 release that renames them fails there.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable

import oss2
import oss2.exceptions
from oss2 import utils as oss2_utils
from oss2.headers import OSS_SECURITY_TOKEN

from osslist.errors import ClockSkewError

log = logging.getLogger(__name__)

SKEW_CODE = "RequestTimeTooSkewed"
MAX_CORRECTED_SKEW = 24 * 3600.0


def describe_offset(offset: float) -> str:
    """``"20 min 0 s behind"``: how the local clock stands against the server's (offset =
    server - local, so a positive offset is a slow local clock)."""
    seconds = round(abs(offset))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h"] if hours or days else []
    parts += [f"{minutes} min", f"{secs} s"]
    return " ".join(parts) + (" behind" if offset > 0 else " ahead of")


def check_correctable(offset: float, whose: str) -> float:
    """``offset`` when osslist may correct it, else :class:`ClockSkewError` naming it."""
    if abs(offset) > MAX_CORRECTED_SKEW:
        raise ClockSkewError(
            f"the local clock is {describe_offset(offset)} {whose} clock (offset {offset:+.0f} s, over the "
            f"{MAX_CORRECTED_SKEW / 3600:.0f} h osslist corrects): fix the clock of this machine or pod (NTP)"
        )
    return offset


def parse_server_time(text: str) -> float | None:
    """An ISO 8601 UTC time (``2026-11-29T19:10:00.000Z``) or an HTTP date, as epoch seconds."""
    text = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def server_time_of(exc: oss2.exceptions.ServerError) -> float | None:
    """OSS's time from a RequestTimeTooSkewed: the body's ServerTime, else the Date header."""
    details = exc.details if isinstance(exc.details, dict) else {}
    headers = exc.headers if isinstance(exc.headers, dict) else {}
    for text in (details.get("ServerTime"), headers.get("date"), headers.get("Date")):
        moment = parse_server_time(text) if isinstance(text, str) else None
        if moment is not None:
            return moment
    return None


class ServerClock:
    """Local time plus the offset learned from OSS; thread-safe, shared by every signer of a run."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._offset = 0.0
        self._warned = False

    @property
    def offset(self) -> float:
        """Seconds OSS's clock is ahead of the local one (negative: behind)."""
        return self._offset

    def now(self) -> float:
        return self._clock() + self._offset

    def learn(self, server_time: float) -> None:
        """Adopt ``server_time - local time`` as the offset; warn the first time."""
        offset = check_correctable(server_time - self._clock(), "OSS's")
        with self._lock:
            self._offset = offset
            warn, self._warned = not self._warned, True
        if warn:
            log.warning("the local clock is %s OSS's by %+.0f s; signing with OSS's time from now on",
                        describe_offset(offset), offset)

    def corrected(self, exc: oss2.exceptions.ServerError) -> bool:
        """True when ``exc`` is a RequestTimeTooSkewed whose server time was learned: the caller
        sends the same request again (OSS did not execute it)."""
        if exc.code != SKEW_CODE:
            return False
        server_time = server_time_of(exc)
        if server_time is None:
            return False
        self.learn(server_time)
        return True


class SkewedAuth(oss2.ProviderAuth):
    """oss2's V1 provider auth, dated by a :class:`ServerClock`."""

    def __init__(self, credentials_provider: oss2.credentials.CredentialsProvider, clock: ServerClock) -> None:
        super().__init__(credentials_provider)
        self.server_clock = clock

    def _sign_request(self, req: oss2.http.Request, bucket_name: str, key: str) -> None:
        credentials = self.credentials_provider.get_credentials()
        if credentials.get_security_token():
            req.headers[OSS_SECURITY_TOKEN] = credentials.get_security_token()
        req.headers["date"] = oss2_utils.http_date(self.server_clock.now())
        make_signature = getattr(self, "_ProviderAuth__make_signature")  # oss2's private helper (module docstring)
        signature = make_signature(req, bucket_name, key, credentials)
        req.headers["authorization"] = f"OSS {credentials.get_access_key_id()}:{signature}"


class SkewedAuthV4(oss2.ProviderAuthV4):
    """oss2's V4 provider auth, dated by a :class:`ServerClock`."""

    def __init__(self, credentials_provider: oss2.credentials.CredentialsProvider, clock: ServerClock) -> None:
        super().__init__(credentials_provider)
        self.server_clock = clock

    def _sign_request(self, req: oss2.http.Request, bucket_name: str, key: str,
                      in_additional_headers: object = None) -> None:
        if req.region is None:
            raise oss2.exceptions.ClientError("The region should not be None in signature version 4.")
        credentials = self.credentials_provider.get_credentials()
        if credentials.get_security_token():
            req.headers[OSS_SECURITY_TOKEN] = credentials.get_security_token()
        stamp = datetime.fromtimestamp(self.server_clock.now(), timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        req.headers["x-oss-date"] = stamp
        req.headers["x-oss-content-sha256"] = "UNSIGNED-PAYLOAD"
        mangled = "_ProviderAuthV4__"  # oss2's private helpers (see the module docstring)
        additional = getattr(self, mangled + "get_additional_signed_headers")(in_additional_headers)
        scope = getattr(self, mangled + "get_scope")(stamp[:8], req)
        signature = getattr(self, mangled + "make_signature")(req, bucket_name, key, additional, credentials, stamp)
        credential = f"{credentials.get_access_key_id()}/{scope}"
        authorization = f"OSS4-HMAC-SHA256 Credential={credential}, Signature={signature}"
        if additional:
            authorization += ", AdditionalHeaders=" + ";".join(additional)
        req.headers["authorization"] = authorization


def make_auth(
    provider: oss2.credentials.CredentialsProvider, signature_version: int, clock: ServerClock
) -> oss2.AuthBase:
    """The oss2 auth for ``signature_version`` (1 or 4), dated by ``clock``."""
    return SkewedAuthV4(provider, clock) if signature_version == 4 else SkewedAuth(provider, clock)


__all__ = [
    "ServerClock",
    "SkewedAuth",
    "SkewedAuthV4",
    "check_correctable",
    "describe_offset",
    "make_auth",
    "parse_server_time",
    "server_time_of",
]
