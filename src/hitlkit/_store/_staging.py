"""New files of a local store: written in full under a temporary name (or none), then linked
into place, which fails if the key exists."""

from __future__ import annotations

import os
import threading

__all__ = ["RecentKeys", "discard", "links_unnamed_files", "place", "write_new_file"]


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
