"""New files of a local store: written in full under a temporary name (or none), then linked
into place, which fails if the key exists."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from hitlkit._store._folder import Folder

__all__ = [
    "KeptFolders",
    "RecentKeys",
    "create_empty",
    "discard",
    "links_unnamed_files",
    "place",
    "write_new_file",
]


def write_new_file(folder: str, data: bytes, mode: int, *, unnamed: bool, name: str) -> int:
    """Write `data` to a new file in `folder`; return its descriptor, open.

    With `unnamed` the file has no name until it is linked (`O_TMPFILE`); otherwise it is
    `folder/name`, which the caller deletes (`discard`).
    """
    if unnamed:
        fd = os.open(folder, os.O_WRONLY | os.O_TMPFILE | os.O_CLOEXEC, mode)
    else:
        fd = os.open(f"{folder}/{name}", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)  # exactly, whatever the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        discard(fd, None if unnamed else f"{folder}/{name}")
        raise
    return fd


def place(fd: int, tmp: str | None, dir_fd: int, name: str) -> bool:
    """Link the flushed file `fd` (named `tmp`, or unnamed) as `name` in the folder `dir_fd`.

    False if something is there already: a link there is never followed.
    """
    try:
        _link(fd, tmp, dir_fd, name)
    except FileExistsError:
        return False
    return True


def create_empty(dir_fd: int, name: str, mode: int) -> bool:
    """Create the empty file `name` in the folder `dir_fd`; False if something is there.

    An empty file is whole as soon as it exists, so it needs no staging: one exclusive
    create, which never follows a link.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags, mode, dir_fd=dir_fd)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, mode)  # exactly, whatever the umask
    finally:
        os.close(fd)
    return True


class KeptFolders:
    """Folders kept open for empty files that can be rebuilt (index entries written
    without a flush), so that each such file costs one create, not a walk from the root.

    A kept folder is the one walked to (`walk`, which follows no link); one removed since
    is walked to again. At most `size` are kept.
    """

    def __init__(self, walk: Callable[[str, list[str]], Folder], mode: int, size: int = 16):
        self._walk = walk
        self._mode = mode
        self._size = size
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def create_empty(self, key: str, segments: list[str]) -> bool:
        """Create the empty file `key` (split in `segments`); False if it exists."""
        where = "/".join(segments[:-1])
        with self._lock:
            try:
                return create_empty(self._folder(key, segments, where), segments[-1], self._mode)
            except FileNotFoundError:  # the folder was removed: walk to it again
                self._drop(where)
                return create_empty(self._folder(key, segments, where), segments[-1], self._mode)

    def close(self) -> None:
        with self._lock:
            for where in list(self._open):
                self._drop(where)

    def _folder(self, key: str, segments: list[str], where: str) -> int:
        fd = self._open.get(where)
        if fd is None:
            if len(self._open) >= self._size:
                self._drop(next(iter(self._open)))
            fd = self._open[where] = self._walk(key, segments).fd  # kept open here
        return fd

    def _drop(self, where: str) -> None:
        os.close(self._open.pop(where))


def discard(fd: int, tmp: str | None) -> None:
    """Close a staged file, and delete its temporary name if it has one."""
    os.close(fd)
    if tmp is not None:
        os.unlink(tmp)


def _link(fd: int, tmp: str | None, dir_fd: int, name: str) -> None:
    if tmp is not None:
        os.link(tmp, name, dst_dir_fd=dir_fd)
    else:
        # A file with no name is linked through its descriptor's entry in /proc, a link
        # to follow: `os.link` does (`linkat` with AT_SYMLINK_FOLLOW) given a folder fd.
        os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dir_fd, follow_symlinks=True)


def links_unnamed_files(folder: str) -> bool:
    """Whether a file made in `folder` with `O_TMPFILE` can be linked into place.

    Not where the system or filesystem has no `O_TMPFILE`, nor without /proc.
    """
    if not hasattr(os, "O_TMPFILE"):
        return False
    probe = f"{os.getpid()}-{os.urandom(4).hex()}.part"  # swept like any left behind
    try:
        fd = os.open(folder, os.O_WRONLY | os.O_TMPFILE | os.O_CLOEXEC, 0o644)
    except OSError:  # not on this system or filesystem
        return False
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _link(fd, None, dir_fd, probe)
    except OSError:  # no /proc, say
        return False
    finally:
        os.close(fd)
        os.close(dir_fd)
    os.unlink(f"{folder}/{probe}")
    return True


class RecentKeys:
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
