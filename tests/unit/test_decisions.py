"""The waiting state machine and its timings, decided without I/O (`hitlkit._decisions`)."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta, timezone

import pytest

from hitlkit import EventCancelledError, EventTimeoutError, Outcome, StoreUnavailableError
from hitlkit._decisions import (
    EXPIRE,
    FIRST_RETRY_SECONDS,
    LOOK,
    OUTAGE_GRACE_POLLS,
    OutageBegan,
    OutageOver,
    Sleep,
    Step,
    link_expiry,
    outcome_error,
    reminder_delay,
    wait_flow,
)

START = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
DEADLINE = START + timedelta(seconds=60)
ID = "0123456789abcdef01234567"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def outcome(status: str, **more: object) -> Outcome:
    return Outcome.model_validate(
        {"request_id": ID, "status": status, "via": "api", "at": START, **more}
    )


def flow(clock: Clock, poll: float = 5.0) -> Generator[Step, Outcome | None, Outcome]:
    return wait_flow(DEADLINE, poll, now=clock)


def finish(steps: Generator[Step, Outcome | None, Outcome], reply: Outcome | None) -> Outcome:
    with pytest.raises(StopIteration) as done:
        steps.send(reply)
    result: Outcome = done.value.value
    return result


def test_an_outcome_found_at_the_first_look_ends_the_wait() -> None:
    steps = flow(Clock())
    assert next(steps) is LOOK
    answered = outcome("answered", value=3)
    assert finish(steps, answered) is answered


def test_while_open_it_sleeps_until_the_deadline_then_looks_again() -> None:
    clock = Clock()
    steps = flow(clock)
    assert next(steps) is LOOK
    assert steps.send(None) == Sleep(60.0)
    clock.advance(10)  # woken early, by a change that was not the answer
    assert steps.send(None) is LOOK
    assert steps.send(None) == Sleep(50.0)


def test_past_the_deadline_it_expires_the_event_and_returns_what_won() -> None:
    clock = Clock()
    steps = flow(clock)
    next(steps)
    steps.send(None)
    clock.advance(60)
    assert steps.send(None) is LOOK
    assert steps.send(None) is EXPIRE
    late_answer = outcome("answered", value=1)  # an answer that beat the timeout's write
    assert finish(steps, late_answer) is late_answer


def test_an_outage_backs_off_doubling_to_the_poll_interval_and_says_so_once() -> None:
    clock = Clock()
    steps = flow(clock, poll=0.3)
    next(steps)
    error = StoreUnavailableError("s3://bucket", "connection refused")
    assert steps.throw(error) == OutageBegan(error)
    delays = [steps.send(None)]
    for _ in range(4):
        assert steps.send(None) is LOOK
        delays.append(steps.throw(error))
    assert delays == [
        Sleep(FIRST_RETRY_SECONDS),
        Sleep(FIRST_RETRY_SECONDS * 2),
        Sleep(FIRST_RETRY_SECONDS * 4),
        Sleep(0.3),
        Sleep(0.3),
    ]
    assert steps.send(None) is LOOK
    assert steps.send(None) == OutageOver()  # the store answers again: said once
    assert steps.send(None) == Sleep(60.0)
    assert steps.send(None) is LOOK
    assert steps.send(None) == Sleep(60.0)  # no second "answers again"


def test_an_outage_past_the_deadline_ends_the_wait_after_the_grace() -> None:
    clock = Clock()
    steps = flow(clock, poll=2.0)
    next(steps)
    error = StoreUnavailableError("s3://bucket", "connection refused")
    clock.advance(60 + 2.0 * OUTAGE_GRACE_POLLS)  # at the edge of the grace: one more try
    assert isinstance(steps.throw(error), OutageBegan)
    assert steps.send(None) == Sleep(FIRST_RETRY_SECONDS)
    assert steps.send(None) is LOOK
    clock.advance(0.001)
    with pytest.raises(StoreUnavailableError) as raised:
        steps.throw(error)
    assert raised.value is error


def test_a_failing_timeout_write_is_an_outage_too() -> None:
    clock = Clock()
    clock.advance(61)
    steps = flow(clock)
    next(steps)
    assert steps.send(None) is EXPIRE
    error = StoreUnavailableError("s3://bucket", "connection refused")
    assert steps.throw(error) == OutageBegan(error)


@pytest.mark.parametrize(
    ("status", "returns"),
    [("answered", True), ("defaulted", True), ("timed_out", False), ("cancelled", False)],
)
def test_which_outcomes_return_a_value(status: str, returns: bool) -> None:
    error = outcome_error(outcome(status), name="n", request_id=ID, timeout_seconds=1)
    assert (error is None) is returns


def test_the_errors_name_the_event_and_what_happened() -> None:
    cancelled = outcome("cancelled", reason="not needed")
    error = outcome_error(cancelled, name="deploy", request_id=ID, timeout_seconds=60)
    assert isinstance(error, EventCancelledError)
    assert str(error) == "event 'deploy' was cancelled: not needed"
    assert error.outcome is cancelled
    timeout = outcome_error(outcome("timed_out"), name="deploy", request_id=ID, timeout_seconds=1)
    assert isinstance(timeout, EventTimeoutError)
    assert isinstance(timeout, TimeoutError)
    assert str(timeout) == f"event 'deploy' ({ID}) got no answer within 1 second"


def test_a_cancel_reason_reaches_a_terminal_escaped_and_the_outcome_keeps_it_whole() -> None:
    reason = "superseded\x1b]0;PWNED\x07\x1b[31m by run 43\nsee ticket"
    cancelled = outcome("cancelled", reason=reason)

    error = outcome_error(cancelled, name="deploy", request_id=ID, timeout_seconds=60)

    assert str(error) == (
        "event 'deploy' was cancelled: superseded\\x1b]0;PWNED\\x07\\x1b[31m by run 43\nsee ticket"
    )
    assert isinstance(error, EventCancelledError)
    assert error.outcome.reason == reason


def test_the_reminder_is_due_remind_before_the_deadline_or_at_once() -> None:
    assert reminder_delay(DEADLINE, 20, START) == 40
    assert reminder_delay(DEADLINE, 600, START) == 0


def test_a_link_lasts_until_the_deadline_or_as_long_as_asked() -> None:
    assert link_expiry(DEADLINE, None, START) == DEADLINE
    assert link_expiry(DEADLINE, 30, START) == START + timedelta(seconds=30)
    assert link_expiry(DEADLINE, timedelta(hours=2), START) == START + timedelta(hours=2)
    for bad in (0, -1, float("inf"), float("nan"), timedelta(0)):
        with pytest.raises(ValueError, match="expires_in must be a positive duration"):
            link_expiry(DEADLINE, bad, START)
