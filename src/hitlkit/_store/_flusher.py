"""The thread that flushes a local store's new files and folders to disk for its async writes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading

from hitlkit._runtime import Runtime, runtime
from hitlkit._store import _syncfs

__all__ = ["Flusher", "fsync"]

_Waiting = list[tuple["int | str", "asyncio.Future[None]"]]


class Flusher:
    """Flushes a store's files and folders to disk for its async writes, from a thread.

    The flushes asked for in one turn of an event loop go to the thread together, and
    the thread takes all that wait: one file or folder is flushed alone, several (on
    Linux) with one `syncfs` of their filesystem. Then it wakes each loop once. Its
    thread, a daemon owned by hitlkit's runtime, keeps serving an app that
    answers its last requests while the interpreter exits.
    """

    def __init__(self, root: str) -> None:
        self._root = root
        self._queue: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, _Waiting] | None] = (
            queue.SimpleQueue()
        )
        self._gathering: dict[asyncio.AbstractEventLoop, _Waiting] = {}
        self._thread: threading.Thread | None = None
        self._owner: Runtime | None = None
        self._lock = threading.Lock()

    async def flush(self, target: int | str) -> None:
        """Return once `target` (an open file's descriptor, or a folder) is on disk."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        waiting = self._gathering.get(loop)
        if waiting is None:
            waiting = self._gathering[loop] = []
            loop.call_soon(self._hand_over, loop)
        waiting.append((target, future))
        await future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        waiting = self._gathering.pop(loop)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                owner = runtime()
                self._thread = owner.start_thread(self._run, name="hitlkit-fsync")
                if owner is not self._owner:  # one shutdown hook per runtime, not per start
                    self._owner = owner
                    owner.on_shutdown(self.stop, late=True)
            self._queue.put((loop, waiting))

    def stop(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._queue.put(None)
            self._thread = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            work = [item]
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this
                    break
                work.append(item)
            targets = {target for _, waiting in work for target, _ in waiting}
            errors = flush_all(self._root, targets)
            for loop, waiting in work:
                settled = [(future, errors.get(target)) for target, future in waiting]
                with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits
                    loop.call_soon_threadsafe(_settle, settled)


def flush_all(root: str, targets: set[int | str]) -> dict[int | str, OSError]:
    """Flush every target (all on the filesystem of `root`); return the errors, by target."""
    syncfs = _syncfs.syncfs
    if len(targets) > 1 and syncfs is not None:
        # Through a descriptor of its own: a writer whose wait was cancelled closes its file.
        try:
            fd = os.open(root, os.O_RDONLY)
            try:
                syncfs(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            return dict.fromkeys(targets, exc)
        return {}
    errors: dict[int | str, OSError] = {}
    for target in targets:
        try:
            fsync(target)
        except OSError as exc:
            errors[target] = exc
    return errors


def fsync(target: int | str) -> None:
    """Flush an open file (a descriptor) or a folder (a path) to disk."""
    if isinstance(target, int):
        os.fsync(target)
        return
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _settle(settled: list[tuple[asyncio.Future[None], OSError | None]]) -> None:
    for future, error in settled:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(None)
