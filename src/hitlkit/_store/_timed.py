"""A store that times the calls made to another, and tells what was written: the app's
storage metrics."""

from __future__ import annotations

import builtins
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TypeVar

from hitlkit._store._base import Entry, Listener, Store

__all__ = ["CallObserver", "TimedStore", "WriteObserver"]

T = TypeVar("T")

CallObserver = Callable[[str, float, "BaseException | None"], None]
"""Told of each call: the operation (`get`, `put_if_absent`, `list`, `list_entries`,
`delete`, `probe`; an `_async` twin counts as its operation), its seconds, and the
error it raised."""
WriteObserver = Callable[[str, bytes], None]
"""Told of each key this store wrote (a create-once write that won), with its bytes."""


class TimedStore(Store):
    """Wraps a store: every call goes through, and `on_call` hears how long it took.

    It is the wrapped store as far as anyone can tell: the same URL, the same
    listeners (added to the wrapped store itself, so every write, through either
    object, reaches them), the same watch, and the same watcher in this process
    (`stands_for`: whichever object made it is the one it calls). `on_write` hears of
    each key written through it, after the write.

    ```python
    store = TimedStore(LocalStore(".hitl"), on_call=lambda op, s, error: print(op, s, error))
    store.get("events/x.json")      # get 0.00004 None
    ```
    """

    def __init__(
        self, inner: Store, *, on_call: CallObserver, on_write: WriteObserver | None = None
    ) -> None:
        super().__init__()
        self.inner = inner
        self.stands_for = inner
        self.url = inner.url
        self.in_process = inner.in_process
        self.reads_inline = inner.reads_inline
        self._on_call = on_call
        self._on_write = on_write

    def _timed(self, op: str, call: Callable[[], T]) -> T:
        start = time.perf_counter()
        try:
            result = call()
        except BaseException as exc:
            self._on_call(op, time.perf_counter() - start, exc)
            raise
        self._on_call(op, time.perf_counter() - start, None)
        return result

    async def _timed_async(self, op: str, call: Awaitable[T]) -> T:
        start = time.perf_counter()
        try:
            result = await call
        except BaseException as exc:
            self._on_call(op, time.perf_counter() - start, exc)
            raise
        self._on_call(op, time.perf_counter() - start, None)
        return result

    def _wrote(self, key: str, data: bytes, written: bool) -> bool:
        if written and self._on_write is not None:
            self._on_write(key, data)
        return written

    # -- the contract, passed through -----------------------------------------

    def put_if_absent(self, key: str, data: bytes, *, durable: bool = True) -> bool:
        written = self._timed(
            "put_if_absent", lambda: self.inner.put_if_absent(key, data, durable=durable)
        )
        return self._wrote(key, data, written)

    def get(self, key: str) -> bytes | None:
        return self._timed("get", lambda: self.inner.get(key))

    def list(self, prefix: str = "") -> builtins.list[str]:
        return self._timed("list", lambda: self.inner.list(prefix))

    def list_entries(
        self, prefix: str = "", *, start_after: str = "", limit: int | None = None
    ) -> builtins.list[Entry]:
        return self._timed(
            "list_entries",
            lambda: self.inner.list_entries(prefix, start_after=start_after, limit=limit),
        )

    def delete(self, key: str) -> None:
        self._timed("delete", lambda: self.inner.delete(key))

    async def put_if_absent_async(self, key: str, data: bytes, *, durable: bool = True) -> bool:
        call = self.inner.put_if_absent_async(key, data, durable=durable)
        return self._wrote(key, data, await self._timed_async("put_if_absent", call))

    async def get_async(self, key: str) -> bytes | None:
        return await self._timed_async("get", self.inner.get_async(key))

    async def list_async(self, prefix: str = "") -> builtins.list[str]:
        return await self._timed_async("list", self.inner.list_async(prefix))

    async def list_entries_async(
        self, prefix: str = "", *, start_after: str = "", limit: int | None = None
    ) -> builtins.list[Entry]:
        call = self.inner.list_entries_async(prefix, start_after=start_after, limit=limit)
        return await self._timed_async("list_entries", call)

    async def delete_async(self, key: str) -> None:
        await self._timed_async("delete", self.inner.delete_async(key))

    def probe(self) -> None:
        self._timed("probe", self.inner.probe)

    async def probe_async(self) -> None:
        await self._timed_async("probe", self.inner.probe_async())

    def watch(self, prefix: str) -> AsyncGenerator[set[str], None] | None:
        return self.inner.watch(prefix)

    def add_listener(self, listener: Listener) -> None:
        self.inner.add_listener(listener)

    def remove_listener(self, listener: Listener) -> None:
        self.inner.remove_listener(listener)

    def close(self) -> None:
        """Nothing to release: the wrapped store belongs to whoever made it."""
