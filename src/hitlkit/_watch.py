"""One watcher per store per process: wakes waiters when their outcome may be in.

Waiters subscribe the outcome key they wait for, under their run's outcome
prefix; the app's streams subscribe whole prefixes. The watcher serves them all
from hitlkit's background loop:

- writes made through the same store object wake their subscribers at once;
- where the store can notify (a local folder), one notification source per top
  folder of the store (`outcomes/`, and `events/` for the app's inbox) reports
  other processes' writes, fanned out to the subscribers by prefix, with a slow
  safety re-list of each subscribed prefix. Subscribing one more run opens
  nothing: no folder, no watch, no thread;
- elsewhere, or when notifications are unavailable (said once per store, with
  the fix), it lists each subscribed prefix once per poll interval, whatever the
  number of waiters, and wakes those whose key appeared; when the waiters name a
  web app, it also reads the app's stream of the run's answers (`_push`), so an
  answer recorded through any app serving the store wakes them before the next
  listing.

A subscriber looks at the store only after `ready()`: then a change made after
its look is reported to it, so it never sleeps on a stale view. A wake-up only
says "look again": the subscriber re-reads its key from the store, which stays
the source of truth.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from hitlkit._push import follow_app
from hitlkit._runtime import Runtime, runtime
from hitlkit._store import Store

__all__ = ["Watcher", "watcher_for"]

log = logging.getLogger("hitlkit")

SAFETY_RELIST_SECONDS = 30.0
# A source outlives its last subscriber this long, so waits one after another share it.
LINGER_SECONDS = 1.0

Wake = Callable[[], None]
OnKeys = Callable[[set[str]], None]


@dataclass(frozen=True)
class _Subscription:
    on_keys: OnKeys
    poll_interval: float


@dataclass
class _Source:
    """The notifications of one top folder of the store, shared by every prefix under it.

    `complete` resolves once the source is in place: True when it reports every
    change from then on, False when the prefixes under it must be polled.
    """

    complete: concurrent.futures.Future[bool] = field(default_factory=concurrent.futures.Future)
    task: concurrent.futures.Future[None] | None = None
    prefixes: int = 0


async def _complete(source: _Source) -> bool:
    """`source.complete`, once known; a waiter cancelled meanwhile leaves it to the others."""
    if source.complete.done():
        return source.complete.result()
    return await asyncio.shield(asyncio.wrap_future(source.complete))


def _top(prefix: str) -> str:
    """The top folder holding `prefix` ("outcomes/"), or "" for the whole store."""
    head, slash, _ = prefix.partition("/")
    return head + slash if slash else ""


class Watcher:
    """Wakes waiters on `store` when keys they wait for may have been written."""

    def __init__(self, store: Store, owner: Runtime) -> None:
        self.store = store
        self.owner = owner
        self._lock = threading.Lock()
        self._subs: dict[str, dict[int, _Subscription]] = {}
        self._tasks: dict[str, concurrent.futures.Future[None]] = {}
        self._endpoints: dict[str, str | None] = {}
        self._sources: dict[str, _Source] = {}
        self._nudges: dict[str, asyncio.Event] = {}  # touched on the background loop only
        self._ids = itertools.count()
        self._warned = False
        self._failing: set[str] = set()  # prefixes whose last listing failed (loop only)
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
        function that ends the subscription. Await `ready(prefix)` before looking.
        """

        def on_keys(keys: set[str]) -> None:
            if key in keys:
                wake()

        return self._add(prefix, _Subscription(on_keys, poll_interval), endpoint)

    def subscribe_prefix(self, prefix: str, on_keys: OnKeys, poll_interval: float) -> Wake:
        """Call `on_keys(keys)` (from any thread) with keys under `prefix` that may be new.

        Keys already reported may be reported again. Returns a function that ends
        the subscription. Await `ready(prefix)` before looking.
        """
        return self._add(prefix, _Subscription(on_keys, poll_interval), None)

    async def ready(self, prefix: str) -> None:
        """Return once a change under `prefix` made from now on reaches its subscribers.

        Instant when the store's notifications are already in place, or when it
        has none (then polling, which starts with the subscription, finds it).
        """
        with self._lock:
            source = self._sources.get(_top(prefix))
        if source is not None:
            await _complete(source)

    def subscriber_count(self) -> int:
        """How many subscriptions are open (waiters and app streams), over all prefixes."""
        with self._lock:
            return sum(len(subs) for subs in self._subs.values())

    def _add(self, prefix: str, sub: _Subscription, endpoint: str | None) -> Wake:
        sub_id = next(self._ids)
        with self._lock:
            subs = self._subs.setdefault(prefix, {})
            subs[sub_id] = sub
            if len(subs) == 1:
                self._endpoints[prefix] = endpoint
                source = self._source_for(_top(prefix))
                source.prefixes += 1
                self._tasks[prefix] = self._start(self._follow(prefix, source))
            else:  # its listing may be asleep for a longer interval than this one asks
                self.owner.loop().call_soon_threadsafe(self._nudge, prefix)

        def unsubscribe() -> None:
            with self._lock:
                subs = self._subs.get(prefix, {})
                if subs.pop(sub_id, None) is None or subs:
                    return
                del self._subs[prefix]
                self._endpoints.pop(prefix, None)
                self._tasks.pop(prefix).cancel()
                source = self._sources.get(_top(prefix))
                if source is not None:
                    source.prefixes -= 1
                    if source.prefixes == 0:
                        self.owner.loop().call_soon_threadsafe(self._stop_later, _top(prefix))

        return unsubscribe

    def _start(self, coro: Coroutine[Any, Any, None]) -> concurrent.futures.Future[None]:
        return asyncio.run_coroutine_threadsafe(coro, self.owner.loop())

    # -- notifications ----------------------------------------------------------

    def _source_for(self, top: str) -> _Source:
        """The source of `top`, started if needed (with the lock held)."""
        source = self._sources.get(top)
        if source is None:
            source = self._sources[top] = _Source()
            changes = self.store.watch(top)
            if changes is None:  # the store cannot notify: its prefixes are polled
                source.complete.set_result(False)
            else:
                source.task = self._start(self._notifications(top, source, changes))
        return source

    async def _notifications(
        self, top: str, source: _Source, changes: AsyncGenerator[set[str], None]
    ) -> None:
        try:
            async for keys in changes:
                if not source.complete.done():
                    source.complete.set_result(True)
                self._wake_keys(keys)
        except Exception as exc:
            if threading.main_thread().is_alive():  # not a side effect of the process exiting
                self._warn(exc)
        finally:
            if not source.complete.done():
                source.complete.set_result(False)
            with contextlib.suppress(Exception):
                await changes.aclose()
        self._fall_back(top, source)  # the source failed or ended (it was not stopped)

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "%s; waiters poll every poll_interval_seconds instead until this process restarts",
                exc,
            )

    def _fall_back(self, top: str, failed: _Source) -> None:
        """After notifications under `top` failed, poll its prefixes at their intervals."""
        with self._lock:
            if self._sources.get(top) is not failed:
                return
            source = self._sources[top] = _Source(prefixes=failed.prefixes)
            source.complete.set_result(False)
            for prefix, follower in list(self._tasks.items()):
                if _top(prefix) == top:
                    follower.cancel()
                    self._tasks[prefix] = self._start(self._follow(prefix, source))

    def _stop_later(self, top: str) -> None:
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self._stop_if_idle, top)

    def _stop_if_idle(self, top: str) -> None:
        with self._lock:
            source = self._sources.get(top)
            if source is None or source.prefixes > 0:
                return
            del self._sources[top]
        if source.task is not None:
            source.task.cancel()

    # -- waking -----------------------------------------------------------------

    def _on_write(self, key: str) -> None:
        self._wake_keys({key})

    def _wake_keys(self, keys: set[str]) -> None:
        """Hand each key to the subscribers of every prefix of it."""
        found: dict[str, set[str]] = {}
        with self._lock:
            for key in keys:
                # A run's waiters follow its own prefix; the inbox follows all of `events/`.
                for end in range(len(key) + 1):
                    if key[:end] in self._subs:
                        found.setdefault(key[:end], set()).add(key)
        for prefix, prefix_keys in found.items():
            self._wake(prefix, prefix_keys)

    def _wake(self, prefix: str, keys: set[str]) -> None:
        with self._lock:
            subs = list(self._subs.get(prefix, {}).values())
        for sub in subs:
            sub.on_keys(keys)

    # -- polling ----------------------------------------------------------------

    def _interval(self, prefix: str) -> float:
        with self._lock:
            subs = self._subs.get(prefix, {}).values()
            return min((s.poll_interval for s in subs), default=SAFETY_RELIST_SECONDS)

    async def _follow(self, prefix: str, source: _Source) -> None:
        """Re-list `prefix`: seldom, for safety, where notified; else once per poll interval."""
        if await _complete(source):
            await self._poll(prefix, lambda: SAFETY_RELIST_SECONDS)
            return
        pushed = None
        endpoint = self._endpoints.get(prefix)
        if endpoint is not None and not self.store.in_process:
            pushed = asyncio.ensure_future(
                follow_app(endpoint, prefix, partial(self._wake, prefix))
            )
        try:
            await self._poll(prefix, lambda: self._interval(prefix))
        finally:
            if pushed is not None:
                pushed.cancel()

    def _nudge(self, prefix: str) -> None:
        nudged = self._nudges.get(prefix)
        if nudged is not None:
            nudged.set()

    async def _poll(self, prefix: str, interval: Callable[[], float]) -> None:
        loop = asyncio.get_running_loop()
        nudged = self._nudges[prefix] = asyncio.Event()
        try:
            listed = loop.time()
            while True:
                # Until the interval asked now has passed: a subscriber that joins asking
                # a shorter one nudges the sleep, so it is never held to a longer one.
                left = listed + interval() - loop.time()
                if left > 0:
                    nudged.clear()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(nudged.wait(), left)
                    continue
                listed = loop.time()
                await self._list(prefix)
        finally:
            if self._nudges.get(prefix) is nudged:
                del self._nudges[prefix]

    async def _list(self, prefix: str) -> None:
        """List `prefix` once and wake its subscribers with what is there."""
        try:
            keys = set(await self.store.list_async(prefix))
        except RuntimeError:  # the store was closed, or the process is ending
            return
        except Exception as exc:
            if prefix not in self._failing:  # once an outage, not once a listing
                self._failing.add(prefix)
                log.warning("listing %s failed (%s); retrying until it answers", prefix, exc)
            return
        if prefix in self._failing:
            self._failing.discard(prefix)
            log.warning("listing %s in %s works again", prefix, self.store.url)
        self._wake(prefix, keys)


_watchers_lock = threading.Lock()


def watcher_for(store: Store) -> Watcher:
    """The watcher of `store` in the current runtime, kept on the store so both live as long.

    A watcher made in a runtime that has ended since is replaced: its tasks ended with it.
    """
    owner = runtime()
    # A store object that stands for another (the app's timed view of its store) shares its
    # watcher: one watch, and one listing per prefix, however many objects stand for it.
    home: Store = getattr(store, "stands_for", None) or store
    with _watchers_lock:
        watcher: Watcher | None = home.__dict__.get("_hitlkit_watcher")
        if watcher is None or watcher.owner is not owner:
            if watcher is not None:
                watcher.store.remove_listener(watcher._on_write)
            watcher = home.__dict__["_hitlkit_watcher"] = Watcher(store, owner)
        return watcher
