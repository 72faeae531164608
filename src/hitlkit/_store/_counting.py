"""A store that counts the calls made to another: what waiting costs, in requests."""

from __future__ import annotations

import builtins
import threading
from collections import Counter
from collections.abc import AsyncGenerator

from hitlkit._store._base import Entry, Store

__all__ = ["CountingStore"]


class CountingStore(Store):
    """Wraps a store and counts calls to each of its methods, by name.

    Every call goes through to the wrapped store; `counts["list_async"]` says
    how many times `list_async` was called, over all prefixes. Writes through
    either object reach listeners of both, so waiters behave as they would on
    the wrapped store.

    ```python
    store = CountingStore(LocalStore(".hitl", notify=False))
    event = hitlkit.new_event("n", data_type=int, store=store, poll_interval_seconds=0.2)
    ...
    store.counts["get_async"]     # reads made while waiting
    store.reset()
    ```
    """

    def __init__(self, inner: Store) -> None:
        super().__init__()
        self.inner = inner
        self.url = inner.url
        self.reads_inline = inner.reads_inline
        self.counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        inner.add_listener(self._announce)

    def reset(self) -> None:
        """Set every count back to zero."""
        with self._counts_lock:
            self.counts.clear()

    def _count(self, method: str) -> None:
        with self._counts_lock:
            self.counts[method] += 1

    def put_if_absent(self, key: str, data: bytes, *, durable: bool = True) -> bool:
        self._count("put_if_absent")
        return self.inner.put_if_absent(key, data, durable=durable)

    def get(self, key: str) -> bytes | None:
        self._count("get")
        return self.inner.get(key)

    def list(self, prefix: str = "") -> builtins.list[str]:
        self._count("list")
        return self.inner.list(prefix)

    def list_entries(
        self, prefix: str = "", *, start_after: str = "", limit: int | None = None
    ) -> builtins.list[Entry]:
        self._count("list_entries")
        return self.inner.list_entries(prefix, start_after=start_after, limit=limit)

    def delete(self, key: str) -> None:
        self._count("delete")
        self.inner.delete(key)

    async def list_entries_async(
        self, prefix: str = "", *, start_after: str = "", limit: int | None = None
    ) -> builtins.list[Entry]:
        self._count("list_entries_async")
        return await self.inner.list_entries_async(prefix, start_after=start_after, limit=limit)

    async def delete_async(self, key: str) -> None:
        self._count("delete_async")
        await self.inner.delete_async(key)

    def probe(self) -> None:
        self._count("probe")
        self.inner.probe()

    async def probe_async(self) -> None:
        self._count("probe_async")
        await self.inner.probe_async()

    async def put_if_absent_async(self, key: str, data: bytes, *, durable: bool = True) -> bool:
        self._count("put_if_absent_async")
        return await self.inner.put_if_absent_async(key, data, durable=durable)

    async def get_async(self, key: str) -> bytes | None:
        self._count("get_async")
        return await self.inner.get_async(key)

    async def list_async(self, prefix: str = "") -> builtins.list[str]:
        self._count("list_async")
        return await self.inner.list_async(prefix)

    def watch(self, prefix: str) -> AsyncGenerator[set[str], None] | None:
        self._count("watch")
        return self.inner.watch(prefix)

    def close(self) -> None:
        self.inner.remove_listener(self._announce)
        self.inner.close()
