"""Sync calls with `.aio` twins, run on one background event loop.

`@syncify` turns `async def f(...)` into an object you call plainly (it blocks)
or through `f.aio(...)` (a coroutine). The plain call runs the coroutine on a
single daemon thread's loop, so it works the same outside any loop, inside a
running loop (a notebook cell), and from threads, without `asyncio.run`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

from hitlkit._exceptions import HitlError
from hitlkit._runtime import runtime

__all__ = ["Syncified", "background_loop", "run_sync", "syncify", "syncmethod", "twinmethod"]

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")

SIGNAL_CHECK_SECONDS = 0.1


def background_loop() -> asyncio.AbstractEventLoop:
    """hitlkit's own event loop: the current runtime's, running in a thread of its own."""
    return runtime().loop()


def run_sync(coro: Coroutine[Any, Any, R]) -> R:
    """Run `coro` on the background loop and block until it finishes.

    Ctrl-C (or `SystemExit`) while blocked stops the work on the loop: whatever
    moment it lands in, the coroutine is either cancelled as a task or closed
    without having run, and nothing is left pending.
    """
    try:
        owner = runtime()
        loop = owner.loop()
        if owner.in_loop_thread():
            raise HitlError(
                "a blocking hitlkit call was made from hitlkit's own event loop; "
                "use the .aio() form"
            )
    except BaseException:
        coro.close()
        raise
    handoff = _Handoff(coro)
    try:
        loop.call_soon_threadsafe(handoff.start)
        return handoff.result()
    except BaseException:
        handoff.abandon(loop)
        raise


class _Handoff(Generic[R]):
    """A coroutine handed from a blocked thread to the background loop.

    Built for being interrupted at any moment, which `run_coroutine_threadsafe`
    is not: a Ctrl-C landing while it hands over leaves the blocked thread
    unsure whether the loop has the coroutine. Here the loop decides: `start`
    and `stop` both run on it, in the order they were asked for. And the loop
    never waits for a lock the blocked thread may hold: it only releases one.
    """

    def __init__(self, coro: Coroutine[Any, Any, R]) -> None:
        self._coro = coro
        self._task: asyncio.Task[R] | None = None
        self._started = False
        self._value: R | None = None
        self._error: BaseException | None = None
        self._settled = threading.Lock()
        self._settled.acquire()

    def start(self) -> None:
        """On the loop: run the coroutine as a task, unless already stopped."""
        if self._started:
            return
        self._started = True
        self._task = asyncio.get_running_loop().create_task(self._coro)
        self._task.add_done_callback(self._settle)

    def stop(self) -> None:
        """On the loop: cancel the task, or close the coroutine if it never started."""
        if not self._started:
            self._started = True
            self._coro.close()
        elif self._task is not None:
            self._task.cancel()

    def abandon(self, loop: asyncio.AbstractEventLoop) -> None:
        """From the blocked thread, when it stops waiting: have the loop `stop`."""
        try:
            loop.call_soon_threadsafe(self.stop)
        except RuntimeError:  # the loop is closed, so nothing runs the coroutine
            self._coro.close()

    def result(self) -> R:
        """Block until the task is done; return its result or raise its error.

        The main thread, where Python runs signal handlers, waits in slices: a
        Ctrl-C that arrives just before a blocking wait begins does not end it,
        and would otherwise go unnoticed until the wait ends, maybe never.
        """
        main = threading.current_thread() is threading.main_thread()
        while not self._settled.acquire(timeout=SIGNAL_CHECK_SECONDS if main else -1):
            pass
        if self._error is not None:
            raise self._error
        return cast(R, self._value)

    def _settle(self, task: asyncio.Task[R]) -> None:
        self._task = None  # freed on the loop, never in the blocked thread
        if task.cancelled():
            self._error = concurrent.futures.CancelledError()
        elif (error := task.exception()) is not None:
            self._error = error
        else:
            self._value = task.result()
        self._settled.release()


class Syncified(Generic[P, R]):
    """A blocking callable whose `.aio` attribute is the async original."""

    def __init__(self, fn: Callable[P, Coroutine[Any, Any, R]]) -> None:
        self.aio = fn
        self.__doc__ = fn.__doc__
        self.__name__ = getattr(fn, "__name__", "syncified")
        self.__wrapped__ = fn

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return run_sync(self.aio(*args, **kwargs))

    def __repr__(self) -> str:
        return f"<hitlkit call {self.__name__}() with .aio()>"


def syncify(fn: Callable[P, Coroutine[Any, Any, R]]) -> Syncified[P, R]:
    """Make `fn` callable plainly (blocking) and as `fn.aio(...)`."""
    return Syncified(fn)


class syncmethod(Generic[S, P, R]):
    """`@syncify` for methods: `obj.method()` blocks, `await obj.method.aio()` does not.

    ```python
    class Event:
        @syncmethod
        async def wait(self) -> int: ...
    ```
    """

    def __init__(self, fn: Callable[Concatenate[S, P], Coroutine[Any, Any, R]]) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> syncmethod[S, P, R]: ...
    @overload
    def __get__(self, obj: S, owner: type[Any]) -> Syncified[P, R]: ...
    def __get__(self, obj: S | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        bound = Syncified(functools.partial(self.fn, obj))
        bound.__name__ = self.__name__
        bound.__doc__ = self.__doc__
        return bound


class _Twin(Syncified[P, R]):
    """A `Syncified` whose plain call runs a sync function in the calling thread."""

    def __init__(
        self, fn: Callable[P, R], aio: Callable[P, Coroutine[Any, Any, R]], name: str
    ) -> None:
        super().__init__(aio)
        self._fn = fn
        self.__name__ = name

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._fn(*args, **kwargs)


class twinmethod(Generic[S, P, R]):
    """A method written twice, as a sync driver and an async driver of the same logic.

    `obj.method()` runs the sync one in the calling thread; `await obj.method.aio()`
    the async one. Where the two would only differ in blocking, use `syncmethod`.

    ```python
    class Event:
        @twinmethod
        def wait(self) -> int: ...

        @wait.twin
        async def _wait_async(self) -> int: ...
    ```
    """

    def __init__(self, fn: Callable[Concatenate[S, P], R]) -> None:
        self.fn = fn
        self.aio: Callable[Concatenate[S, P], Coroutine[Any, Any, R]] | None = None
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__

    def twin(
        self, aio: Callable[Concatenate[S, P], Coroutine[Any, Any, R]]
    ) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
        """Register the async driver."""
        self.aio = aio
        return aio

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> twinmethod[S, P, R]: ...
    @overload
    def __get__(self, obj: S, owner: type[Any]) -> Syncified[P, R]: ...
    def __get__(self, obj: S | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        if self.aio is None:
            raise TypeError(f"{self.__name__} has no async twin")
        bound = _Twin(
            functools.partial(self.fn, obj), functools.partial(self.aio, obj), self.__name__
        )
        bound.__doc__ = self.__doc__
        return bound
