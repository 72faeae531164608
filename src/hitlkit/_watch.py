"""One watcher per store per process: wakes waiters when their outcome may be in.

Waiters subscribe the outcome key they wait for. The watcher follows each
run's outcome prefix that has subscribers, with one task per prefix on
hitlkit's background loop:

- writes made through the same store object wake their waiter at once;
- where the store can notify (a local folder), other processes' writes wake
  waiters as the filesystem reports them, with a slow safety re-list;
- elsewhere it lists the prefix once per poll interval, whatever the number
  of waiters, and wakes those whose key appeared; when the waiters name a web
  app, it also reads the app's stream of the run's answers (`_push`), so an
  answer recorded through any app serving the store wakes them before the
  next listing.

A wake-up only says "look again": the waiter re-reads its key from the store,
which stays the source of truth. The app's stream itself follows a prefix
here, with `subscribe_prefix`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from hitlkit._push import follow_app
from hitlkit._store import Store
from hitlkit._sync import background_loop

__all__ = ["Watcher", "watcher_for"]

log = logging.getLogger("hitlkit")

SAFETY_RELIST_SECONDS = 30.0

Wake = Callable[[], None]
OnKeys = Callable[[set[str]], None]


@dataclass(frozen=True)
class _Subscription:
    on_keys: OnKeys
    poll_interval: float


class Watcher:
    """Wakes waiters on `store` when keys they wait for may have been written."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._subs: dict[str, dict[int, _Subscription]] = {}
        self._tasks: dict[str, concurrent.futures.Future[None]] = {}
        self._ids = itertools.count()
        store.add_listener(self._on_write)

    def subscribe(
        self,
        key: str,
        prefix: str,
        wake: Wake,
        poll_interval: float,
        *,
        endpoint: str | None = None,
    ) -> Wake:
        """Call `wake()` (from any thread) when `key` under `prefix` may have changed.

        `endpoint`, the web app's URL, lets answers recorded through the app wake
        the waiter early; the first one given for a prefix is used. Returns a
        function that ends the subscription.
        """

        def on_keys(keys: set[str]) -> None:
            if key in keys:
                wake()

        return self._add(prefix, _Subscription(on_keys, poll_interval), endpoint)

    def subscribe_prefix(self, prefix: str, on_keys: OnKeys, poll_interval: float) -> Wake:
        """Call `on_keys(keys)` (from any thread) with keys under `prefix` that may be new.

        Keys already reported may be reported again. Returns a function that ends
        the subscription.
        """
        return self._add(prefix, _Subscription(on_keys, poll_interval), None)

    def _add(self, prefix: str, sub: _Subscription, endpoint: str | None) -> Wake:
        sub_id = next(self._ids)
        with self._lock:
            self._subs.setdefault(prefix, {})[sub_id] = sub
            if prefix not in self._tasks:
                self._tasks[prefix] = asyncio.run_coroutine_threadsafe(
                    self._follow(prefix, endpoint), background_loop()
                )

        def unsubscribe() -> None:
            with self._lock:
                subs = self._subs.get(prefix, {})
                subs.pop(sub_id, None)
                if not subs:
                    self._subs.pop(prefix, None)
                    task = self._tasks.pop(prefix, None)
                    if task is not None:
                        task.cancel()

        return unsubscribe

    def subscriber_count(self) -> int:
        """How many subscriptions are open (waiters and app streams), over all prefixes."""
        with self._lock:
            return sum(len(subs) for subs in self._subs.values())

    def _on_write(self, key: str) -> None:
        # A run's waiters follow its own prefix; the inbox follows all of `events/`.
        with self._lock:
            prefixes = [prefix for prefix in self._subs if key.startswith(prefix)]
        for prefix in prefixes:
            self._wake(prefix, {key})

    def _wake(self, prefix: str, keys: set[str]) -> None:
        with self._lock:
            subs = list(self._subs.get(prefix, {}).values())
        for sub in subs:
            sub.on_keys(keys)

    def _interval(self, prefix: str) -> float:
        with self._lock:
            subs = self._subs.get(prefix, {}).values()
            return min((s.poll_interval for s in subs), default=SAFETY_RELIST_SECONDS)

    async def _follow(self, prefix: str, endpoint: str | None) -> None:
        changes = self.store.watch(prefix)
        if changes is not None:
            relist = asyncio.ensure_future(self._poll(prefix, lambda: SAFETY_RELIST_SECONDS))
            try:
                async for keys in changes:
                    self._wake(prefix, keys)
            except Exception:
                log.warning("notifications for %s failed; polling instead", self.store.url)
            finally:
                relist.cancel()
                with contextlib.suppress(Exception):
                    await changes.aclose()
        pushed = None
        if changes is None and endpoint is not None and not self.store.in_process:
            pushed = asyncio.ensure_future(
                follow_app(endpoint, prefix, partial(self._wake, prefix))
            )
        try:
            await self._poll(prefix, lambda: self._interval(prefix))
        finally:
            if pushed is not None:
                pushed.cancel()

    async def _poll(self, prefix: str, interval: Callable[[], float]) -> None:
        while True:
            await asyncio.sleep(interval())
            try:
                keys = set(await self.store.list_async(prefix))
            except Exception:
                log.warning("listing %s in %s failed; retrying", prefix, self.store.url)
                continue
            self._wake(prefix, keys)


_watchers_lock = threading.Lock()


def watcher_for(store: Store) -> Watcher:
    """The process-wide watcher of `store`, kept on the store so both live as long."""
    with _watchers_lock:
        watcher: Watcher | None = store.__dict__.get("_hitlkit_watcher")
        if watcher is None:
            watcher = store.__dict__["_hitlkit_watcher"] = Watcher(store)
        return watcher
