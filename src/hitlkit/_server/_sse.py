"""Server-sent event streams that follow keys in a store: the app's change streams.

`follow` subscribes to key prefixes through the store's one watcher in this process
(which polls stores that cannot notify, once per prefix however many streams follow
it), and a `Follower` says what each stream sends when it starts, when keys are
reported and when something is due. `follow` adds the heartbeat and ends the stream
after its time; `EventStream` sends it and says when it is over, however it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Sequence
from datetime import datetime, timezone

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from hitlkit._store import Store
from hitlkit._watch import watcher_for

__all__ = ["KEEPALIVE", "EventStream", "Follower", "end_streams", "event_id", "follow"]

KEEPALIVE = ": keep-alive\n\n"
"""A comment line: keeps the connection open through proxies, and is ignored by clients."""
CLOSING = ": closing; connect again\n\n"

# The queues of the streams open on each event loop: a server that stops ends them
# first (`end_streams`), so that it need not cut them off, nor wait for them.
_open: dict[asyncio.AbstractEventLoop, set[asyncio.Queue[set[str] | None]]] = {}


def end_streams() -> None:
    """End the streams open on the running loop, each with its closing comment."""
    for queue in _open.get(asyncio.get_running_loop(), ()):
        queue.put_nowait(None)


def event_id(when: datetime) -> str:
    """An event's `id:` line: its time in ISO 8601 UTC, a cursor for `since=` and
    `Last-Event-ID`."""
    return f"id: {when.astimezone(timezone.utc).isoformat().replace('+00:00', 'Z')}\n"


class Follower(ABC):
    """What one stream sends; `start` and `changed` are its own, the rest has defaults."""

    @abstractmethod
    async def start(self) -> str:
        """The first message, sent once subscribed: a change made from now on is reported."""

    @abstractmethod
    async def changed(self, keys: set[str]) -> str:
        """The messages about reported `keys` (some may be old news); "" sends nothing."""

    def seconds_to_wait(self) -> float:
        """How long until `due` may have something to say, if no keys are reported before."""
        return math.inf

    def due(self) -> str:
        """The message when the stream waited for keys in vain (`seconds_to_wait`, or
        the heartbeat's time, passed); "" sends nothing."""
        return ""


async def follow(
    store: Store,
    prefixes: Sequence[str],
    poll_seconds: float,
    follower: Follower,
    *,
    heartbeat_seconds: float,
    max_seconds: float,
) -> AsyncGenerator[str, None]:
    """The messages of `follower` about keys under `prefixes`, until the client goes away
    or `max_seconds` have passed.

    `poll_seconds` is how often a store that cannot notify is listed while subscribed.
    A comment line goes out when nothing else did for `heartbeat_seconds`.
    """
    loop = asyncio.get_running_loop()
    found: asyncio.Queue[set[str] | None] = asyncio.Queue()

    def on_keys(keys: set[str]) -> None:
        with contextlib.suppress(RuntimeError):  # the app's loop has closed
            loop.call_soon_threadsafe(found.put_nowait, keys)

    watcher = watcher_for(store)
    # Ended by the `finally` when the client goes away: the response is cancelled then.
    unsubscribes = [watcher.subscribe_prefix(p, on_keys, poll_seconds) for p in prefixes]
    _open.setdefault(loop, set()).add(found)
    try:
        for prefix in prefixes:  # notified first, then look: no change slips in between
            await watcher.ready(prefix)
        yield await follower.start()
        ends = loop.time() + max_seconds
        spoke = loop.time()
        while (now := loop.time()) < ends:
            wait = min(follower.seconds_to_wait(), spoke + heartbeat_seconds - now, ends - now)
            message = ""
            try:
                keys = await asyncio.wait_for(found.get(), max(0.0, wait))
            except asyncio.TimeoutError:
                message = follower.due()
            else:
                while keys is not None and not found.empty():
                    more = found.get_nowait()
                    keys = None if more is None else keys | more
                if keys is None:  # the server is stopping
                    break
                message = await follower.changed(keys)
            if not message and loop.time() - spoke >= heartbeat_seconds:
                message = KEEPALIVE
            if message:
                yield message
                spoke = loop.time()
        yield CLOSING
    finally:
        streams = _open.get(loop, set())
        streams.discard(found)
        if not streams:
            _open.pop(loop, None)
        for unsubscribe in unsubscribes:
            unsubscribe()


class EventStream(StreamingResponse):
    """`messages` as server-sent events, neither cached nor buffered by proxies.

    `on_close` runs once the response is over, however it ended: done, failed, or
    the client went away (even before the first message).
    """

    def __init__(
        self, messages: AsyncGenerator[str, None], *, on_close: Callable[[], None]
    ) -> None:
        super().__init__(
            messages,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        self._messages = messages
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()
            with contextlib.suppress(RuntimeError):  # still running: it is ending anyway
                await self._messages.aclose()
