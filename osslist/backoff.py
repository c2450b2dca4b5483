"""Bounded exponential backoff with full jitter, shared by every retrying caller.

One policy object says how long to wait before each retry and when to give up; callers own
the loop and decide which errors are retryable. The clock and sleep are injected so tests
never sleep for real.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable, Iterator


@dataclass(frozen=True)
class BackoffPolicy:
    """Delays of ``base * 2**attempt`` capped at ``cap``, full jitter, within ``max_attempts``
    tries and ``deadline`` seconds in all (whichever runs out first)."""

    max_attempts: int = 6
    base: float = 0.2
    cap: float = 5.0
    deadline: float = 30.0

    def delay(self, retry_number: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry ``retry_number`` (0 for the first retry)."""
        ceiling = min(self.cap, self.base * (2**retry_number))
        return ceiling * rng()


def attempts(
    policy: BackoffPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
) -> Iterator[int]:
    """Yield attempt numbers 0, 1, 2, ..., sleeping the backoff delay between them.

    Stops after ``policy.max_attempts`` or when the next sleep would pass the deadline; the
    caller raises its own error when the iterator ends without a success::

        for attempt in attempts(policy):
            try:
                return do_request()
            except Retryable as exc:
                last = exc
        raise GaveUp(...) from last
    """
    started = clock()
    for attempt in range(policy.max_attempts):
        if attempt:
            pause = policy.delay(attempt - 1, rng)
            if clock() + pause - started > policy.deadline:
                return
            sleep(pause)
        yield attempt
