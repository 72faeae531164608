"""The drivers of `wait_flow`: one for a blocked thread, one for a coroutine.

Both follow the same logic (`_decisions.wait_flow`) and differ only in how they
do its steps: the async driver awaits the store and a future that a wake-up or a
timer sets; the sync driver blocks its own thread on a `threading.Event`, and
hands each store read to hitlkit's background loop.

```python
outcome = wait_sync(Waiting(store, record, endpoint, notices))
outcome = await wait_async(Waiting(store, record, endpoint, notices))
```
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hitlkit import _notify, _ops, _policy_ops, _reading
from hitlkit._decisions import (
    Expire,
    Look,
    OutageBegan,
    OutageOver,
    Sleep,
    Step,
    reminder_delay,
    wait_flow,
)
from hitlkit._exceptions import StoreUnavailableError
from hitlkit._records import EventRecord, Outcome, outcome_key, outcome_prefix, utcnow
from hitlkit._store import Store
from hitlkit._sync import SIGNAL_CHECK_SECONDS, background_loop, run_sync
from hitlkit._watch import watcher_for

__all__ = ["Waiting", "wait_async", "wait_sync"]

log = logging.getLogger("hitlkit")
notify_log = logging.getLogger("hitlkit.notify")


@dataclass(frozen=True)
class Waiting:
    """What a driver needs of the event it waits for."""

    store: Store
    record: EventRecord
    endpoint: str
    notices: _notify.Notices | None

    next_due: list[datetime] = field(default_factory=list)
    """Under a policy: when the next escalation step is due (set by each look)."""

    def subscribe(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Have `wake()` called (from any thread) when an outcome may have been recorded
        (or, under a policy, a vote, a delegation or a step)."""
        watcher = watcher_for(self.store)
        end = watcher.subscribe(
            outcome_key(self.record.id),
            outcome_prefix(self.record.id),
            wake,
            self.record.poll_interval_seconds,
            endpoint=self.endpoint,
        )
        if self.record.policy is None:
            return end
        end_votes = watcher.subscribe_prefix(
            _policy_ops.policy_prefix(self.record.id),
            lambda keys: wake() if keys else None,
            self.record.poll_interval_seconds,
        )

        def unsubscribe() -> None:
            end()
            end_votes()

        return unsubscribe

    async def ready(self) -> None:
        """Return once an outcome recorded from now on wakes the subscriber."""
        await watcher_for(self.store).ready(outcome_prefix(self.record.id))
        if self.record.policy is not None:
            await watcher_for(self.store).ready(_policy_ops.policy_prefix(self.record.id))

    def flow(self) -> Generator[Step, Outcome | None, Outcome]:
        due = None
        if self.record.policy is not None and self.record.policy.escalation:
            due = lambda: self.next_due[-1] if self.next_due else None  # noqa: E731
        return wait_flow(self.record.deadline, self.record.poll_interval_seconds, next_due=due)

    async def do(self, step: Step, *, ready: bool = False) -> Outcome | None:
        """Carry out a step that is not a sleep (after `ready()`, if asked); return what the
        flow is sent back."""
        if ready:
            await self.ready()
        if isinstance(step, Look) and self.record.policy is not None:
            return await self._settle()
        if isinstance(step, Look):
            return await _reading.load_outcome(self.store, self.record.id)
        if isinstance(step, Expire):
            if self.record.policy is not None:
                return await self._settle()
            return await _ops.expire_event(self.store, self.record)
        if isinstance(step, OutageBegan):
            log.warning(
                "waiting for %s (%s): %s; retrying until it answers",
                self.record.name,
                self.record.id,
                step.error,
            )
        elif isinstance(step, OutageOver):
            log.warning("store %s answers again", self.store.url)
        return None

    async def _settle(self) -> Outcome | None:
        """Under a policy, a look settles: the votes may decide, a step may be due, the
        deadline may have passed. The steps' URLs, which only this process holds, are told."""
        records = await _policy_ops.read_records(self.store, self.record)
        outcome = await _policy_ops.settle(self.store, self.record, records=records)
        assert self.record.policy is not None
        if outcome is None and self.record.policy.escalation:
            # Read again for the steps this look took: the next one is due after them.
            records = await _policy_ops.read_records(self.store, self.record)
            following = _policy_ops.next_step_at(self.record, records)
            self.next_due[:] = [] if following is None else [following]
        notices = self.notices
        if notices is not None and (notices.steps or notices.escalate_to):
            try:
                await _policy_ops.tell_steps(
                    self.store, self.record, records, notices, self.endpoint
                )
                if outcome is not None and outcome.action == "escalate":
                    urls = (*notices.escalate_to, *(u for us in notices.steps for u in us))
                    await _notify.tell_once(
                        self.store,
                        self.record,
                        tuple(dict.fromkeys(urls)),
                        self.endpoint,
                        kind="escalated",
                        title="No decision by the deadline",
                    )
            except Exception as exc:  # a notification never fails the wait
                notify_log.warning("could not tell of %s's escalation: %s", self.record.id, exc)
        return outcome

    def reminder(self) -> Coroutine[Any, Any, None] | None:
        """What sends the reminder when it is due (and never raises), if there is one."""
        notices = self.notices
        if notices is None or notices.remind_before is None:
            return None
        delay = reminder_delay(self.record.deadline, notices.remind_before, utcnow())

        async def remind_later(notices: _notify.Notices) -> None:
            await asyncio.sleep(delay)
            try:
                await _notify.remind(self.store, self.record, notices, self.endpoint)
            except Exception as exc:  # a reminder never fails the wait
                notify_log.warning("could not send the reminder of %s: %s", self.record.id, exc)

        return remind_later(notices)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def wait_async(waiting: Waiting) -> Outcome:
    """Wait on the running loop: one future per look, which a wake-up or a timer sets.

    A waiter holds little more than that while it waits, so ten thousand of them
    fit in a process.
    """
    loop = asyncio.get_running_loop()
    woken: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        with contextlib.suppress(RuntimeError):  # the waiting loop has closed
            loop.call_soon_threadsafe(_settle, woken)

    unsubscribe = waiting.subscribe(wake)
    remind = waiting.reminder()
    reminder = None if remind is None else asyncio.ensure_future(remind)
    flow = waiting.flow()
    try:
        # Notified first, then look: an answer that lands at any moment after is seen.
        await waiting.ready()
        step = next(flow)
        while True:
            if isinstance(step, Look):
                woken = loop.create_future()  # wake-ups from now on end the next sleep
            reply = None
            try:
                if isinstance(step, Sleep):
                    timer = loop.call_later(step.seconds, _settle, woken)
                    try:
                        await woken
                    finally:
                        timer.cancel()
                else:
                    reply = await waiting.do(step)
            except StoreUnavailableError as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(reply)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        unsubscribe()
        if reminder is not None:
            reminder.cancel()


def wait_sync(waiting: Waiting) -> Outcome:
    """Wait in this thread; each store read runs on hitlkit's background loop."""
    woken = threading.Event()
    unsubscribe: Callable[[], None] | None = None

    async def first_look(step: Step) -> Outcome | None:
        # Subscribed, ready and looked in one trip to the loop; an event already
        # resolved, whose wait ends here, is unsubscribed on that trip too.
        nonlocal unsubscribe
        end = unsubscribe = waiting.subscribe(woken.set)
        outcome = await waiting.do(step, ready=True)
        if outcome is not None:
            unsubscribe = None
            end()
        return outcome

    remind = waiting.reminder()
    reminder: concurrent.futures.Future[None] | None = None
    if remind is not None:
        reminder = asyncio.run_coroutine_threadsafe(remind, background_loop())
    flow = waiting.flow()
    try:
        step = next(flow)
        while True:
            if isinstance(step, Look):
                woken.clear()  # wake-ups from now on end the next sleep
            reply = None
            try:
                if isinstance(step, Sleep):
                    _sleep(woken, step.seconds)
                elif unsubscribe is None and isinstance(step, Look):
                    reply = run_sync(first_look(step))
                else:
                    reply = run_sync(waiting.do(step))
            except StoreUnavailableError as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(reply)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        if unsubscribe is not None:
            unsubscribe()
        if reminder is not None:
            reminder.cancel()


def _sleep(woken: threading.Event, seconds: float) -> None:
    """Block until `woken` is set or `seconds` pass.

    The main thread, where Python runs signal handlers, waits in slices, so that
    a Ctrl-C is never left unnoticed until the wait ends.
    """
    main = threading.current_thread() is threading.main_thread()
    end = time.monotonic() + seconds
    while not woken.is_set():
        left = end - time.monotonic()
        if left <= 0:
            return
        woken.wait(min(left, SIGNAL_CHECK_SECONDS if main else threading.TIMEOUT_MAX))
