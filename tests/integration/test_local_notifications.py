"""A local folder's notifications: no wake-up lost, bounded resources, honest fallback.

Answers here come through a second store object on the same folder (or another
process), so only the folder's notifications, never the writing object's own
in-process listeners, can wake the waiter.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import random
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import hitlkit as hitl
from hitlkit._watch import watcher_for

# Far below the 30 s safety re-list: a wait that ends within this was woken by a notification.
WITHIN_SECONDS = 10


def _answer_at(root: Path, offsets: dict[str, float]) -> threading.Thread:
    """Answer each event `offsets[id]` seconds from now, from another store object and loop."""
    start = time.monotonic()

    async def answer(store: hitl.Store, request_id: str, offset: float) -> None:
        await asyncio.sleep(start + offset - time.monotonic())
        await hitl.answer.aio(request_id, 7, store=store)

    async def answer_all() -> None:
        other = hitl.LocalStore(root)
        await asyncio.gather(*(answer(other, i, offset) for i, offset in offsets.items()))

    thread = threading.Thread(target=asyncio.run, args=(answer_all(),))
    thread.start()
    return thread


async def _wait_for_answers_landing_right_after_create(root: Path) -> None:
    store = hitl.LocalStore(root)  # notifications are not on yet
    events = [
        await hitl.new_event.aio("q", data_type=int, store=store, run_id=f"run-{i}")
        for i in range(20)
    ]
    offsets = {e.request_id: random.uniform(0, 0.05) for e in events}  # noqa: S311
    answerer = _answer_at(root, offsets)
    try:
        waits = asyncio.gather(*(event.wait.aio() for event in events))
        assert await asyncio.wait_for(waits, WITHIN_SECONDS) == [7] * 20
    finally:
        answerer.join()


def test_answers_landing_right_after_create_wake_their_waiters(tmp_path: Path) -> None:
    asyncio.run(_wait_for_answers_landing_right_after_create(tmp_path / "s"))


def test_following_a_run_creates_nothing_and_sees_its_first_answer(tmp_path: Path) -> None:
    root = tmp_path / "s"
    watcher = watcher_for(hitl.LocalStore(root))
    seen: queue.SimpleQueue[set[str]] = queue.SimpleQueue()
    prefix = "outcomes/abcd1234/"
    unsubscribe = watcher.subscribe_prefix(prefix, seen.put, 3600)
    try:
        asyncio.run(watcher.ready(prefix))
        assert not (root / "outcomes" / "abcd1234").exists()  # its first answer makes it
        key = f"{prefix}abcd1234{'0' * 16}.json"
        assert hitl.LocalStore(root).put_if_absent(key, b"{}")
        assert key in seen.get(timeout=WITHIN_SECONDS)
    finally:
        unsubscribe()


MANY_RUNS = textwrap.dedent(
    """
    import asyncio, json, os, sys, threading, time
    import hitlkit as hitl
    from hitlkit._watch import watcher_for

    RUNS = 200

    def inotify_instances():
        fds = os.listdir("/proc/self/fd")
        return sum(
            1 for fd in fds
            if os.path.exists(f"/proc/self/fd/{fd}")
            and os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:inotify"
        )

    def threads():
        return len(os.listdir("/proc/self/task"))

    async def main(root):
        store = hitl.LocalStore(root)
        events = [
            await hitl.new_event.aio("q", data_type=int, store=store, run_id=f"run-{i}")
            for i in range(RUNS)
        ]
        before = (inotify_instances(), threads())
        waits = [asyncio.ensure_future(event.wait.aio()) for event in events]
        while watcher_for(store).subscriber_count() < RUNS:
            await asyncio.sleep(0.01)
        await asyncio.sleep(1)  # whatever each run would start has started
        during = (inotify_instances(), threads())
        other = hitl.LocalStore(root)  # no in-process shortcut: only notifications wake
        started = time.monotonic()
        for i in (0, 99, 199):
            await hitl.answer.aio(events[i].request_id, i, store=other)
        got = await asyncio.wait_for(asyncio.gather(*(waits[i] for i in (0, 99, 199))), 25)
        print(json.dumps({
            "before": before, "during": during, "got": got,
            "seconds": time.monotonic() - started,
        }))
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)

    asyncio.run(main(sys.argv[1]))
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="counts inotify instances in /proc")
def test_waiting_on_many_runs_holds_one_watch_and_few_threads(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", MANY_RUNS, str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (instances_before, threads_before), (instances, threads) = report["before"], report["during"]
    assert instances - instances_before == 1  # one for the store, not one per run
    assert threads - threads_before <= 6, report  # the watch's own, and the loop's helpers
    assert report["got"] == [0, 99, 199]
    assert report["seconds"] < WITHIN_SECONDS


# Opens inotify instances until the kernel refuses one, then waits on two events of two runs
# in one store, answered by another store object: polling must carry the waits.
EXHAUSTED = textwrap.dedent(
    """
    import ctypes, json, os, sys, threading, time
    import hitlkit as hitl

    libc = ctypes.CDLL(None, use_errno=True)
    held = []
    while (fd := libc.inotify_init1(os.O_CLOEXEC)) >= 0:
        held.append(fd)
    assert ctypes.get_errno() == 24, ctypes.get_errno()  # EMFILE: the per-user limit

    root = sys.argv[1]
    store = hitl.LocalStore(root)
    events = [
        hitl.new_event("q", data_type=int, store=store, run_id=f"run-{i}",
                       poll_interval_seconds=0.2)
        for i in range(2)
    ]

    def answer():
        time.sleep(0.5)
        other = hitl.LocalStore(root)
        for i, event in enumerate(events):
            hitl.answer(event.request_id, i, store=other)

    threading.Thread(target=answer).start()
    started = time.monotonic()
    got = []
    threads = [threading.Thread(target=lambda e=e: got.append(e.wait())) for e in events]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"got": sorted(got), "seconds": time.monotonic() - started}))
    """
)


def _exhausting_command(tmp_path: Path) -> list[str]:
    """Run the child in a user namespace of its own with a low inotify limit, where allowed.

    There, exhausting the limit spares the other processes of this user. Elsewhere (no user
    namespaces) the child exhausts the user's real limit for the second it runs.
    """
    child = [sys.executable, "-c", EXHAUSTED, str(tmp_path / "s")]
    unshare = shutil.which("unshare")
    if unshare is not None:
        probe = subprocess.run(
            [unshare, "-Ur", "sh", "-c", "echo 8 > /proc/sys/user/max_inotify_instances"],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            script = 'echo 8 > /proc/sys/user/max_inotify_instances && exec "$@"'
            return [unshare, "-Ur", "sh", "-c", script, "sh", *child]
    if int(Path("/proc/sys/fs/inotify/max_user_instances").read_text()) > 1024:
        pytest.skip("no user namespaces, and a real inotify limit too high to exhaust")
    return child


@pytest.mark.skipif(sys.platform != "linux", reason="inotify is Linux's")
def test_with_the_inotify_limit_reached_waiters_poll_and_say_so_once(tmp_path: Path) -> None:
    done = subprocess.run(
        _exhausting_command(tmp_path), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["got"] == [0, 1]
    assert report["seconds"] < WITHIN_SECONDS  # polled every 0.2 s, not every 30
    warnings = [line for line in done.stderr.splitlines() if "notifications" in line]
    assert len(warnings) == 1, done.stderr  # once per store, not once per run
    assert "sysctl fs.inotify.max_user_instances=" in warnings[0]


def _inotify_watches() -> int:
    """The inotify watches this process holds, over all its inotify instances."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            lines = Path(f"/proc/self/fdinfo/{fd}").read_text().splitlines()
        except OSError:  # closed meanwhile
            continue
        count += sum(line.startswith("inotify wd:") for line in lines)
    return count


@pytest.mark.skipif(sys.platform != "linux", reason="counts inotify watches in /proc")
def test_links_planted_in_the_store_are_not_watched_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    for i in range(40):
        (outside / f"d{i}" / "e").mkdir(parents=True)
    root = tmp_path / "store"
    store = hitl.LocalStore(root)
    event = hitl.new_event("q", data_type=int, store=store, run_id="linked", serve=False)
    run = root / "outcomes" / event.request_id[:8]
    run.mkdir(parents=True)
    (root / "outcomes" / "zz").symlink_to(outside)  # planted before the watch
    (run / "l").symlink_to(outside)
    before = _inotify_watches()

    async def wait_then_plant() -> int:
        waiting = asyncio.ensure_future(event.wait.aio())
        await watcher_for(store).ready("outcomes/")
        staged = tmp_path / "staged" / "run"
        staged.mkdir(parents=True)
        (staged / "l").symlink_to(outside)
        staged.rename(root / "outcomes" / "ab12cd34")  # a folder holding a link, moved in
        await asyncio.sleep(0.3)
        held = _inotify_watches() - before
        await hitl.answer.aio(event.request_id, 7, store=hitl.LocalStore(root))
        assert await asyncio.wait_for(waiting, WITHIN_SECONDS) == 7
        return held

    held = asyncio.run(wait_then_plant())
    # outcomes/, the run and the folder moved in; not the 81 folders the links lead to.
    assert held <= 4


async def _wait_next_to_a_slower_poller(root: Path) -> None:
    store = hitl.LocalStore(root, notify=False)
    slow = await hitl.new_event.aio(
        "slow", int, poll_interval_seconds=3600, store=store, run_id="run-1", serve=False
    )
    fast = await hitl.new_event.aio(
        "fast", int, poll_interval_seconds=0.2, store=store, run_id="run-1", serve=False
    )
    slow_wait = asyncio.ensure_future(slow.wait.aio())
    await asyncio.sleep(0.3)  # the run's listing now sleeps for the slow waiter's hour
    fast_wait = asyncio.ensure_future(fast.wait.aio())
    await asyncio.sleep(0.3)
    # Through another store object: only a listing of the run can see it.
    await hitl.answer.aio(fast.request_id, 7, store=hitl.LocalStore(root, notify=False))
    try:
        assert await asyncio.wait_for(fast_wait, WITHIN_SECONDS) == 7
    finally:
        slow_wait.cancel()


def test_a_waiter_that_polls_more_often_is_not_held_to_an_earlier_waiters_interval(
    tmp_path: Path,
) -> None:
    # Waiters of one run share one listing: it must follow the shortest interval asked,
    # including one asked after the listing started sleeping.
    asyncio.run(_wait_next_to_a_slower_poller(tmp_path / "s"))


def test_a_removed_outcomes_folder_turns_waiting_into_polling(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = hitl.LocalStore(root)
    first = hitl.new_event("a", data_type=int, store=store, run_id="gone", serve=False)

    async def main() -> list[int]:
        waiting = asyncio.ensure_future(first.wait.aio())
        await asyncio.sleep(0.3)  # the wait has its watch in place
        await watcher_for(store).ready("outcomes/")
        shutil.rmtree(root / "outcomes")  # its watch goes, and nothing would watch it again
        await asyncio.sleep(0.3)
        later = hitl.new_event(
            "b", data_type=int, store=store, run_id="gone", serve=False, poll_interval_seconds=0.2
        )
        waiting_later = asyncio.ensure_future(later.wait.aio())
        await asyncio.sleep(0.3)
        other = hitl.LocalStore(root)
        await hitl.answer.aio(later.request_id, 2, store=other)
        await hitl.answer.aio(first.request_id, 1, store=other)
        got = await asyncio.wait_for(asyncio.gather(waiting, waiting_later), WITHIN_SECONDS)
        return list(got)

    assert asyncio.run(main()) == [1, 2]
