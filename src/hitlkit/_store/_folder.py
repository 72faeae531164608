"""Files and folders below a store's root, reached without following symbolic links.

A local store is often a folder others can write to (a shared disk, a service
user's home). Paths are walked one folder at a time from the root, each opened
with `O_NOFOLLOW`, so a symbolic link planted anywhere below the root can neither
make a write land outside the store nor a read return another file; the root
itself may be a link. Records are opened with `O_NONBLOCK` and must be regular
files: a FIFO planted as a record would otherwise block its reader forever.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from hitlkit._exceptions import CorruptRecordError

__all__ = ["FileModes", "Folder", "count_modes", "make_folder", "read_record", "walk_keys"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
RECORD_SUFFIX = ".json"


@dataclass(frozen=True)
class FileModes:
    """The permissions a store gives what it creates.

    `private` (the default): files 0600, folders 0700, for one user. `group`:
    files 0660, folders 2770 (set-group-id, so new entries keep the folder's
    group), for a store shared with a service user through a group.
    """

    file: int
    folder: int

    @classmethod
    def named(cls, name: str) -> FileModes:
        if name == "group":
            return cls(file=0o660, folder=0o2770)
        if name == "private":
            return cls(file=0o600, folder=0o700)
        raise ValueError(f"a store's mode is private or group, got {name!r}")


class Folder:
    """An open folder below a store's root; close it (or use `with`)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.fd)

    @classmethod
    def walk(
        cls, root: str, segments: list[str], key: str, *, create: FileModes | None = None
    ) -> Folder | None:
        """The folder `root/segments...`, following no link below `root`.

        `None` when a folder is missing, unless `create` gives the modes to make
        it with. A link, or anything other than a folder, on the way raises
        `CorruptRecordError` for `key`.
        """
        try:
            fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            if create is None:
                return None
            raise
        for i, name in enumerate(segments):
            # Each step closes the folder it started from, whatever happens.
            fd = _step(fd, name, key, "/".join(segments[: i + 1]), create)
            if fd < 0:
                return None
        return cls(fd)


def _step(parent: int, name: str, key: str, where: str, create: FileModes | None) -> int:
    """Open the folder `name` in `parent` (closed here); -1 if it is missing."""
    try:
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if create is None:
                return -1
            made = make_folder(name, create.folder, dir_fd=parent)
            if made is not None:
                return made
            return os.open(name, _DIR_FLAGS, dir_fd=parent)  # made by someone else meanwhile
        except OSError as exc:
            if exc.errno in (errno.ENOTDIR, errno.ELOOP):
                reason = f"{where!r} is {_kind(parent, name)}, where a folder should be"
                raise CorruptRecordError(key, reason) from None
            raise
    finally:
        os.close(parent)


def make_folder(name: str, mode: int, *, dir_fd: int | None = None) -> int | None:
    """Make the folder `name` with exactly `mode` (whatever the umask) and open it.

    `None` if it exists already: an existing folder keeps its mode.
    """
    try:
        os.mkdir(name, 0o700, dir_fd=dir_fd)
    except FileExistsError:
        return None
    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    os.fchmod(fd, mode)
    return fd


def read_record(folder: Folder, name: str, key: str, *, limit: int) -> bytes | None:
    """The bytes of the regular file `name` in `folder`; `None` if there is none.

    Anything else there (a link, a FIFO, a folder, a file over `limit` bytes)
    raises `CorruptRecordError` for `key`.
    """
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=folder.fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):  # a link; a socket
            raise CorruptRecordError(key, f"{_kind(folder.fd, name)}, not a regular file") from None
        if exc.errno == errno.EACCES:
            raise CorruptRecordError(key, "not readable by this user") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CorruptRecordError(key, f"{_describe(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise CorruptRecordError(key, _too_large(info.st_size, limit))
        chunks = []
        size = 0
        while chunk := os.read(fd, 1 << 16):
            size += len(chunk)
            if size > limit:  # grew since it was looked at
                raise CorruptRecordError(key, _too_large(size, limit))
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _too_large(size: int, limit: int) -> str:
    return f"{size} bytes, over the limit of {limit} bytes a record may have"


def _kind(dir_fd: int, name: str) -> str:
    try:
        return _describe(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return "not a folder or regular file"


def _describe(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "a device"


def walk_keys(folder: Folder, base: str) -> Iterator[tuple[str, bool]]:
    """Every entry other than a folder below `folder`, as (key, is a link to a folder).

    Folders reached through links are not entered; a folder named like a record
    (`*.json`) is an entry, not entered either.
    """
    for dirpath, dirnames, filenames, dirfd in os.fwalk(".", dir_fd=folder.fd):
        rel = base + dirpath[2:] + "/" if dirpath != "." else base
        kept = []
        for name in dirnames:
            if name.startswith("."):
                continue  # the temp folder, and nothing a key can name
            if name.endswith(RECORD_SUFFIX):
                # A folder stands where a record should be: listed, so that reading it
                # reports it, rather than the record vanishing unseen.
                yield rel + name, False
                continue
            is_link = False
            with contextlib.suppress(OSError):
                is_link = stat.S_ISLNK(os.lstat(name, dir_fd=dirfd).st_mode)
            if is_link:
                yield rel + name, True
            else:
                kept.append(name)
        dirnames[:] = kept
        for name in filenames:
            yield rel + name, False


def count_modes(root: str) -> dict[str, int]:
    """How many folders and regular files below `root` have each permission mode."""
    counts: Counter[str] = Counter()
    for _, _, filenames, dirfd in os.fwalk(root):
        counts[f"folder {stat.S_IMODE(os.fstat(dirfd).st_mode):04o}"] += 1
        for name in filenames:
            with contextlib.suppress(OSError):
                mode = os.lstat(name, dir_fd=dirfd).st_mode
                if stat.S_ISREG(mode):
                    counts[f"file {stat.S_IMODE(mode):04o}"] += 1
    return dict(counts)
