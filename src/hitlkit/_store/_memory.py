"""A store kept in this process's memory: fast, shared by name, gone at exit."""

from __future__ import annotations

import builtins
import threading
from datetime import datetime, timezone

from hitlkit._store._base import Entry, Store, check_key, check_prefix, page_of

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """A store in memory, for tests and single-process use.

    It is a real backend with the same contract as the others: create-once
    writes, thread-safe, and notifications for waiters in this process.

    ```python
    from hitlkit.testing import MemoryStore
    event = hitlkit.new_event("n", data_type=int, store=MemoryStore())
    ```
    """

    in_process = True
    reads_inline = True

    def __init__(self, name: str = "") -> None:
        super().__init__()
        self.url = f"memory://{name}"
        self._data: dict[str, bytes] = {}
        self._created: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def put_if_absent(self, key: str, data: bytes, *, durable: bool = True) -> bool:
        check_key(key)
        with self._lock:
            if key in self._data:
                return False
            self._data[key] = bytes(data)
            self._created[key] = datetime.now(timezone.utc)
        self._announce(key)
        return True

    def get(self, key: str) -> bytes | None:
        check_key(key)
        with self._lock:
            return self._data.get(key)

    def list(self, prefix: str = "") -> builtins.list[str]:
        check_prefix(prefix)
        with self._lock:
            return sorted(k for k in self._data if k.startswith(prefix))

    def list_entries(
        self, prefix: str = "", *, start_after: str = "", limit: int | None = None
    ) -> builtins.list[Entry]:
        check_prefix(prefix)
        with self._lock:
            keys = page_of((k for k in self._data if k.startswith(prefix)), start_after, limit)
            return [Entry(key, self._created[key]) for key in keys]

    def delete(self, key: str) -> None:
        check_key(key)
        with self._lock:
            self._data.pop(key, None)
            self._created.pop(key, None)

    async def put_if_absent_async(self, key: str, data: bytes, *, durable: bool = True) -> bool:
        return self.put_if_absent(key, data)

    async def get_async(self, key: str) -> bytes | None:
        return self.get(key)

    async def list_async(self, prefix: str = "") -> builtins.list[str]:
        return self.list(prefix)

    async def list_entries_async(
        self, prefix: str = "", *, start_after: str = "", limit: int | None = None
    ) -> builtins.list[Entry]:
        return self.list_entries(prefix, start_after=start_after, limit=limit)

    async def delete_async(self, key: str) -> None:
        self.delete(key)
