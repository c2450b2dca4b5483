"""Faults a test or benchmark switches on while the emulator runs.

One ``Faults`` object per emulator, shared by the three services; every attribute can be set
at any time (plain assignment is atomic in CPython) and the counters behind "every k-th
request" and "the next N responses" are guarded by a lock. ``reset()`` turns everything off.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class _Pending:
    remaining: int
    status: int
    match: str


class FailureQueue:
    """"The next N matching requests answer status S", consumed in order of arrival."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []

    def fail_next(self, count: int, status: int = 500, *, match: str = "") -> None:
        """Queue ``count`` failures with ``status`` for requests whose path contains ``match``."""
        if count < 1 or not 100 <= status <= 599:
            raise ValueError("count must be >= 1 and status an HTTP status")
        with self._lock:
            self._pending.append(_Pending(count, status, match))

    def take(self, path: str) -> int | None:
        """The status to fail this request with, or None to serve it normally."""
        with self._lock:
            for item in self._pending:
                if item.match in path:
                    item.remaining -= 1
                    if item.remaining == 0:
                        self._pending.remove(item)
                    return item.status
        return None

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()


class EveryKth:
    """True on every k-th call (k, 2k, ...); k = 0 means never."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self.k = 0

    def hit(self) -> bool:
        if self.k <= 0:
            return False
        with self._lock:
            self._count += 1
            return self._count % self.k == 0

    def set(self, k: int) -> None:
        with self._lock:
            self.k = k
            self._count = 0


class Outage:
    """"Answer status S for the next N seconds", the window opening after a given number of
    further requests (so a test can start it mid-listing without racing the client)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._armed = False
        self._seconds = 0.0
        self._countdown = 0
        self._until: float | None = None
        self.status = 503

    def start(self, seconds: float, status: int = 503, *, after_requests: int = 0) -> None:
        """Arm the window: ``after_requests`` more requests pass, then ``seconds`` of ``status``."""
        if seconds <= 0 or after_requests < 0 or not 400 <= status <= 599:
            raise ValueError("seconds must be > 0, after_requests >= 0, status a 4xx/5xx")
        with self._lock:
            self._armed, self._seconds, self._countdown, self._until = True, seconds, after_requests, None
            self.status = status

    def hit(self) -> int | None:
        """The status to fail this request with, or None (the window is not open)."""
        if not self._armed:
            return None
        with self._lock:
            if self._countdown > 0:
                self._countdown -= 1
                return None
            now = self._clock()
            if self._until is None:
                self._until = now + self._seconds
            if now < self._until:
                return self.status
            self._armed = False
            return None


# RAM actions a write-only refusal covers by default: what writing a report needs.
WRITE_ACTIONS = frozenset({"oss:PutObject", "oss:AbortMultipartUpload", "oss:DeleteObject"})


@dataclass(frozen=True)
class Denial:
    """A policy statement that refuses ``actions`` on keys of ``bucket`` starting with ``prefix``."""

    bucket: str
    prefix: str
    actions: frozenset[str]


class PartFaults:
    """Faults aimed at UploadPart by part number: the next ``times`` uploads of part N answer
    a 5xx, or lose their connection after half the body was read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, list[int]] = {}  # part number -> statuses; 0 means drop

    def add(self, number: int, status: int, times: int) -> None:
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._pending.setdefault(number, []).extend([status] * times)

    def peek(self, number: int) -> int | None:
        """The fault waiting for part ``number`` (a status, 0 for a drop), without taking it."""
        with self._lock:
            waiting = self._pending.get(number)
            return waiting[0] if waiting else None

    def take(self, number: int) -> int | None:
        with self._lock:
            waiting = self._pending.get(number)
            if not waiting:
                return None
            status = waiting.pop(0)
            if not waiting:
                del self._pending[number]
            return status


class Faults:
    """The fault knobs. OSS ones apply to every OSS request; metadata ones are described below.

    OSS:
      ``oss_latency``        seconds slept before answering each OSS request
      ``error_every(k, s)``  every k-th OSS request answers status s (503, 429 or 500)
      ``unavailable_for(seconds, s, after_requests=n)``  after n more OSS requests, every one
                             answers status s (503 ServiceUnavailable, 429 QpsLimitExceeded or 500)
                             for ``seconds`` seconds: a throttling burst
      ``drop_every(k)``      every k-th OSS request: connection closed without any response
      ``short_pages``        serve at most this many entries per page (still truncated, with a
                             correct NextMarker / token) while more remain; 0 = off
      ``denied_buckets``     buckets that exist but answer 403 AccessDenied
      ``oss_redirect``       answer every OSS request 302 with Location set to this URL
    Uploads:
      ``fail_part(n, status, times)``  the next ``times`` UploadParts of part n answer status
      ``drop_part(n, times)``          ... have their connection closed mid-body, no response
      ``part_latency``       seconds slept before answering each UploadPart
      ``deny(bucket, prefix, actions)``  403 AccessDenied for those RAM actions on keys under
                             prefix (default: the write actions), listing still allowed
    Metadata (the credentials document ``/latest/meta-data/ram/security-credentials/<role>``):
      ``metadata_latency``   seconds slept before answering each metadata request
      ``metadata.fail_next(n, status, match=...)``  next n requests (path containing match)
      ``metadata_code``      serve this Code (e.g. "Failed") instead of "Success"
      ``metadata_redirect``  answer 302 with Location set to this URL
      ``metadata_huge_body`` stream this many bytes as the document (never built in memory)
    STS:
      ``sts_latency``; ``sts.fail_next(n, status)``
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock  # the emulator's clock: ``unavailable_for`` windows are measured on it
        self.oss_latency = 0.0
        self.metadata_latency = 0.0
        self.sts_latency = 0.0
        self.short_pages = 0
        self.denied_buckets: set[str] = set()
        self.oss_redirect: str | None = None
        self.metadata_code: str | None = None
        self.metadata_redirect: str | None = None
        self.metadata_huge_body = 0
        self.metadata = FailureQueue()
        self.sts = FailureQueue()
        self._oss_errors = EveryKth()
        self.oss_error_status = 503
        self._drops = EveryKth()
        self._outage = Outage(clock)
        self.part_latency = 0.0
        self.parts = PartFaults()
        self.denials: list[Denial] = []

    def error_every(self, k: int, status: int = 503) -> None:
        """Every k-th OSS request answers ``status`` (503, 429 or 500; see ``server_error``)."""
        self.oss_error_status = status
        self._oss_errors.set(k)

    def unavailable_for(self, seconds: float, status: int = 503, *, after_requests: int = 0) -> None:
        """After ``after_requests`` more OSS requests, answer ``status`` to every OSS request for
        ``seconds`` seconds (measured from the first one refused)."""
        self._outage.start(seconds, status, after_requests=after_requests)

    def drop_every(self, k: int) -> None:
        """Every k-th OSS request has its connection closed without a response."""
        self._drops.set(k)

    def should_drop(self) -> bool:
        return self._drops.hit()

    def oss_error(self) -> int | None:
        """The status to fail this OSS request with, or None."""
        outage = self._outage.hit()
        if outage is not None:
            return outage
        return self.oss_error_status if self._oss_errors.hit() else None

    def fail_part(self, number: int, status: int = 503, times: int = 1) -> None:
        """The next ``times`` uploads of part ``number`` answer ``status`` (500 or 503)."""
        if not 500 <= status <= 599:
            raise ValueError("status must be a 5xx")
        self.parts.add(number, status, times)

    def drop_part(self, number: int, times: int = 1) -> None:
        """The next ``times`` uploads of part ``number`` lose their connection mid-body."""
        self.parts.add(number, 0, times)

    def deny(self, bucket: str, prefix: str = "", actions: frozenset[str] | set[str] = WRITE_ACTIONS) -> None:
        """Refuse ``actions`` (RAM names, e.g. ``oss:PutObject``) on keys under ``prefix``."""
        self.denials.append(Denial(bucket, prefix, frozenset(actions)))

    def denied(self, bucket: str, key: str, action: str) -> bool:
        return any(d.bucket == bucket and key.startswith(d.prefix) and action in d.actions for d in self.denials)

    def reset(self) -> None:
        """Turn every fault off."""
        self.__init__(self._clock)  # type: ignore[misc]  # every field back to its default, in one place
