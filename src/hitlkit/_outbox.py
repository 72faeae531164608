"""Deliver notifications in the background, retrying failures with exponential backoff.

A few daemon threads take deliveries from one queue ordered by when each is due.
A failed attempt is logged (logger `hitlkit.notify`) and tried again after 1, 2,
4, 8 seconds..., `MAX_ATTEMPTS` times in all; then it is given up, with an error
in the log. Nothing here ever raises into the caller, and nothing blocks it: a
workflow neither waits for a slow endpoint nor fails over a dead one.

At exit, the process waits at most `EXIT_GRACE_SECONDS` for deliveries under way
or due by then, and logs what it leaves undelivered.

```python
outbox().submit(Delivery(label="json://hooks.example.com/…", send=post, on_done=audit))
```
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hitlkit._runtime import Runtime, runtime

__all__ = ["EXIT_GRACE_SECONDS", "MAX_ATTEMPTS", "Delivery", "Outbox", "Undeliverable", "outbox"]

log = logging.getLogger("hitlkit.notify")

MAX_ATTEMPTS = 6
"""Attempts per delivery: the first, then retries after 1, 2, 4, 8 and 16 seconds."""
FIRST_RETRY_SECONDS = 1.0
EXIT_GRACE_SECONDS = 5.0
"""The longest an exiting process waits for notifications still under way."""
WORKERS = 4


class Undeliverable(Exception):
    """Raised by a delivery's `send` when no retry can help (a refused credential, a
    channel that does not exist): the delivery ends at once, failed, with this reason."""


@dataclass
class Delivery:
    """One message to one target.

    - `label`: the target as it may be logged (credentials redacted);
    - `send`: makes one attempt, returning whether it was delivered (may raise);
    - `on_done`: told the final result, once, from a delivery thread.
    """

    label: str
    send: Callable[[], bool]
    on_done: Callable[[bool], None] = field(default=lambda ok: None)
    attempts: int = 0


class Outbox:
    """A queue of deliveries and the daemon threads (of `owner`) that work it off."""

    def __init__(
        self,
        owner: Runtime,
        *,
        workers: int = WORKERS,
        max_attempts: int = MAX_ATTEMPTS,
        first_retry_seconds: float = FIRST_RETRY_SECONDS,
    ) -> None:
        self._workers = workers
        self._max_attempts = max_attempts
        self._first_retry = first_retry_seconds
        self._due: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._busy = 0
        self._threads: list[threading.Thread] = []
        self._cond = threading.Condition()
        self._owner = owner
        self._closed = False

    def submit(self, delivery: Delivery) -> None:
        """Queue `delivery` to be attempted now; returns at once."""
        with self._cond:
            self._push(time.monotonic(), delivery)
            while len(self._threads) < self._workers:
                thread = self._owner.start_thread(self._work, name="hitlkit-notify")
                self._threads.append(thread)

    def drain(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for the queue to empty; return how many are left."""
        until = time.monotonic() + timeout
        with self._cond:
            while self._busy or self._due:
                now = time.monotonic()
                if now >= until or (not self._busy and self._due[0][0] > until):
                    break  # what is left cannot finish in time
                self._cond.wait(until - now)
            return self._busy + len(self._due)

    def close(self) -> None:
        """Stop the threads once their attempt under way ends; what is left is dropped."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _push(self, due: float, delivery: Delivery) -> None:
        heapq.heappush(self._due, (due, next(self._order), delivery))
        self._cond.notify_all()

    def _next(self) -> Delivery | None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                if self._due and self._due[0][0] <= now:
                    self._busy += 1
                    return heapq.heappop(self._due)[2]
                self._cond.wait(self._due[0][0] - now if self._due else None)
            return None

    def _work(self) -> None:
        while (delivery := self._next()) is not None:
            delivery.attempts += 1
            ok, hopeless = _attempt(delivery)
            retry = not (ok or hopeless) and delivery.attempts < self._max_attempts
            if retry:
                delay = self._first_retry * 2 ** (delivery.attempts - 1)
                log.warning(
                    "notification to %s failed (attempt %d of %d); retrying in %g s",
                    delivery.label,
                    delivery.attempts,
                    self._max_attempts,
                    delay,
                )
            else:
                if not ok and not hopeless:
                    log.error(
                        "notification to %s failed %d times; giving up",
                        delivery.label,
                        delivery.attempts,
                    )
                _finish(delivery, ok)
            with self._cond:
                self._busy -= 1
                if retry:
                    self._push(time.monotonic() + delay, delivery)
                self._cond.notify_all()


def _attempt(delivery: Delivery) -> tuple[bool, bool]:
    """One attempt: whether it was delivered, and whether no retry can help."""
    try:
        return delivery.send(), False
    except Undeliverable as exc:
        log.error("notification to %s failed, and no retry can help: %s", delivery.label, exc)
        return False, True
    except Exception as exc:  # a plugin's bug must not kill the delivery thread
        log.warning("notification to %s raised %s: %s", delivery.label, type(exc).__name__, exc)
        return False, False


def _finish(delivery: Delivery, ok: bool) -> None:
    try:
        delivery.on_done(ok)
    except Exception as exc:  # the audit entry is a record, not a reason to stop
        log.warning("could not record the notification to %s: %s", delivery.label, exc)


def outbox() -> Outbox:
    """The process's outbox (the runtime's), made on first use; at exit it gets
    `EXIT_GRACE_SECONDS` for what is under way."""
    return runtime().get(_made)


def _made(owner: Runtime) -> Outbox:
    box = Outbox(owner)

    def drain_then_close() -> None:
        left = box.drain(EXIT_GRACE_SECONDS)
        box.close()
        if left:
            log.error("%d notification(s) left undelivered at exit", left)

    owner.on_shutdown(drain_then_close)
    return box
