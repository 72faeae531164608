"""The one owner of what hitlkit runs in the background of a process.

A `Runtime` holds hitlkit's event loop (run on a thread of its own), every
background thread hitlkit starts, the process-wide state kept between calls
(caches, the notification outbox, the apps started here), and the hooks that
stop all of it. Code that would start a thread asks `runtime().start_thread`;
code that keeps state between calls asks `runtime().get(factory)`.

The process has one runtime, made on first use and shut down at exit by the only
`atexit` hook hitlkit registers. A test can run hitlkit in a runtime of its own,
and find nothing left running once it ends:

```python
with Runtime() as rt:
    event = hitlkit.new_event("q", data_type=int, store=store, serve=False)
    ...
# every thread it started has stopped; its loop is closed
```
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["STOP_TIMEOUT_SECONDS", "Runtime", "runtime"]

T = TypeVar("T")

log = logging.getLogger("hitlkit")

STOP_TIMEOUT_SECONDS = 1.0
"""How long shutting down waits for the loop's tasks, and then for its threads, to end."""


class Runtime:
    """hitlkit's background machinery for one process (or one test): see the module."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._threads: list[threading.Thread] = []
        self._hooks: list[Callable[[], None]] = []
        self._late_hooks: list[Callable[[], None]] = []
        self._parts: dict[Callable[[Runtime], Any], Any] = {}
        self._previous: Runtime | None = None
        self.stopping = threading.Event()
        """Set when shutdown begins: threads that loop wait on it between rounds."""

    # -- what it owns ---------------------------------------------------------

    def loop(self) -> asyncio.AbstractEventLoop:
        """The runtime's event loop, running in a daemon thread started on first use.

        Raises `RuntimeError` once the runtime has shut down.
        """
        loop, thread = self._loop, self._loop_thread
        if loop is not None and thread is not None and thread.is_alive():
            return loop  # the common case, without the lock: every blocking call asks
        with self._lock:
            thread = self._loop_thread
            if self._loop is None or thread is None or not thread.is_alive():
                if self.stopping.is_set():
                    raise RuntimeError("this hitlkit runtime has shut down")
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._loop_thread = threading.Thread(target=run, name="hitlkit-loop", daemon=True)
                self._loop_thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def in_loop_thread(self) -> bool:
        """Whether the calling thread is the one that runs `loop()`."""
        return self._loop_thread is not None and threading.current_thread() is self._loop_thread

    def start_thread(
        self, target: Callable[..., object], *args: object, name: str, **kwargs: object
    ) -> threading.Thread:
        """Start `target(*args, **kwargs)` on a daemon thread that `shutdown` waits for.

        The thread must end once `stopping` is set, or once a shutdown hook (given
        with `on_shutdown`) has told it to.
        """
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()
        return thread

    def on_shutdown(self, hook: Callable[[], None], *, late: bool = False) -> None:
        """Call `hook()` at shutdown: hooks run newest first, before the loop stops;
        `late` ones after it (for what the others may still need while they stop)."""
        with self._lock:
            (self._late_hooks if late else self._hooks).append(hook)

    def get(self, factory: Callable[[Runtime], T]) -> T:
        """The runtime's one `factory(runtime)`, made on first use: its process-wide state."""
        with self._lock:
            if factory not in self._parts:
                self._parts[factory] = factory(self)
            part: T = self._parts[factory]
            return part

    def threads(self) -> list[threading.Thread]:
        """The threads it started that still run, its loop's included."""
        with self._lock:
            threads = [*self._threads, self._loop_thread]
        return [t for t in threads if t is not None and t.is_alive()]

    # -- the end --------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop everything: hooks, then the loop's tasks and the loop, late hooks, threads.

        Called at exit for the process's runtime, and by `with Runtime()` at its end.
        Left running, a watcher's request could complete in a native client's own
        threads while the interpreter is torn down, which can abort the process.
        """
        self.stopping.set()
        _run_hooks(self._take(self._hooks))
        self._stop_loop()
        _run_hooks(self._take(self._late_hooks))
        with self._lock:
            self._parts.clear()
            threads = list(self._threads)
        # One grace for them all: a thread stuck in a call (a slow notification
        # endpoint) is a daemon, and does not hold the exit up.
        until = time.monotonic() + STOP_TIMEOUT_SECONDS
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, until - time.monotonic()))

    def _take(self, hooks: list[Callable[[], None]]) -> list[Callable[[], None]]:
        with self._lock:
            taken = hooks[::-1]
            hooks.clear()
        return taken

    def _stop_loop(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._loop_thread
        if loop is None or thread is None or not thread.is_alive():
            return
        if threading.current_thread() is thread:
            return  # shut down from its own loop: the loop ends with the process

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=STOP_TIMEOUT_SECONDS)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(STOP_TIMEOUT_SECONDS * 2)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT_SECONDS)
        if not thread.is_alive():
            loop.close()

    # -- `with Runtime() as rt:` -----------------------------------------------

    def __enter__(self) -> Runtime:
        global _current
        with _current_lock:
            self._previous, _current = _current, self
        return self

    def __exit__(self, *exc_info: object) -> None:
        global _current
        try:
            self.shutdown()
        finally:
            with _current_lock:
                _current = self._previous


def _run_hooks(hooks: list[Callable[[], None]]) -> None:
    for hook in hooks:
        try:
            hook()
        except Exception:  # one part that fails to stop must not keep the others running
            log.exception("could not stop %r", hook)


_current: Runtime | None = None
_process: Runtime | None = None
_current_lock = threading.Lock()


def runtime() -> Runtime:
    """The runtime in use: the innermost `with Runtime()`, else the process's own."""
    global _process
    found = _current or _process
    if found is not None:
        return found  # the common case, without the lock: every blocking call asks
    with _current_lock:
        if _current is not None:
            return _current
        if _process is None:
            _process = Runtime()
            atexit.register(_process.shutdown)
        return _process
