"""A store in a local folder: durable, shared by every process on the machine."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import ctypes
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import AsyncGenerator, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, cast

from hitlkit import _config
from hitlkit._exceptions import CorruptRecordError
from hitlkit._store._base import Entry, Store, check_key, check_prefix, page_of, reports_outage
from hitlkit._store._folder import (
    FileModes,
    Folder,
    count_modes,
    make_folder,
    read_record,
    walk_keys,
)
from hitlkit._store._watching import network_filesystem, report_changes, unavailable

__all__ = ["LocalStore"]

log = logging.getLogger("hitlkit")

_TMP = ".tmp"
_STALE_TMP_SECONDS = 3600.0
_KEY_FOLDERS = 2


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

    A failing disk (full, read-only, I/O errors) raises `StoreUnavailableError`. A
    folder where a record should be (a name ending in `.json`) is listed as a key,
    and reading it, or a file that cannot be read, raises `CorruptRecordError`.

    Nothing below the folder is followed if it is a symbolic link, and a record
    must be a regular file of at most `max_record_bytes` (`HITL_MAX_RECORD_BYTES`,
    default 1 MiB): anything else raises `CorruptRecordError` naming its key, with
    a warning in the log. What the store creates is private to its user (files
    0600, folders 0700), or shared with the folder's group with `mode="group"`
    (`HITL_STORE_MODE=group`: 0660 and 2770); what exists keeps its mode.

    ```python
    store = LocalStore(".hitl")
    ```
    """

    reads_inline = True

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        notify: bool = True,
        mode: Literal["private", "group"] | None = None,
        max_record_bytes: int | None = None,
    ) -> None:
        super().__init__()
        self.notify = notify
        self._modes = FileModes.named(mode or _config.store_mode())
        self.max_record_bytes = max_record_bytes or _config.max_record_bytes()
        self.root = Path(root).expanduser().resolve()
        self.url = self.root.as_uri()
        self._base = str(self.root)
        self._tmp = self.root / _TMP
        self._swept = False
        self._unnamed = False  # decided with the first write: see `_prepare_tmp`
        self._names = itertools.count(int.from_bytes(os.urandom(4), "big") << 32)
        self._flusher = _Flusher(self._base)
        # Keys known to exist are refused without a look at the disk (an app answers the
        # repeats of an answer it recorded from memory); only `delete` removes one.
        self._present = _RecentKeys(4096)
        self._warned = _RecentKeys(1024)

    @reports_outage(OSError)
    def put_if_absent(self, key: str, data: bytes) -> bool:
        segments = self._segments(key, data)
        if key in self._present:
            return False
        fd, tmp = self._stage(data)
        try:
            os.fsync(fd)
            with self._folder_of(key, segments) as folder:
                placed = _place(fd, tmp, folder.fd, segments[-1])
                if placed:
                    os.fsync(folder.fd)
        finally:
            _discard(fd, tmp)
        self._present.add(key)
        if not placed:
            return False
        self._announce(key)
        return True

    @reports_outage(OSError)
    def get(self, key: str) -> bytes | None:
        segments = self._segments(key)
        try:
            folder = Folder.walk(self._base, segments[:-1], key)
            if folder is None:
                return None
            with folder:
                return read_record(folder, segments[-1], key, limit=self.max_record_bytes)
        except CorruptRecordError as exc:
            raise self._refused(exc) from None

    @reports_outage(OSError)
    def list(self, prefix: str = "") -> builtins.list[str]:
        check_prefix(prefix)
        where = prefix.rpartition("/")[0]
        try:
            folder = Folder.walk(self._base, where.split("/") if where else [], prefix)
        except CorruptRecordError as exc:
            self._refused(exc)
            return []
        if folder is None:
            return []
        keys: builtins.list[str] = []
        with folder:
            for key, linked_folder in walk_keys(folder, where + "/" if where else ""):
                if linked_folder:
                    self._refused(CorruptRecordError(key, "a symbolic link to a folder"))
                elif key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    @reports_outage(OSError)
    def list_entries(
        self, prefix: str = "", *, start_after: str = "", limit: int | None = None
    ) -> builtins.list[Entry]:
        # A record's file is written once, before it is linked into place: its time of
        # last change is when it was written.
        entries = []
        for key in page_of(self.list(prefix), start_after, limit):
            try:
                info = os.lstat(f"{self._base}/{key}")
            except FileNotFoundError:  # deleted since it was listed
                continue
            entries.append(Entry(key, datetime.fromtimestamp(info.st_mtime, timezone.utc)))
        return entries

    @reports_outage(OSError)
    def delete(self, key: str) -> None:
        segments = self._segments(key)
        try:
            folder = Folder.walk(self._base, segments[:-1], key)
        except CorruptRecordError as exc:
            raise self._refused(exc) from None
        if folder is None:
            return
        with folder:
            self._present.discard(key)
            try:
                os.unlink(segments[-1], dir_fd=folder.fd)
            except FileNotFoundError:
                return
            except IsADirectoryError:
                raise self._refused(
                    CorruptRecordError(key, "a folder, not a record the store wrote")
                ) from None
            os.fsync(folder.fd)
        self._present.discard(key)

    def file_modes(self) -> dict[str, int]:
        """How many folders and files of the store have each permission mode.

        ```python
        store.file_modes()   # {"folder 0700": 12, "file 0600": 310}
        ```
        """
        return count_modes(self._base)

    # A record is a few hundred bytes in a local folder: writing, linking or reading it
    # costs less than handing it to a worker thread, so that happens here, on the loop.
    # Only the flushes wait for the disk: they go to the store's flusher thread, which
    # takes every flush waiting at once (see `_Flusher`).

    @reports_outage(OSError)
    async def put_if_absent_async(self, key: str, data: bytes) -> bool:
        segments = self._segments(key, data)
        if key in self._present:  # spares writing and flushing a file for nothing
            return False
        fd, tmp = self._stage(data)
        try:
            await self._flusher.flush(fd)
            with self._folder_of(key, segments) as folder:
                placed = _place(fd, tmp, folder.fd, segments[-1])
                if placed:
                    await self._flusher.flush(folder.fd)
        finally:
            _discard(fd, tmp)
        self._present.add(key)
        if not placed:
            return False
        self._announce(key)
        return True

    async def get_async(self, key: str) -> bytes | None:
        return self.get(key)

    async def list_async(self, prefix: str = "") -> builtins.list[str]:
        return self.list(prefix)

    async def list_entries_async(
        self, prefix: str = "", *, start_after: str = "", limit: int | None = None
    ) -> builtins.list[Entry]:
        return self.list_entries(prefix, start_after=start_after, limit=limit)

    def watch(self, prefix: str) -> AsyncGenerator[set[str], None] | None:
        return self._watch(prefix) if self.notify else None

    async def _watch(self, prefix: str) -> AsyncGenerator[set[str], None]:
        # The folder of `prefix` is watched with the folders below it: one inotify instance
        # and one thread, whatever the number of folders (runs) that appear in it later.
        where = check_prefix(prefix).rpartition("/")[0]
        folder = self.root / where
        # Made as a write makes it (modes, no link followed): it may hold records soon.
        self._prepare_tmp()
        segments = [*where.split("/"), "-"] if where else ["-"]
        with self._folder_of(prefix, segments):
            pass
        filesystem = network_filesystem(folder)
        if filesystem is not None:
            raise OSError(
                f"{self.url} is on a network filesystem ({filesystem}), whose notifications "
                "miss writes made on other hosts; pass notify=False to say so and hush this"
            )
        loop = asyncio.get_running_loop()
        reported: asyncio.Queue[set[tuple[int, str]] | Exception] = asyncio.Queue()
        stop = threading.Event()
        # Keys are `top/run/id.json`: folders go two levels below the store's own.
        depth = _KEY_FOLDERS - (len(where.split("/")) if where else 0)
        thread = threading.Thread(
            target=report_changes,
            args=(str(folder), depth, stop, loop, reported),
            name="hitlkit-watch",
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

    def _segments(self, key: str, data: bytes | None = None) -> builtins.list[str]:
        # A valid key's segments never start with a dot: no "..", and never the temp folder.
        segments = check_key(key).split("/")
        if data is not None and len(data) > self.max_record_bytes:
            raise ValueError(
                f"a record of {len(data)} bytes is too large for {key!r}: a record may have "
                f"at most {self.max_record_bytes} bytes (HITL_MAX_RECORD_BYTES)"
            )
        return segments

    def _folder_of(self, key: str, segments: builtins.list[str]) -> Folder:
        """The folder a new record `key` goes in, made where missing; refused through a link."""
        try:
            folder = Folder.walk(self._base, segments[:-1], key, create=self._modes)
        except CorruptRecordError as exc:
            raise self._refused(exc) from None
        assert folder is not None  # made where missing
        return folder

    def _refused(self, exc: CorruptRecordError) -> CorruptRecordError:
        """The error for what the store refuses to read or write, said once in the log."""
        refused = CorruptRecordError(exc.key, exc.reason, store=self.url)
        if exc.key not in self._warned:
            self._warned.add(exc.key)
            log.warning("%s; the store refuses it", refused)
        return refused

    def close(self) -> None:
        self._flusher.stop()
        super().close()

    def _stage(self, data: bytes) -> tuple[int, str | None]:
        """Write `data` to a new file; return its descriptor (open) and temporary path.

        The path is None for a file with no name. Deleting temporary files is not free:
        on a filesystem without a journal, each file deleted in the last minute makes
        creating the next one slower, and a busy app deletes thousands.
        """
        self._prepare_tmp()
        tmp = None
        mode = self._modes.file
        if self._unnamed:
            fd = os.open(self._tmp, os.O_WRONLY | os.O_TMPFILE | os.O_CLOEXEC, mode)
        else:
            tmp = f"{self._tmp}/{os.getpid()}-{next(self._names)}.part"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        try:
            os.fchmod(fd, mode)  # exactly, whatever the umask
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
            self.root.parent.mkdir(parents=True, exist_ok=True)
            made = make_folder(self._base, self._modes.folder)
            if made is not None:
                os.close(made)
            # Made like any folder of the store, and refused if it is a link.
            with self._folder_of(f"{_TMP}/-", [_TMP, "-"]):
                pass
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

    def discard(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)


def _place(fd: int, tmp: str | None, dir_fd: int, name: str) -> bool:
    """Link the flushed file `fd` (named `tmp`) as `name` in the folder `dir_fd`.

    False if something is there already: a link there is never followed.
    """
    try:
        _link(fd, tmp, dir_fd, name)
    except FileExistsError:
        return False
    return True


def _discard(fd: int, tmp: str | None) -> None:
    """Close a staged file, and delete its temporary name if it has one."""
    os.close(fd)
    if tmp is not None:
        os.unlink(tmp)


def _link(fd: int, tmp: str | None, dir_fd: int, name: str) -> None:
    if tmp is not None:
        os.link(tmp, name, dst_dir_fd=dir_fd)
        return
    # A file with no name is linked through its descriptor's entry in /proc, followed.
    # (`os.link` cannot ask to follow it without a folder descriptor.)
    assert _linkat is not None  # files have no name only where it is found
    source = f"/proc/self/fd/{fd}".encode()
    if _linkat(_AT_FDCWD, source, dir_fd, os.fsencode(name), _AT_FOLLOW) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), name)


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
        _link(fd, None, _AT_FDCWD, probe)
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
