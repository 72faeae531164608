"""The store contract: a few key-value operations every backend provides.

Keys are relative, `/`-separated paths made of letters, digits, `.`, `_`
and `-` (no empty or dot-only segments). Values are bytes. Writes are
create-once: a key, once written, is never changed, which is what makes
"first answer wins" hold across processes and hosts.
"""

from __future__ import annotations

import asyncio
import builtins
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable

from hitlkit._exceptions import ConfigurationError

__all__ = ["Store", "check_key"]

_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(?:/[A-Za-z0-9_][A-Za-z0-9._-]*)*")

Listener = Callable[[str], None]


def check_key(key: str) -> str:
    """Return `key` if it is a valid store key, else raise `ValueError`."""
    if _KEY.fullmatch(key) is None:
        raise ValueError(f"invalid store key {key!r}: expected segments of [A-Za-z0-9._-]")
    return key


def check_prefix(prefix: str) -> str:
    """Return `prefix` if it is empty or a valid key followed by an optional `/`."""
    if prefix:
        check_key(prefix.removesuffix("/"))
    return prefix


class Store(ABC):
    """A place to keep event records and outcomes.

    Subclasses implement the sync methods; the `_async` twins default to
    running them in a worker thread, and backends with native async I/O
    override them. Successful writes are announced to in-process listeners,
    so a waiter in the same process wakes at once.

    ```python
    store = MemoryStore()
    store.put_if_absent("events/a.json", b"{}")   # True
    store.put_if_absent("events/a.json", b"{}")   # False: already there
    store.get("events/a.json")                    # b"{}"
    store.list("events/")                         # ["events/a.json"]
    ```
    """

    #: A URL naming this store, safe to show (no credentials).
    url: str
    #: Whether only this process can write the store (then every write is announced here).
    in_process: bool = False
    #: Whether `get_async` answers without waiting (a local folder, memory): then reading
    #: two keys one after the other is cheaper than starting two tasks.
    reads_inline: bool = False

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()

    # -- the contract -------------------------------------------------------

    @abstractmethod
    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Write `data` at `key` unless the key exists; return whether it was written.

        The write is atomic: readers see all of `data` or nothing, even if the
        writing process dies midway. Of several concurrent writers, exactly one
        gets `True`.
        """

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The bytes stored at `key`, or `None` if there is nothing."""

    @abstractmethod
    def list(self, prefix: str = "") -> builtins.list[str]:
        """Every key that starts with `prefix`, sorted."""

    async def put_if_absent_async(self, key: str, data: bytes) -> bool:
        """Async twin of `put_if_absent`."""
        return await asyncio.to_thread(self.put_if_absent, key, data)

    async def get_async(self, key: str) -> bytes | None:
        """Async twin of `get`."""
        return await asyncio.to_thread(self.get, key)

    async def list_async(self, prefix: str = "") -> builtins.list[str]:
        """Async twin of `list`."""
        return await asyncio.to_thread(self.list, prefix)

    def watch(self, prefix: str) -> AsyncGenerator[set[str], None] | None:
        """Changes under `prefix` made by other processes, as sets of keys.

        The first set, possibly empty, comes once the watch is in place: every
        change made from then on is reported. Returns `None` when the backend
        cannot notify; callers then poll with `list`. The iterator runs until it
        is closed, and raises `OSError` (saying why, and the fix) when
        notifications are unavailable.
        """
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources held by the store."""

    # -- in-process notifications ---------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(key)` after every successful write through this object."""
        with self._listeners_lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling `listener`."""
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _announce(self, key: str) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


OBJECT_SCHEMES = ("s3", "gs", "az", "abfs", "abfss")
"""URL schemes of buckets, served by `ObjectStore`."""


def unsupported_url(url: str) -> ConfigurationError:
    return ConfigurationError(
        f"unsupported store URL {url!r}: expected a folder path, file://PATH, memory://NAME, "
        "s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or az://CONTAINER/PREFIX"
    )
