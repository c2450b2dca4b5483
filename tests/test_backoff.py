"""The one retry loop (backoff.retry) and its policy object, on an injected clock: no test sleeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

from osslist.backoff import BackoffPolicy, RetriesExhausted, RetryPolicy, attempts, retry
from tests.helpers import FakeTime


@dataclass
class Reply:
    status: int
    code: str = ""
    ec: str = ""


class Refused(Exception):
    def __init__(self, status: int, code: str = "") -> None:
        super().__init__(status)
        self.status, self.code = status, code


class Unreachable(Exception):
    pass


def script(*outcomes: object) -> Callable[[], object]:
    """A send() that returns or raises each outcome in turn."""
    pending = list(outcomes)

    def send() -> object:
        outcome = pending.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return send


POLICY = RetryPolicy(
    backoff=BackoffPolicy(max_attempts=None, base=1.0, cap=4.0, deadline=60.0),
    exceptions=(Unreachable,),
    codes=frozenset({"SlowDown"}),
    replyless_attempts=3,
    throttle_codes=frozenset({"SlowDown"}),
    throttle_ecs=frozenset({"0004-00000302"}),
)


def run(send: Callable[[], object], t: FakeTime, policy: RetryPolicy = POLICY, **kwargs: object) -> object:
    return retry(send, policy, sleep=t.sleep, clock=t.clock, rng=lambda: 1.0, **kwargs)  # type: ignore[arg-type]


def test_a_reply_the_policy_does_not_retry_is_returned_at_once() -> None:
    t = FakeTime()
    assert run(script(Reply(404)), t) == Reply(404)
    assert t.sleeps == []


def test_retryable_statuses_and_codes_are_retried_with_growing_delays() -> None:
    t = FakeTime()
    seen: list[object] = []
    send = script(Reply(503), Refused(500), Reply(400, "SlowDown"), Reply(200))
    assert run(send, t, on_retry=seen.append) == Reply(200)
    assert t.sleeps == [1.0, 2.0, 4.0]
    assert [getattr(o, "status") for o in seen] == [503, 500, 400]  # each retry names its cause


def test_an_exception_the_policy_does_not_retry_is_raised_unchanged() -> None:
    t = FakeTime()
    with pytest.raises(Refused) as caught:
        run(script(Refused(403, "AccessDenied")), t)
    assert caught.value.code == "AccessDenied" and t.sleeps == []


def test_the_budget_ends_the_retries_before_a_sleep_would_pass_it() -> None:
    t = FakeTime()
    policy = POLICY.with_budget(10.0)
    with pytest.raises(RetriesExhausted) as caught:
        run(lambda: Reply(503), t, policy)
    # sleeps 1, 2, 4 (7 s), then a 4 s sleep would end at 11 s > 10 s: four tries in all
    assert t.sleeps == [1.0, 2.0, 4.0]
    assert caught.value.tries == 4 and caught.value.elapsed == 7.0
    assert caught.value.last == Reply(503)


def test_without_an_attempt_cap_only_the_budget_bounds_a_throttling_server() -> None:
    t = FakeTime()
    with pytest.raises(RetriesExhausted) as caught:
        run(lambda: Reply(429), t, POLICY.with_budget(300.0))
    assert caught.value.tries > 70 and t.now - 1000.0 <= 300.0


def test_a_zero_budget_means_one_try() -> None:
    t = FakeTime()
    with pytest.raises(RetriesExhausted) as caught:
        run(lambda: Reply(503), t, POLICY.with_budget(0.0))
    assert caught.value.tries == 1 and t.sleeps == []


def test_failures_without_a_reply_stop_after_their_own_cap() -> None:
    t = FakeTime()
    with pytest.raises(RetriesExhausted) as caught:
        run(script(*[Unreachable()] * 10), t)
    assert caught.value.tries == 3 and isinstance(caught.value.last, Unreachable)


def test_a_reply_in_between_resets_the_cap_on_failures_without_a_reply() -> None:
    t = FakeTime()
    send = script(Unreachable(), Unreachable(), Reply(503), Unreachable(), Unreachable(), Reply(200))
    assert run(send, t) == Reply(200)


def test_an_empty_exception_set_raises_network_failures_at_once() -> None:
    t = FakeTime()
    with pytest.raises(Unreachable):
        run(script(Unreachable()), t, RetryPolicy(backoff=POLICY.backoff))


@pytest.mark.parametrize(
    "outcome, throttling",
    [(Reply(503), True), (Reply(429), True), (Reply(500), False), (Reply(502), False),
     (Reply(500, "SlowDown"), True), (Reply(500, ec="0004-00000302"), True), (Unreachable(), False)],
)
def test_throttling_is_told_apart_from_failing(outcome: object, throttling: bool) -> None:
    assert POLICY.throttling(outcome) is throttling
    assert POLICY.retryable(outcome)


def test_attempts_honours_max_attempts_and_none_means_unbounded() -> None:
    t = FakeTime()
    bounded = BackoffPolicy(max_attempts=3, base=0.0, cap=0.0, deadline=10.0)
    assert list(attempts(bounded, sleep=t.sleep, clock=t.clock)) == [0, 1, 2]
    unbounded = BackoffPolicy(max_attempts=None, base=0.0, cap=0.0, deadline=10.0)
    numbers = attempts(unbounded, sleep=t.sleep, clock=t.clock)
    assert [next(numbers) for _ in range(500)][-1] == 499
