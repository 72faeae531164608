"""A store in a local folder: durable, shared by every process on the machine."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import queue
import tempfile
import threading
import time
from collections.abc import AsyncGenerator
from pathlib import Path

import watchfiles

from hitlkit._store._base import Store, check_key, check_prefix

__all__ = ["LocalStore"]

_TMP = ".tmp"
_STALE_TMP_SECONDS = 3600.0


class LocalStore(Store):
    """A store in a folder, one file per key.

    Writes go to a temporary file first, are flushed to disk, then linked into
    place with `os.link`, which fails if the key exists: so a record is never
    torn and the first writer wins, across processes. Other processes' writes
    are seen through filesystem notifications (`watchfiles`); pass
    `notify=False` where those do not work (some network filesystems), and
    waiters poll every `poll_interval_seconds` instead.

    ```python
    store = LocalStore(".hitl")
    ```
    """

    reads_inline = True

    def __init__(self, root: str | os.PathLike[str], *, notify: bool = True) -> None:
        super().__init__()
        self.notify = notify
        self.root = Path(root).expanduser().resolve()
        self.url = self.root.as_uri()
        self._tmp = self.root / _TMP
        self._swept = False
        self._writer = _Writer(self)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        path = self._link(key, data)
        if path is None:
            return False
        _fsync_dir(path.parent)
        self._announce(key)
        return True

    def get(self, key: str) -> bytes | None:
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def list(self, prefix: str = "") -> builtins.list[str]:
        check_prefix(prefix)
        folder = self.root / prefix.rpartition("/")[0]
        if not folder.is_dir():
            return []
        keys: builtins.list[str] = []
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if d != _TMP]
            rel = Path(dirpath).relative_to(self.root).as_posix()
            base = "" if rel == "." else rel + "/"
            keys.extend(base + name for name in filenames if (base + name).startswith(prefix))
        return sorted(keys)

    # A record is a few hundred bytes in a local folder: reading it costs less than
    # handing it to a worker thread. A write waits for the disk, so writes go to one
    # thread per store, which flushes each folder once for all the writes waiting.

    async def put_if_absent_async(self, key: str, data: bytes) -> bool:
        self._path(key)  # a bad key fails here, in the caller
        if not await self._writer.write(key, data):
            return False
        self._announce(key)
        return True

    async def get_async(self, key: str) -> bytes | None:
        return self.get(key)

    async def list_async(self, prefix: str = "") -> builtins.list[str]:
        return self.list(prefix)

    def watch(self, prefix: str) -> AsyncGenerator[set[str], None] | None:
        return self._watch(prefix) if self.notify else None

    async def _watch(self, prefix: str) -> AsyncGenerator[set[str], None]:
        folder = self.root / check_prefix(prefix).rpartition("/")[0]
        folder.mkdir(parents=True, exist_ok=True)
        async for changes in watchfiles.awatch(
            folder, watch_filter=None, debounce=200, step=5, recursive=True
        ):
            keys = set()
            for _change, changed in changes:
                with contextlib.suppress(ValueError):
                    keys.add(Path(changed).relative_to(self.root).as_posix())
            if keys:
                yield keys

    def _path(self, key: str) -> Path:
        # A valid key's segments never start with a dot: no "..", and never the temp folder.
        return self.root.joinpath(*check_key(key).split("/"))

    def close(self) -> None:
        self._writer.stop()

    def _link(self, key: str, data: bytes) -> Path | None:
        """Write `data` at `key` unless it exists; the folder is not flushed yet."""
        path = self._path(key)
        if path.exists():
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        self._prepare_tmp()
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp_name, path)
            except FileExistsError:
                return None
        finally:
            os.unlink(tmp_name)
        return path

    def _prepare_tmp(self) -> None:
        # The folder is made on the first write, so reading an absent store leaves no trace.
        if not self._swept:
            self._tmp.mkdir(parents=True, exist_ok=True)
            self._sweep_stale_temp_files()
            self._swept = True

    def _sweep_stale_temp_files(self) -> None:
        # A process killed between writing and linking leaves its temp file behind.
        cutoff = time.time() - _STALE_TMP_SECONDS
        for leftover in self._tmp.glob("*.part"):
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()


class _Write:
    __slots__ = ("data", "future", "key", "loop", "path")

    def __init__(self, key: str, data: bytes) -> None:
        self.key = key
        self.data = data
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[bool] = self.loop.create_future()
        self.path: Path | None = None


class _Writer:
    """The thread that makes a store's async writes durable, in batches.

    It takes every write waiting, writes and links each file, then flushes each
    folder touched once (a group commit), and only then reports the writes done.
    A daemon thread, it keeps serving an app that answers its last requests
    while the interpreter exits.
    """

    MAX_BATCH = 256

    def __init__(self, store: LocalStore) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def write(self, key: str, data: bytes) -> bool:
        write = _Write(key, data)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="hitlkit-local-writer", daemon=True
                )
                self._thread.start()
            self._queue.put(write)
        return await write.future

    def stop(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._queue.put(None)
            self._thread = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(more)
            self._commit(batch)

    def _commit(self, batch: list[_Write]) -> None:
        failed: dict[_Write, BaseException] = {}
        for write in batch:
            try:
                write.path = self._store._link(write.key, write.data)
            except Exception as exc:  # reported to the writer, who raises it
                failed[write] = exc
        for folder in {w.path.parent for w in batch if w.path is not None}:
            try:
                _fsync_dir(folder)
            except OSError as exc:
                failed.update((w, exc) for w in batch if w.path and w.path.parent == folder)
        for write in batch:
            outcome = failed.get(write)
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits
                write.loop.call_soon_threadsafe(_settle, write.future, write.path, outcome)


def _settle(future: asyncio.Future[bool], path: Path | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(path is not None)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
