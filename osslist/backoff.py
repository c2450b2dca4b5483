"""Retries for every client of osslist: one loop, one policy object per caller.

A :class:`RetryPolicy` says what a caller retries (reply statuses, error codes, exception
types), how long to wait between tries (:class:`BackoffPolicy`: exponential, full jitter)
and for how long in all (the budget). :func:`retry` runs the loop; the metadata client, RRSA
and the bucket client each pass their own policy instead of keeping a loop of their own.
The clock and sleep are injected so tests never sleep for real.

An outcome (a returned reply or a raised exception) is retryable when it is one of the
policy's exception types, or when its ``status`` / ``code`` attribute is in the policy's
sets; anything else is returned or raised unchanged, so the caller maps it as before.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
THROTTLE_STATUSES = frozenset({429, 503})
# Seconds one OSS request keeps retrying a throttling or failing server (``--retry-budget``).
DEFAULT_RETRY_BUDGET = 300.0


@dataclass(frozen=True)
class BackoffPolicy:
    """Delays of ``base * 2**attempt`` capped at ``cap``, full jitter, within ``max_attempts``
    tries (None: no limit) and ``deadline`` seconds in all (whichever runs out first)."""

    max_attempts: int | None = 6
    base: float = 0.2
    cap: float = 5.0
    deadline: float = 30.0

    def delay(self, retry_number: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry ``retry_number`` (0 for the first retry)."""
        ceiling = min(self.cap, self.base * (2.0 ** min(retry_number, 32)))
        return ceiling * rng()


def attempts(
    policy: BackoffPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
) -> Iterator[int]:
    """Yield attempt numbers 0, 1, 2, ..., sleeping the backoff delay between them.

    Stops after ``policy.max_attempts`` or when the next sleep would pass the deadline.
    """
    started = clock()
    attempt = 0
    while policy.max_attempts is None or attempt < policy.max_attempts:
        if attempt:
            pause = policy.delay(attempt - 1, rng)
            if clock() + pause - started > policy.deadline:
                return
            sleep(pause)
        yield attempt
        attempt += 1


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """What one caller retries, and for how long.

    ``replyless_attempts`` bounds the tries in a row that end in one of ``exceptions`` (no
    reply at all: a wrong host must not wait out a budget meant for a throttling server).
    ``throttle_statuses`` / ``throttle_codes`` / ``throttle_ecs`` tell a server that asks to
    slow down from one that failed, so the caller can say so.
    """

    backoff: BackoffPolicy
    statuses: frozenset[int] = TRANSIENT_STATUSES
    codes: frozenset[str] = frozenset()
    exceptions: tuple[type[BaseException], ...] = ()
    replyless_attempts: int | None = None
    throttle_statuses: frozenset[int] = THROTTLE_STATUSES
    throttle_codes: frozenset[str] = frozenset()
    throttle_ecs: frozenset[str] = frozenset()

    @property
    def budget(self) -> float:
        """Seconds of retrying one call may take before it gives up."""
        return self.backoff.deadline

    def with_budget(self, seconds: float) -> RetryPolicy:
        """The same policy with another budget (``--retry-budget``)."""
        return replace(self, backoff=replace(self.backoff, deadline=seconds))

    def with_backoff(self, backoff: BackoffPolicy) -> RetryPolicy:
        """The same retryable set with other delays (tests use tiny ones)."""
        return replace(self, backoff=backoff)

    def retryable(self, outcome: object) -> bool:
        """Whether this reply or exception is worth another try."""
        if isinstance(outcome, self.exceptions):
            return True
        return getattr(outcome, "status", None) in self.statuses or getattr(outcome, "code", None) in self.codes

    def throttling(self, outcome: object) -> bool:
        """Whether the server asked to slow down (as opposed to failing)."""
        return (
            getattr(outcome, "status", None) in self.throttle_statuses
            or getattr(outcome, "code", None) in self.throttle_codes
            or getattr(outcome, "ec", None) in self.throttle_ecs
        )


class RetriesExhausted(Exception):
    """The budget ran out. ``last`` is the final retryable reply or exception; the caller turns
    this into its own error (it never leaves the caller's module)."""

    def __init__(self, last: object, *, tries: int, elapsed: float) -> None:
        super().__init__(f"gave up after {tries} tries in {elapsed:.1f} s")
        self.last = last
        self.tries = tries
        self.elapsed = elapsed


def retry(
    send: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
    on_retry: Callable[[object], None] | None = None,
) -> T:
    """``send()`` until it returns or raises something ``policy`` does not retry.

    ``on_retry(last)`` runs before each new try (after the backoff sleep) with the outcome
    that caused it. Raises :class:`RetriesExhausted` when the budget or the attempts run out.
    """
    started = clock()
    last: object = None
    tries = replyless = 0
    for _attempt in attempts(policy.backoff, sleep=sleep, clock=clock, rng=rng):
        if tries and on_retry is not None:
            on_retry(last)
        tries += 1
        try:
            outcome = send()
        except Exception as exc:  # sorted by the policy: retried, or raised unchanged
            if not policy.retryable(exc):
                raise
            last = exc
            replyless = replyless + 1 if isinstance(exc, policy.exceptions) else 0
            if policy.replyless_attempts is not None and replyless >= policy.replyless_attempts:
                break
            continue
        if not policy.retryable(outcome):
            return outcome
        last, replyless = outcome, 0
    raise RetriesExhausted(last, tries=tries, elapsed=clock() - started)


__all__ = [
    "BackoffPolicy",
    "DEFAULT_RETRY_BUDGET",
    "RetriesExhausted",
    "RetryPolicy",
    "THROTTLE_STATUSES",
    "TRANSIENT_STATUSES",
    "attempts",
    "retry",
]
