"""Sending messages in the background: one daemon thread per message and target.

A message is handed over and the caller goes on at once. Each target is tried
up to `ATTEMPTS` times, waiting `FIRST_RETRY_SECONDS`, then twice as long each
time, between tries; every failure is logged on the "hitlkit.notify" logger,
naming the target without its credentials. Nothing here raises into the caller.

The threads are daemons, so a dead endpoint never keeps a process alive: at
exit, messages still on their way get `EXIT_WAIT_SECONDS` in all to finish,
then are given up (and logged).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable

__all__ = ["ATTEMPTS", "EXIT_WAIT_SECONDS", "FIRST_RETRY_SECONDS", "drain", "pending", "send"]

log = logging.getLogger("hitlkit.notify")

ATTEMPTS = 5
FIRST_RETRY_SECONDS = 1.0
EXIT_WAIT_SECONDS = 5.0

Attempt = Callable[[], bool]
"""One try at sending: returns whether the target took the message (may raise)."""

_lock = threading.Lock()
_done = threading.Condition(_lock)
_running: set[threading.Thread] = set()
_stopping = threading.Event()
_exit_hook_registered = False


def send(attempt: Attempt, *, what: str, target: str) -> None:
    """Try `attempt` in a background thread until it succeeds or the tries run out.

    `what` names the message and `target` the destination (without credentials)
    in the log.
    """
    global _exit_hook_registered
    if _stopping.is_set():
        log.error("not sending %s to %s: the process is exiting", what, target)
        return
    thread = threading.Thread(
        target=_run, args=(attempt, what, target), name="hitlkit-notify", daemon=True
    )
    with _lock:
        if not _exit_hook_registered:
            atexit.register(_at_exit)
            _exit_hook_registered = True
        _running.add(thread)
    thread.start()


def pending() -> int:
    """How many deliveries are still on their way."""
    with _lock:
        return len(_running)


def drain(timeout: float) -> bool:
    """Wait up to `timeout` seconds for every delivery on its way; return whether all ended."""
    deadline = time.monotonic() + timeout
    with _done:
        while _running:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            _done.wait(remaining)
    return True


def _run(attempt: Attempt, what: str, target: str) -> None:
    try:
        _deliver(attempt, what, target)
    finally:
        with _done:
            _running.discard(threading.current_thread())
            _done.notify_all()


def _deliver(attempt: Attempt, what: str, target: str) -> None:
    for number in range(1, ATTEMPTS + 1):
        try:
            if attempt():
                log.info("sent %s to %s", what, target)
                return
            problem = "the target refused it or could not be reached"
        except Exception as exc:  # a broken plugin must not end the retries silently
            problem = f"{type(exc).__name__}: {exc}"
        if number == ATTEMPTS:
            log.error("gave up sending %s to %s after %d tries: %s", what, target, number, problem)
            return
        delay = FIRST_RETRY_SECONDS * 2 ** (number - 1)
        log.warning(
            "could not send %s to %s (try %d of %d: %s); trying again in %g s",
            what,
            target,
            number,
            ATTEMPTS,
            problem,
            delay,
        )
        if _stopping.wait(delay):
            log.error("gave up sending %s to %s: the process is exiting", what, target)
            return


def _at_exit() -> None:
    """Give messages on their way a bounded time, then let the daemon threads go."""
    finished = drain(EXIT_WAIT_SECONDS)
    _stopping.set()
    if not finished:
        log.error(
            "exiting with %d message(s) not sent after %g s; they are given up",
            pending(),
            EXIT_WAIT_SECONDS,
        )
