"""What an event does next, decided without I/O: the waiting state machine and its timings.

`wait_flow` is the waiting logic, written once as a generator in the manner of
httpx's `Auth.auth_flow`: it yields what it needs done (`LOOK` at the store,
`EXPIRE` the event, `Sleep` until a deadline or a wake-up, and two notes about an
outage) and is sent back what came of it; a store failure is thrown into it. A
driver does the I/O (`Event.wait`, in `_event.py`); tests drive it by hand.

```python
flow = wait_flow(deadline, poll_interval=5.0, now=lambda: clock)
assert next(flow) is LOOK
step = flow.send(None)          # nothing recorded yet: Sleep(seconds to the deadline)
```
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from hitlkit._exceptions import (
    DecisionFailedError,
    EventCancelledError,
    EventTimeoutError,
    HitlError,
    StoreUnavailableError,
)
from hitlkit._printable import printable
from hitlkit._records import Outcome, utcnow

__all__ = [
    "EXPIRE",
    "FIRST_RETRY_SECONDS",
    "LOOK",
    "OUTAGE_GRACE_POLLS",
    "Backoff",
    "Expire",
    "Look",
    "OutageBegan",
    "OutageOver",
    "Sleep",
    "Step",
    "link_expiry",
    "outcome_error",
    "reminder_delay",
    "wait_flow",
]

OUTAGE_GRACE_POLLS = 10
"""How many poll intervals past the deadline a waiter keeps trying a store that fails."""
FIRST_RETRY_SECONDS = 0.05


@dataclass(frozen=True)
class Look:
    """Read the recorded outcome; send back the `Outcome`, or `None` while open.

    Wake-ups that come from the moment the look starts end the next `Sleep` early.
    """


@dataclass(frozen=True)
class Expire:
    """Record that the deadline passed; send back the outcome that won."""


@dataclass(frozen=True)
class Sleep:
    """Wait `seconds`, or less if woken; send back `None`."""

    seconds: float


@dataclass(frozen=True)
class OutageBegan:
    """The store stopped answering (say so once); send back `None`."""

    error: StoreUnavailableError


@dataclass(frozen=True)
class OutageOver:
    """The store answers again; send back `None`."""


Step = Look | Expire | Sleep | OutageBegan | OutageOver
LOOK: Final = Look()
EXPIRE: Final = Expire()


class Backoff:
    """When to look again at a store that fails, and when to give up.

    Retries back off from `FIRST_RETRY_SECONDS`, doubling up to the poll interval;
    `OUTAGE_GRACE_POLLS` poll intervals past the deadline, the failure is final.
    """

    def __init__(self, poll_interval: float) -> None:
        self._poll_interval = poll_interval
        self.delay = 0.0
        """The last retry's delay; 0 while the store answers."""

    def failed(self, exc: StoreUnavailableError, *, past_deadline: float) -> float:
        """Seconds until the next look; raises `exc` once past the deadline's grace."""
        if past_deadline > self._poll_interval * OUTAGE_GRACE_POLLS:
            raise exc
        self.delay = min(max(self.delay * 2, FIRST_RETRY_SECONDS), self._poll_interval)
        return self.delay


def wait_flow(
    deadline: datetime,
    poll_interval: float,
    now: Callable[[], datetime] = utcnow,
    *,
    next_due: Callable[[], datetime | None] | None = None,
) -> Generator[Step, Outcome | None, Outcome]:
    """The waiting logic: look, expire at the deadline, sleep, ride out outages.

    Returns the outcome once one is recorded; raises the store's error once it has
    failed for `OUTAGE_GRACE_POLLS` poll intervals past the deadline. `next_due`, when
    given, says when something else is due before the deadline (an escalation step):
    the sleep ends then, for another look.
    """
    backoff = Backoff(poll_interval)
    while True:
        try:
            outcome = yield LOOK
            if outcome is None and not deadline > now():
                outcome = yield EXPIRE
        except StoreUnavailableError as exc:
            first = not backoff.delay
            delay = backoff.failed(exc, past_deadline=(now() - deadline).total_seconds())
            if first:
                yield OutageBegan(exc)
        else:
            if backoff.delay:
                backoff.delay = 0.0
                yield OutageOver()
            if outcome is not None:
                return outcome
            wake_at = deadline
            due = None if next_due is None else next_due()
            if due is not None and now() < due < deadline:
                wake_at = due
            delay = max(0.0, (wake_at - now()).total_seconds())
        yield Sleep(delay)


def outcome_error(
    outcome: Outcome, *, name: str, request_id: str, timeout_seconds: float
) -> HitlError | None:
    """What `wait()` raises for `outcome`, or `None` when it returns the outcome's value.

    The recorded outcome is the truth: a restarted program replays it exactly,
    whatever default it passes now (the default recorded at creation is what
    `defaulted` holds).
    """
    if outcome.status in ("answered", "defaulted"):
        return None
    if outcome.decision == "failed":
        votes = ", ".join(f"{v.by}: {v.value!r}" for v in outcome.votes or ())
        return DecisionFailedError(
            f"event {name!r} ({request_id}) got no decision: the quorum's identical answers "
            f"are out of reach ({printable(votes)})",
            outcome,
        )
    if outcome.status == "cancelled":
        # The reason is anyone's text: an uncaught error prints it on a terminal.
        reason = f": {printable(outcome.reason, multiline=True)}" if outcome.reason else ""
        return EventCancelledError(f"event {name!r} was cancelled{reason}", outcome)
    return EventTimeoutError(
        f"event {name!r} ({request_id}) got no answer within "
        f"{timeout_seconds:g} second{'' if timeout_seconds == 1 else 's'}"
    )


def reminder_delay(deadline: datetime, remind_before: float, now: datetime) -> float:
    """Seconds from `now` until the reminder is due (0 if it is already)."""
    remind_at = deadline - timedelta(seconds=remind_before)
    return max(0.0, (remind_at - now).total_seconds())


def link_expiry(
    deadline: datetime, expires_in: float | timedelta | None, now: datetime
) -> datetime:
    """When an answer link expires: `expires_in` from `now`, or at the deadline."""
    if expires_in is None:
        return deadline
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    if not seconds > 0 or not math.isfinite(seconds):
        raise ValueError(f"expires_in must be a positive duration, got {expires_in!r}")
    return now + timedelta(seconds=seconds)
