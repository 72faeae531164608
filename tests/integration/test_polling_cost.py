"""Waiting on a store that cannot notify costs one listing per run per poll interval.

However many events wait in one process, the watcher lists their run's outcome
prefix once per interval and reads nothing else until an outcome appears.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Iterator

import pytest

import hitlkit as hitl
from hitlkit import Event, Store
from hitlkit._watch import watcher_for
from hitlkit.testing import CountingStore

POLL_SECONDS = 0.2
WATCH_SECONDS = 1.0
SETTLE_SECONDS = 30.0


@pytest.fixture
def counting(s3_store: Store) -> Iterator[CountingStore]:
    """The test S3 bucket, counted."""
    the_store = CountingStore(s3_store)
    yield the_store
    the_store.close()


async def _calls_while_waiting(store: CountingStore, waiters: int) -> tuple[Counter[str], float]:
    """Start `waiters` waits in one run; return the calls made during a quiet second."""

    def ask(i: int) -> Awaitable[Event[int]]:
        return hitl.new_event.aio(
            f"q{i}",
            data_type=int,
            store=store,
            run_id=f"run-{waiters}",
            poll_interval_seconds=POLL_SECONDS,
        )

    events = await asyncio.gather(*(ask(i) for i in range(waiters)))
    store.reset()
    waits = [asyncio.ensure_future(event.wait.aio()) for event in events]
    try:
        # Each waiter looks once as it starts, and the run's one follower asks the store whether
        # it can notify; after that only the follower's listings should reach the store.
        watcher = watcher_for(store)

        def settled() -> tuple[int, int, int]:
            counts = store.counts
            return (watcher.subscriber_count(), counts["get_async"], counts["watch"])

        for _ in range(round(SETTLE_SECONDS / 0.01)):
            if settled() == (waiters, waiters, 1):
                break
            await asyncio.sleep(0.01)
        assert settled() == (waiters, waiters, 1)
        store.reset()
        started = time.monotonic()
        await asyncio.sleep(WATCH_SECONDS)
        calls, elapsed = Counter(store.counts), time.monotonic() - started
        await events[0].answer.aio(1)
        assert await waits[0] == 1
        return calls, elapsed
    finally:
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)


@pytest.mark.parametrize("waiters", [1, 100, 1000])
def test_waiting_costs_one_listing_per_interval_whatever_the_number_of_waiters(
    counting: CountingStore, waiters: int
) -> None:
    calls, elapsed = asyncio.run(_calls_while_waiting(counting, waiters))
    assert set(calls) == {"list_async"}, calls  # no reads per event while nothing is answered
    assert 1 <= calls["list_async"] <= elapsed / POLL_SECONDS + 1
