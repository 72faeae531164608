"""Blocking calls on the background loop, interrupted at any moment."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest

from hitlkit._sync import _Handoff, background_loop, run_sync

INTERRUPTS = 10_000

# Ctrl-C lands at random moments of `run_sync`, ten thousand times: each must
# leave nothing pending on the loop, and the process must exit without a word
# on stderr (a task destroyed while pending prints a warning at exit).
INTERRUPTED_WAITS = textwrap.dedent(
    f"""
    import asyncio, faulthandler, gc, random, signal, threading, time
    from hitlkit._sync import background_loop, run_sync

    faulthandler.dump_traceback_later(100, exit=True)  # a hang shows where it is

    complaints = []
    background_loop().set_exception_handler(lambda loop, context: complaints.append(context))
    main = threading.main_thread().ident

    def interrupt_after(delay):
        time.sleep(delay)
        signal.pthread_kill(main, signal.SIGINT)

    async def wait_a_second():
        await asyncio.sleep(1)

    async def others():
        return len(asyncio.all_tasks()) - 1

    interrupted = 0
    for _ in range({INTERRUPTS}):
        interrupter = threading.Thread(target=interrupt_after, args=(random.uniform(0, 2e-4),))
        try:
            interrupter.start()
            run_sync(wait_a_second())
        except KeyboardInterrupt:
            interrupted += 1
        interrupter.join()
    deadline = time.monotonic() + 5
    while run_sync(others()) and time.monotonic() < deadline:
        time.sleep(0.01)
    gc.collect()
    print(interrupted, run_sync(others()), len(complaints))
    """
)


def test_ctrl_c_at_any_moment_leaves_nothing_pending() -> None:
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_WAITS],
        capture_output=True,
        text=True,
        timeout=150,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    interrupted, left, complaints = map(int, done.stdout.split())
    # Python may, very rarely, run a Ctrl-C's handler where it cannot raise;
    # that call then simply ends after its second.
    assert interrupted > INTERRUPTS * 0.99
    assert (left, complaints) == (0, 0)


@pytest.fixture
def held_loop() -> Iterator[threading.Event]:
    """The background loop, kept busy until the returned event is set."""
    release = threading.Event()
    background_loop().call_soon_threadsafe(release.wait, 5)
    yield release
    release.set()


def test_stopped_before_it_starts_the_coroutine_is_closed_unrun(
    held_loop: threading.Event,
) -> None:
    ran = threading.Event()

    async def work() -> None:
        ran.set()

    coro = work()
    handoff = _Handoff(coro)
    handoff.abandon(background_loop())  # Ctrl-C before the handoff was asked for
    background_loop().call_soon_threadsafe(handoff.start)
    held_loop.set()

    run_sync(asyncio.sleep(0.01))
    assert inspect.getcoroutinestate(coro) == "CORO_CLOSED"
    assert not ran.is_set()


def test_stopped_right_after_the_handoff_the_task_never_runs(held_loop: threading.Event) -> None:
    ran = threading.Event()

    async def work() -> None:
        ran.set()

    handoff = _Handoff(work())
    background_loop().call_soon_threadsafe(handoff.start)
    handoff.abandon(background_loop())  # Ctrl-C before the loop took it
    held_loop.set()

    with pytest.raises(concurrent.futures.CancelledError):
        handoff.result()
    assert not ran.is_set()


def test_stopped_while_running_the_task_is_cancelled() -> None:
    started = threading.Event()
    cleaned_up = threading.Event()

    async def work() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            cleaned_up.set()

    handoff = _Handoff(work())
    background_loop().call_soon_threadsafe(handoff.start)
    assert started.wait(5)

    handoff.abandon(background_loop())

    with pytest.raises(concurrent.futures.CancelledError):
        handoff.result()
    assert cleaned_up.is_set()


def test_results_and_errors_come_back_to_the_blocked_thread() -> None:
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    async def fail() -> None:
        raise LookupError("nope")

    assert run_sync(double(21)) == 42
    with pytest.raises(LookupError, match="nope"):
        run_sync(fail())
