"""A store in a local folder: durable, shared by every process on the machine."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import ctypes
import itertools
import os
import queue
import threading
import time
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any, cast

from hitlkit._store._base import Store, check_key, check_prefix
from hitlkit._store._watching import network_filesystem, report_changes, unavailable

__all__ = ["LocalStore"]

_TMP = ".tmp"
_STALE_TMP_SECONDS = 3600.0


class LocalStore(Store):
    """A store in a folder, one file per key.

    Writes go to a new file first, are flushed to disk, then linked into place,
    which fails if the key exists: so a record is never torn and the first
    writer wins, across processes. On Linux the new file has no name until it is
    linked (`O_TMPFILE`), so a write deletes nothing and a killed process leaves
    nothing behind; elsewhere it is a temporary file in `.tmp`. The folder is
    flushed too before a write returns. Async writes made at the same time
    share their flushes: on Linux, one `syncfs` of the filesystem serves them
    all, which also flushes what other programs wrote there. Other processes'
    writes are seen through filesystem notifications (`watchfiles`); pass
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
        self._base = str(self.root)
        self._tmp = self.root / _TMP
        self._swept = False
        self._unnamed = False  # decided with the first write: see `_prepare_tmp`
        self._names = itertools.count(int.from_bytes(os.urandom(4), "big") << 32)
        self._flusher = _Flusher(self._base)
        # Keys are never removed: those known to exist are refused without a look at the
        # disk (an app answers the repeats of an answer it recorded from memory).
        self._present = _RecentKeys(4096)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        if key in self._present:
            return False
        fd, tmp = self._stage(data)
        try:
            os.fsync(fd)
            placed = _place(fd, tmp, path)
        finally:
            _discard(fd, tmp)
        self._present.add(key)
        if not placed:
            return False
        _fsync(os.path.dirname(path))
        self._announce(key)
        return True

    def get(self, key: str) -> bytes | None:
        try:
            fd = os.open(self._path(key), os.O_RDONLY | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            chunks = []
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

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

    # A record is a few hundred bytes in a local folder: writing, linking or reading it
    # costs less than handing it to a worker thread, so that happens here, on the loop.
    # Only the flushes wait for the disk: they go to the store's flusher thread, which
    # takes every flush waiting at once (see `_Flusher`).

    async def put_if_absent_async(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        if key in self._present:  # spares writing and flushing a file for nothing
            return False
        fd, tmp = self._stage(data)
        try:
            await self._flusher.flush(fd)
            placed = _place(fd, tmp, path)
        finally:
            _discard(fd, tmp)
        self._present.add(key)
        if not placed:
            return False
        await self._flusher.flush(os.path.dirname(path))
        self._announce(key)
        return True

    async def get_async(self, key: str) -> bytes | None:
        return self.get(key)

    async def list_async(self, prefix: str = "") -> builtins.list[str]:
        return self.list(prefix)

    def watch(self, prefix: str) -> AsyncGenerator[set[str], None] | None:
        return self._watch(prefix) if self.notify else None

    async def _watch(self, prefix: str) -> AsyncGenerator[set[str], None]:
        # The folder of `prefix` is watched with all below it: one inotify instance and one
        # thread, whatever the number of folders (runs) that appear in it later.
        folder = self.root / check_prefix(prefix).rpartition("/")[0]
        folder.mkdir(parents=True, exist_ok=True)
        filesystem = network_filesystem(folder)
        if filesystem is not None:
            raise OSError(
                f"{self.url} is on a network filesystem ({filesystem}), whose notifications "
                "miss writes made on other hosts; pass notify=False to say so and hush this"
            )
        loop = asyncio.get_running_loop()
        reported: asyncio.Queue[set[tuple[int, str]] | Exception] = asyncio.Queue()
        stop = threading.Event()
        thread = threading.Thread(
            target=report_changes, args=(str(folder), stop, loop, reported), name="hitlkit-watch"
        )
        thread.daemon = True
        thread.start()
        try:
            while True:  # the first set, empty, says the watch is in place
                changes = await reported.get()
                if isinstance(changes, Exception):
                    raise OSError(unavailable(self.url, changes)) from changes
                yield self._changed_keys(changes)
        finally:
            stop.set()

    def _changed_keys(self, changes: set[tuple[int, str]]) -> set[str]:
        keys = set()
        for _change, changed in changes:
            with contextlib.suppress(ValueError):  # outside the store, or its temp folder
                key = check_key(Path(changed).relative_to(self.root).as_posix())
                keys.add(key)
                if os.path.isdir(changed):
                    # Files linked into a new folder before it was watched are not
                    # reported: look for them.
                    keys.update(self.list(key + "/"))
        return keys

    def _path(self, key: str) -> str:
        # A valid key's segments never start with a dot: no "..", and never the temp folder.
        # Joined as text: pathlib would cost a good part of a short request.
        return f"{self._base}/{check_key(key)}"

    def close(self) -> None:
        self._flusher.stop()

    def _stage(self, data: bytes) -> tuple[int, str | None]:
        """Write `data` to a new file; return its descriptor (open) and temporary path.

        The path is None for a file with no name. Deleting temporary files is not free:
        on a filesystem without a journal, each file deleted in the last minute makes
        creating the next one slower, and a busy app deletes thousands.
        """
        self._prepare_tmp()
        tmp = None
        if self._unnamed:
            fd = os.open(self._tmp, os.O_WRONLY | os.O_TMPFILE | os.O_CLOEXEC, 0o644)
        else:
            tmp = f"{self._tmp}/{os.getpid()}-{next(self._names)}.part"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except BaseException:
            _discard(fd, tmp)
            raise
        return fd, tmp

    def _prepare_tmp(self) -> None:
        # The folder is made on the first write, so reading an absent store leaves no trace.
        if not self._swept:
            self._tmp.mkdir(parents=True, exist_ok=True)
            self._sweep_stale_temp_files()
            self._unnamed = _links_unnamed_files(str(self._tmp))
            self._swept = True

    def _sweep_stale_temp_files(self) -> None:
        # A process killed between writing and linking leaves its temp file behind.
        cutoff = time.time() - _STALE_TMP_SECONDS
        for leftover in self._tmp.glob("*.part"):
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()


class _RecentKeys:
    """The last `size` keys added, for membership tests; safe across threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._keys: dict[str, None] = {}
        self._lock = threading.Lock()

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        with self._lock:
            self._keys[key] = None
            if len(self._keys) > self._size:
                del self._keys[next(iter(self._keys))]


def _place(fd: int, tmp: str | None, path: str) -> bool:
    """Link the flushed file `fd` (named `tmp`) at `path`; False if something is there already."""
    try:
        _link(fd, tmp, path)
    except FileExistsError:
        return False
    except FileNotFoundError:  # the first key in its folder
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            _link(fd, tmp, path)
        except FileExistsError:
            return False
    return True


def _discard(fd: int, tmp: str | None) -> None:
    """Close a staged file, and delete its temporary name if it has one."""
    os.close(fd)
    if tmp is not None:
        os.unlink(tmp)


def _link(fd: int, tmp: str | None, path: str) -> None:
    if tmp is not None:
        os.link(tmp, path)
        return
    # A file with no name is linked through its descriptor's entry in /proc, followed.
    # (`os.link` cannot ask to follow it without a folder descriptor.)
    assert _linkat is not None  # files have no name only where it is found
    source = f"/proc/self/fd/{fd}".encode()
    if _linkat(_AT_FDCWD, source, _AT_FDCWD, os.fsencode(path), _AT_FOLLOW) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), path)


def _links_unnamed_files(folder: str) -> bool:
    """Whether a file made in `folder` with `O_TMPFILE` can be linked into place."""
    if _linkat is None or not hasattr(os, "O_TMPFILE"):
        return False
    probe = f"{folder}/{os.getpid()}-{os.urandom(4).hex()}.part"  # swept like any left behind
    try:
        fd = os.open(folder, os.O_WRONLY | os.O_TMPFILE | os.O_CLOEXEC, 0o644)
    except OSError:  # not on this system or filesystem
        return False
    try:
        _link(fd, None, probe)
    except OSError:  # no /proc, say
        return False
    finally:
        os.close(fd)
    os.unlink(probe)
    return True


def _fsync(target: int | str) -> None:
    """Flush an open file (a descriptor) or a folder (a path) to disk."""
    if isinstance(target, int):
        os.fsync(target)
        return
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _libc_function(name: str, *argtypes: type[Any]) -> Callable[..., int] | None:
    try:
        function = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (AttributeError, OSError):  # not this system's C library
        return None
    function.argtypes = argtypes
    function.restype = ctypes.c_int
    return cast("Callable[..., int]", function)


# Linux flushes a whole filesystem in one call: cheaper than a flush per file when
# several writes wait at once.
_syncfs = _libc_function("syncfs", ctypes.c_int)
_linkat = _libc_function(
    "linkat", ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int
)
_AT_FDCWD = -100
_AT_FOLLOW = 0x400  # AT_SYMLINK_FOLLOW

_Waiting = list[tuple["int | str", "asyncio.Future[None]"]]


class _Flusher:
    """The thread that flushes a store's files and folders to disk for its async writes.

    The flushes asked for in one turn of an event loop go to the thread together, and
    the thread takes all that wait: one file or folder is flushed alone, several (on
    Linux) with one `syncfs` of their filesystem. Then it wakes each loop once. A daemon,
    it keeps serving an app that answers its last requests while the interpreter exits.
    """

    def __init__(self, root: str) -> None:
        self._root = root
        self._queue: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, _Waiting] | None] = (
            queue.SimpleQueue()
        )
        self._gathering: dict[asyncio.AbstractEventLoop, _Waiting] = {}
        self._thread: threading.Thread | None = None
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
                self._thread = threading.Thread(target=self._run, name="hitlkit-fsync", daemon=True)
                self._thread.start()
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
            errors = _flush_all(self._root, targets)
            for loop, waiting in work:
                settled = [(future, errors.get(target)) for target, future in waiting]
                with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits
                    loop.call_soon_threadsafe(_settle, settled)


def _flush_all(root: str, targets: set[int | str]) -> dict[int | str, OSError]:
    """Flush every target (all on the filesystem of `root`); return the errors, by target."""
    if len(targets) > 1 and _syncfs is not None:
        # Through a descriptor of its own: a writer whose wait was cancelled closes its file.
        try:
            fd = os.open(root, os.O_RDONLY)
            try:
                if _syncfs(fd) != 0:
                    raise OSError(ctypes.get_errno(), "syncfs failed")
            finally:
                os.close(fd)
        except OSError as exc:
            return dict.fromkeys(targets, exc)
        return {}
    errors: dict[int | str, OSError] = {}
    for target in targets:
        try:
            _fsync(target)
        except OSError as exc:
            errors[target] = exc
    return errors


def _settle(settled: list[tuple[asyncio.Future[None], OSError | None]]) -> None:
    for future, error in settled:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(None)
