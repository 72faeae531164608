"""The watcher: a write made through a store object reaches every prefix that contains it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from hitlkit import MemoryStore
from hitlkit._watch import watcher_for

HOUR = 3600.0  # so long that only the write itself, not a listing, can wake anyone


def test_a_write_wakes_its_run_prefix_and_the_whole_events_prefix() -> None:
    store = MemoryStore()
    watcher = watcher_for(store)
    seen: dict[str, set[str]] = {"events/": set(), "events/abcd1234/": set(), "outcomes/": set()}
    woken = threading.Event()

    def follower(prefix: str) -> Callable[[], None]:
        def on_keys(keys: set[str]) -> None:
            seen[prefix] |= keys
            woken.set()

        return watcher.subscribe_prefix(prefix, on_keys, HOUR)

    unsubscribes = [follower(prefix) for prefix in seen]
    key = "events/abcd1234/abcd1234" + "0" * 16 + ".json"
    store.put_if_absent(key, b"{}")

    assert woken.wait(5)
    assert seen == {"events/": {key}, "events/abcd1234/": {key}, "outcomes/": set()}
    for unsubscribe in unsubscribes:
        unsubscribe()
    assert watcher.subscriber_count() == 0
