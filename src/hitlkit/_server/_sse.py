"""Server-sent event streams that follow keys in a store: the app's change streams.

`follow` subscribes to key prefixes through the store's watcher (which polls
stores that cannot notify), and a `Follower` says what each stream sends when
it starts, when keys are reported and when it has been quiet for a while.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence

from starlette.responses import StreamingResponse

from hitlkit._store import Store
from hitlkit._watch import watcher_for

__all__ = ["KEEPALIVE", "KEEPALIVE_SECONDS", "Follower", "event_stream", "follow"]

KEEPALIVE_SECONDS = 15.0
KEEPALIVE = ": keep-alive\n\n"
"""A comment line: keeps the connection open through proxies, and is ignored by clients."""


class Follower(ABC):
    """What one stream sends; `start` and `changed` are its own, the rest has defaults."""

    @abstractmethod
    async def start(self) -> str:
        """The first message, sent once subscribed: a change made from now on is reported."""

    @abstractmethod
    async def changed(self, keys: set[str]) -> str:
        """The messages about reported `keys` (some may be old news); "" sends nothing."""

    def seconds_to_wait(self) -> float:
        """How long to wait for keys before `quiet`."""
        return KEEPALIVE_SECONDS

    def quiet(self) -> str:
        """The message when `seconds_to_wait` passed with no keys reported."""
        return KEEPALIVE


async def follow(
    store: Store, prefixes: Sequence[str], poll_seconds: float, follower: Follower
) -> AsyncIterator[str]:
    """The messages of `follower` about keys under `prefixes`, until the client goes away.

    `poll_seconds` is how often a store that cannot notify is listed while subscribed.
    """
    loop = asyncio.get_running_loop()
    found: asyncio.Queue[set[str]] = asyncio.Queue()

    def on_keys(keys: set[str]) -> None:
        with contextlib.suppress(RuntimeError):  # the app's loop has closed
            loop.call_soon_threadsafe(found.put_nowait, keys)

    watcher = watcher_for(store)
    # Ended by the `finally` when the client goes away: the response is cancelled then.
    unsubscribes = [watcher.subscribe_prefix(p, on_keys, poll_seconds) for p in prefixes]
    try:
        for prefix in prefixes:  # notified first, then look: no change slips in between
            await watcher.ready(prefix)
        yield await follower.start()
        while True:
            try:
                keys = await asyncio.wait_for(found.get(), follower.seconds_to_wait())
            except asyncio.TimeoutError:
                yield follower.quiet()
                continue
            while not found.empty():
                keys |= found.get_nowait()
            message = await follower.changed(keys)
            if message:
                yield message
    finally:
        for unsubscribe in unsubscribes:
            unsubscribe()


def event_stream(messages: AsyncIterator[str]) -> StreamingResponse:
    """`messages` as a response of server-sent events, neither cached nor buffered by proxies."""
    return StreamingResponse(
        messages,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
