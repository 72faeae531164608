"""The store contract: a few key-value operations every backend provides.

Keys are relative, `/`-separated paths made of letters, digits, `.`, `_`
and `-` (no empty or dot-only segments). Values are bytes. Writes are
create-once: a key, once written, is never changed, which is what makes
"first answer wins" hold across processes and hosts. A key may be deleted, by
retention only, and never while its event is pending.
"""

from __future__ import annotations

import asyncio
import builtins
import contextvars
import errno
import functools
import inspect
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Concatenate, NamedTuple, ParamSpec, TypeVar, cast

from hitlkit._exceptions import ConfigurationError, StoreUnavailableError

__all__ = ["STORE_THREADS", "Entry", "Store", "check_key", "error_cause", "reports_outage"]

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="Store")

STORE_THREADS = 8
"""Threads per store for its blocking calls: a slow bucket holds at most these, never the
event loop's own executor, which the app and other stores need."""

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


class Entry(NamedTuple):
    """A key as listed by `Store.list_entries`, with when it was written."""

    key: str
    created_at: datetime
    """When the key was written (timezone-aware, UTC), as the backend tells it."""


def page_of(keys: Iterable[str], start_after: str, limit: int | None) -> builtins.list[str]:
    """The sorted `keys` after `start_after`, at most `limit` of them."""
    after = sorted(key for key in keys if key > start_after)
    return after if limit is None else after[:limit]


class Store(ABC):
    """A place to keep event records and outcomes.

    Subclasses implement the sync methods; the `_async` twins default to
    running them on the store's own threads (at most `STORE_THREADS`), and
    backends with native async I/O override them. Successful writes are
    announced to in-process listeners, so a waiter in the same process wakes
    at once.

    A store that does not answer (a bucket that is down, a full or read-only
    disk) raises `StoreUnavailableError`; a record that cannot be read as one
    (a folder in its place, an unreadable file) raises `CorruptRecordError`.

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
        self._executor: ThreadPoolExecutor | None = None

    # -- the contract -------------------------------------------------------

    @abstractmethod
    def put_if_absent(self, key: str, data: bytes, *, durable: bool = True) -> bool:
        """Write `data` at `key` unless the key exists; return whether it was written.

        The write is atomic: readers see all of `data` or nothing, even if the
        writing process dies midway. Of several concurrent writers, exactly one
        gets `True`. With `durable=False` the write may be lost if the machine
        fails before the system writes it out on its own (a local folder skips its
        flushes): for what can be rebuilt, such as an empty index entry.
        """

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The bytes stored at `key`, or `None` if there is nothing."""

    @abstractmethod
    def list(self, prefix: str = "") -> builtins.list[str]:
        """Every key that starts with `prefix`, sorted."""

    @abstractmethod
    def list_entries(
        self, prefix: str = "", *, start_after: str = "", limit: int | None = None
    ) -> builtins.list[Entry]:
        """The keys that start with `prefix`, sorted, each with when it was written.

        Only keys after `start_after` (a whole key, compared as text) come, at most
        `limit` of them: a caller pages through a long listing, and a backend that
        lists in pages (a bucket) stops once it has `limit`.
        """

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove `key`, if it is there.

        For retention only: records are create-once, and "first answer wins" holds
        only while a key stays. Never delete a pending event's record or outcome.
        """

    def probe(self) -> None:
        """A cheap call that raises `StoreUnavailableError` when the store cannot be used.

        For readiness checks. Reading a key, present or not, shows that a folder or
        the memory answers; a bucket overrides this to list, which fails for a bucket
        that does not exist (reading a missing key there is only "not found").
        """
        self.get(PROBE_KEY)

    async def put_if_absent_async(self, key: str, data: bytes, *, durable: bool = True) -> bool:
        """Async twin of `put_if_absent`."""
        return await self.in_thread(self.put_if_absent, key, data, durable=durable)

    async def get_async(self, key: str) -> bytes | None:
        """Async twin of `get`."""
        return await self.in_thread(self.get, key)

    async def list_async(self, prefix: str = "") -> builtins.list[str]:
        """Async twin of `list`."""
        return await self.in_thread(self.list, prefix)

    async def list_entries_async(
        self, prefix: str = "", *, start_after: str = "", limit: int | None = None
    ) -> builtins.list[Entry]:
        """Async twin of `list_entries`."""
        return await self.in_thread(self.list_entries, prefix, start_after=start_after, limit=limit)

    async def delete_async(self, key: str) -> None:
        """Async twin of `delete`."""
        await self.in_thread(self.delete, key)

    async def probe_async(self) -> None:
        """Async twin of `probe`."""
        await self.in_thread(self.probe)

    def watch(self, prefix: str) -> AsyncGenerator[set[str], None] | None:
        """Changes under `prefix` made by other processes, as sets of keys.

        The first set, possibly empty, comes once the watch is in place: every
        change made from then on is reported. Returns `None` when the backend
        cannot notify; callers then poll with `list`. The iterator runs until it
        is closed, and raises `OSError` (saying why, and the fix) when
        notifications are unavailable.
        """
        return None

    def close(self) -> None:
        """Release resources held by the store (subclasses call this too)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    # -- blocking calls and failures --------------------------------------

    async def in_thread(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a blocking call on this store's own threads, as `asyncio.to_thread` would."""
        executor = self._executor
        if executor is None:
            with self._listeners_lock:
                executor = self._executor
                if executor is None:
                    executor = self._executor = ThreadPoolExecutor(
                        STORE_THREADS, thread_name_prefix="hitlkit-store"
                    )
        call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(executor, call)

    def unavailable(self, cause: str | BaseException) -> StoreUnavailableError:
        """The error for a failure of the store itself, named by its URL and the cause."""
        if isinstance(cause, str):
            return StoreUnavailableError(self.url, cause)
        return StoreUnavailableError(
            self.url, error_cause(cause), hint=failure_hint(cause, self.url)
        )

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


def reports_outage(
    *kinds: type[BaseException],
) -> Callable[[Callable[Concatenate[S, P], R]], Callable[Concatenate[S, P], R]]:
    """Make a store method (sync or async) raise `StoreUnavailableError` for `kinds`.

    Failures a method handles itself (a missing key, a corrupt record) never get here.
    """

    def decorate(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
        if inspect.iscoroutinefunction(method):

            @functools.wraps(method)
            async def run_async(self: S, *args: P.args, **kwargs: P.kwargs) -> Any:
                try:
                    return await method(self, *args, **kwargs)
                except kinds as exc:
                    raise self.unavailable(exc) from exc

            return cast("Callable[Concatenate[S, P], R]", run_async)

        @functools.wraps(method)
        def run(self: S, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(self, *args, **kwargs)
            except kinds as exc:
                raise self.unavailable(exc) from exc

        return cast("Callable[Concatenate[S, P], R]", run)

    return decorate


_URL = re.compile(r"\s*\b[a-z][a-z0-9+.-]*://\S+")
_XML = re.compile(r":?\s*<\?xml.*$")
_PATH = re.compile(r" (?:for|at) (?:path|location) [^\s:]+")
_ROOT_MESSAGE = re.compile(r'message: "([^"]+)"')
_TIMING = re.compile(r" in [0-9.]+(?:ns|µs|us|ms|s)\b")
_RETRIES = re.compile(r" in [0-9.]+\w*s, after (\d+) retries, max_retries: \d+, retry_timeout: \w+")
MAX_CAUSE_LENGTH = 300


def error_cause(exc: BaseException) -> str:
    """What went wrong, in one short line without paths or addresses.

    An operating-system error gives its description and code ("No space left on
    device (ENOSPC)"); others (obstore's) their first line, URLs removed, and the
    innermost message of their debug dump ("Connection refused").
    """
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno in errno.errorcode:
        name = errno.errorcode[exc.errno]
        return f"{exc.strerror or name} ({name})"
    text = str(exc)
    first = _PATH.sub("", _XML.sub("", _URL.sub("", (text.splitlines() or [""])[0])))
    first = " ".join(_TIMING.sub("", _RETRIES.sub(r" after \1 retries", first)).split())
    roots = _ROOT_MESSAGE.findall(text)
    if roots and roots[-1] not in first:
        first = f"{first} ({roots[-1]})" if first else roots[-1]
    first = first or type(exc).__name__
    return first if len(first) <= MAX_CAUSE_LENGTH else first[: MAX_CAUSE_LENGTH - 3] + "..."


_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"NoSuchBucket|ContainerNotFound|bucket does not exist|404 Not Found", re.I),
        "the bucket (or container) does not exist: create it, or correct the store URL",
    ),
    (
        re.compile(
            r"InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|AuthenticationFailed|"
            r"ExpiredToken|lacked the necessary privileges|401 Unauthorized|403 Forbidden",
            re.I,
        ),
        "the credentials were refused: check {credentials} and what they may do in the bucket",
    ),
    (
        re.compile(r"builder error", re.I),
        "an http:// address needs {allow_http}, or use https",
    ),
    (
        re.compile(r"Connection refused|dns error|timed out|error sending request", re.I),
        "nothing answered at the store's address: check that it is up, and {endpoint}",
    ),
)
_OS_HINTS = {
    errno.ENOTDIR: "the store must be a folder, not a file: give another path",
    errno.EACCES: "this user may not use the folder: check its owner and modes (`hitl doctor`)",
    errno.EPERM: "this user may not use the folder: check its owner and modes (`hitl doctor`)",
    errno.ENOSPC: "the disk is full: free some space",
    errno.EDQUOT: "the disk quota is used up: free some space",
    errno.EROFS: "the file system is read-only: give a store on a writable one",
}


_PROVIDERS = {
    "s3": ("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"),
    "gs": ("GOOGLE_APPLICATION_CREDENTIALS", "the network"),
    "az": ("AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY", "the network"),
}


def failure_hint(exc: BaseException, url: str = "") -> str | None:
    """What to do about a store failure at `url`, when its cause is a known one."""
    if isinstance(exc, OSError) and exc.errno in _OS_HINTS:
        return _OS_HINTS[exc.errno]
    text = str(exc)
    hint = next((hint for pattern, hint in _HINTS if pattern.search(text)), None)
    scheme = url.partition("://")[0]
    credentials, endpoint = _PROVIDERS.get(
        "az" if scheme.startswith("abfs") else scheme, ("the credentials", "its address")
    )
    allow_http = "AWS_ALLOW_HTTP=true" if scheme == "s3" else "the provider's allow-HTTP setting"
    return hint and hint.format(credentials=credentials, endpoint=endpoint, allow_http=allow_http)


PROBE_KEY = "index/v1"
"""The small key `probe` reads: the index's marker, written once per store."""

OBJECT_SCHEMES = ("s3", "gs", "az", "abfs", "abfss")
"""URL schemes of buckets, served by `ObjectStore`."""


def unsupported_url(url: str) -> ConfigurationError:
    return ConfigurationError(
        f"unsupported store URL {url!r}: expected a folder path, file://PATH, memory://NAME, "
        "s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or az://CONTAINER/PREFIX"
    )
