"""A store in a local folder: durable, shared by every process on the machine."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import itertools
import logging
import os
import threading
import time
from collections.abc import AsyncGenerator
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from hitlkit import _config
from hitlkit._exceptions import CorruptRecordError
from hitlkit._runtime import runtime
from hitlkit._store._base import Entry, Store, check_key, check_prefix, page_of, reports_outage
from hitlkit._store._flusher import Flusher
from hitlkit._store._folder import (
    FileModes,
    Folder,
    count_modes,
    make_folder,
    read_record,
    walk_keys,
)
from hitlkit._store._staging import (
    KeptFolders,
    RecentKeys,
    create_empty,
    discard,
    links_unnamed_files,
    place,
    write_new_file,
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
        self._flusher = Flusher(self._base)
        self._kept = KeptFolders(self._folder_of, self._modes.file)
        # Keys known to exist are refused without writing a file (an app answers the
        # repeats of an answer it recorded from memory), after one look that it is still
        # there: retention, in another process, may have deleted it.
        self._present = RecentKeys(4096)
        self._warned = RecentKeys(1024)

    @reports_outage(OSError)
    def put_if_absent(self, key: str, data: bytes, *, durable: bool = True) -> bool:
        segments = self._segments(key, data)
        if not data:  # an index entry: made in place, its folder flushed where durable
            # Always tried: one removed behind the store's back is rebuilt by writing it.
            self._prepare_tmp()
            if not durable:
                return self._placed(key, self._kept.create_empty(key, segments))
            with self._folder_of(key, segments) as folder:
                placed = create_empty(folder.fd, segments[-1], self._modes.file)
                if placed:
                    os.fsync(folder.fd)
            return self._placed(key, placed)
        if self._known(key):
            return False
        fd, tmp = self._stage(data)
        try:
            if durable:
                os.fsync(fd)
            with self._folder_of(key, segments) as folder:
                placed = place(fd, tmp, folder.fd, segments[-1])
                if placed and durable:
                    os.fsync(folder.fd)
        finally:
            discard(fd, tmp)
        return self._placed(key, placed)

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
    # takes every flush waiting at once (see `Flusher`).

    @reports_outage(OSError)
    async def put_if_absent_async(self, key: str, data: bytes, *, durable: bool = True) -> bool:
        segments = self._segments(key, data)
        if not data:  # an index entry: made in place, its folder flushed where durable
            # Always tried: one removed behind the store's back is rebuilt by writing it.
            self._prepare_tmp()
            if not durable:
                return self._placed(key, self._kept.create_empty(key, segments))
            with self._folder_of(key, segments) as folder:
                placed = create_empty(folder.fd, segments[-1], self._modes.file)
                if placed:
                    await self._flusher.flush(folder.fd)
            return self._placed(key, placed)
        if self._known(key):  # spares writing and flushing a file for nothing
            return False
        fd, tmp = self._stage(data)
        try:
            if durable:
                await self._flusher.flush(fd)
            with self._folder_of(key, segments) as folder:
                placed = place(fd, tmp, folder.fd, segments[-1])
                if placed and durable:
                    await self._flusher.flush(folder.fd)
        finally:
            discard(fd, tmp)
        return self._placed(key, placed)

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
        runtime().start_thread(
            report_changes, str(folder), depth, stop, loop, reported, name="hitlkit-watch"
        )
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

    def _known(self, key: str) -> bool:
        """Whether `key` was written or seen through this object and is still there."""
        if key not in self._present:
            return False
        if os.path.lexists(f"{self._base}/{key}"):
            return True
        self._present.discard(key)
        return False

    def _placed(self, key: str, placed: bool) -> bool:
        self._present.add(key)
        if placed:
            self._announce(key)
        return placed

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
        self._kept.close()
        super().close()

    def _stage(self, data: bytes) -> tuple[int, str | None]:
        """Write `data` to a new file; return its descriptor (open) and temporary path.

        The path is None for a file with no name. Deleting temporary files is not free:
        on a filesystem without a journal, each file deleted in the last minute makes
        creating the next one slower, and a busy app deletes thousands.
        """
        self._prepare_tmp()
        name = f"{os.getpid()}-{next(self._names)}.part"
        tmp = None if self._unnamed else f"{self._tmp}/{name}"
        fd = write_new_file(
            str(self._tmp), data, self._modes.file, unnamed=self._unnamed, name=name
        )
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
            self._unnamed = links_unnamed_files(str(self._tmp))
            self._swept = True

    def _sweep_stale_temp_files(self) -> None:
        # A process killed between writing and linking leaves its temp file behind.
        cutoff = time.time() - _STALE_TMP_SECONDS
        for leftover in self._tmp.glob("*.part"):
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
