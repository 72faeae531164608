"""A store kept in this process's memory: fast, shared by name, gone at exit."""

from __future__ import annotations

import builtins
import threading

from hitlkit._store._base import Store, check_key, check_prefix

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
        self._lock = threading.Lock()

    def put_if_absent(self, key: str, data: bytes) -> bool:
        check_key(key)
        with self._lock:
            if key in self._data:
                return False
            self._data[key] = bytes(data)
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

    async def put_if_absent_async(self, key: str, data: bytes) -> bool:
        return self.put_if_absent(key, data)

    async def get_async(self, key: str) -> bytes | None:
        return self.get(key)

    async def list_async(self, prefix: str = "") -> builtins.list[str]:
        return self.list(prefix)
