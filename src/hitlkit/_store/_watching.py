"""Watching a local folder for other processes' writes: one inotify instance for a folder tree.

On Linux each folder of the tree is watched on its own, following no link
(`inotify_simple`); elsewhere the native notifications come through watchfiles.

`report_changes` runs in a thread of its own per watched folder, and hands
changes to the store's event loop; the helpers below say why notifications are
unavailable and how to bring them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path

from watchfiles._rust_notify import RustNotify

try:
    import inotify_simple
except ImportError:  # not Linux
    inotify_simple = None

__all__ = ["network_filesystem", "report_changes", "unavailable"]

# Changes are gathered until none came for `_QUIET_MS`, for at most `_GATHER_MS`.
_QUIET_MS = 5
_GATHER_MS = 20
# inotify: how often to look whether the watch should stop, and how long to let changes
# that come together gather.
_POLL_MS = 100
_READ_DELAY_MS = 2


def report_changes(
    folder: str,
    depth: int,
    stop: threading.Event,
    loop: asyncio.AbstractEventLoop,
    reported: asyncio.Queue[set[tuple[int, str]] | Exception],
) -> None:
    """Watch `folder` and its folders `depth` levels down, handing the changes to `loop`
    until `stop` is set.

    An empty set comes first, once the watch is in place; an error ends the changes.
    """

    def report(item: set[tuple[int, str]] | Exception) -> None:
        with contextlib.suppress(RuntimeError):  # that loop has closed: nobody listens
            loop.call_soon_threadsafe(reported.put_nowait, item)

    try:
        if inotify_simple is not None:
            _follow_inotify(folder, depth, stop, report)
        else:  # not Linux: the native notifications, through watchfiles
            with RustNotify([folder], False, False, 1000, True, False) as notify:
                report(set())
                while not stop.is_set():
                    changes = notify.watch(_GATHER_MS, _QUIET_MS, 0, stop)
                    if isinstance(changes, set):
                        report(changes)
    except Exception as exc:  # handed to the watching task, which reports it
        report(exc)


if inotify_simple is not None:
    _FLAGS = inotify_simple.flags
    _WATCH = (
        _FLAGS.CREATE | _FLAGS.MOVED_TO | _FLAGS.CLOSE_WRITE | _FLAGS.DONT_FOLLOW | _FLAGS.ONLYDIR
    )


def _follow_inotify(
    folder: str, depth: int, stop: threading.Event, report: Callable[[set[tuple[int, str]]], None]
) -> None:
    """One inotify instance on `folder` and the folders below it, `depth` levels down.

    A store's keys are `top/run/id.json`, so its folders are never deeper than two
    levels. Each folder is watched alone, and never through a symbolic link: a
    recursive watch follows links, and one planted in the store could make it watch
    a whole filesystem, spending the watches every process of the user shares.
    """
    assert inotify_simple is not None
    with inotify_simple.INotify() as inotify:
        folders: dict[int, tuple[str, int]] = {}

        def add(path: str, level: int) -> None:
            try:
                wd = inotify.add_watch(path, _WATCH)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                    return  # gone meanwhile, or a link: nothing the store reads
                raise
            folders[wd] = (path, level)
            if level < depth:
                with contextlib.suppress(OSError), os.scandir(path) as entries:
                    for entry in entries:
                        if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                            add(entry.path, level + 1)

        add(folder, 0)
        report(set())
        while not stop.is_set():
            changes: set[tuple[int, str]] = set()
            for event in inotify.read(timeout=_POLL_MS, read_delay=_READ_DELAY_MS):
                if event.mask & _FLAGS.Q_OVERFLOW:  # some were lost: look at every folder
                    changes.update((0, path) for path, level in folders.values() if level)
                    changes.add((0, folder))
                    continue
                if event.mask & _FLAGS.IGNORED:
                    gone = folders.pop(event.wd, None)
                    if gone is not None and gone[1] == 0:
                        # Nothing watches for it to come back: better to poll than to miss.
                        raise OSError(f"the watched folder {gone[0]} was removed or moved")
                    continue
                where = folders.get(event.wd)
                if where is None or not event.name:
                    continue
                path = os.path.join(where[0], event.name)
                if event.mask & _FLAGS.ISDIR and where[1] < depth:
                    add(path, where[1] + 1)  # then the folder is listed, for what came first
                changes.add((event.mask, path))
            if changes:
                report(changes)


_FIXES = {
    errno.EMFILE: (
        "the limit of inotify instances per user is reached (fs.inotify.max_user_instances)",
        "sysctl fs.inotify.max_user_instances=1024",
    ),
    errno.ENOSPC: (
        "the limit of inotify watches per user is reached (fs.inotify.max_user_watches)",
        "sysctl fs.inotify.max_user_watches=524288",
    ),
}


def unavailable(url: str, exc: BaseException) -> str:
    """Why notifications failed for the store at `url`, and how to bring them back."""
    text = str(exc)
    code = getattr(exc, "errno", None)
    if code not in _FIXES:
        if "Too many open files" in text or "os error 24" in text:
            code = errno.EMFILE
        elif "watch limit" in text or "os error 28" in text:
            code = errno.ENOSPC
        else:
            return f"file notifications failed for {url}: {text}"
    cause, fix = _FIXES[code]
    return f"file notifications failed for {url}: {cause}; raise it with `{fix}` (as root)"


_NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "ceph",
        "glusterfs",
        "lustre",
        "afs",
        "gpfs",
        "fuse.sshfs",
        "virtiofs",
    }
)


_OCTAL = re.compile(r"\\([0-7]{3})")


def network_filesystem(folder: Path) -> str | None:
    """The type of network filesystem `folder` is on, from the mount table; None if local."""
    try:
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:  # not Linux
        return None
    best, kind = "", ""
    for line in mounts:
        fields, _, tail = line.partition(" - ")
        point = _OCTAL.sub(lambda m: chr(int(m[1], 8)), fields.split(" ")[4])  # \040: space
        if _contains(point, folder) and len(point) >= len(best):
            best, kind = point, tail.split(" ")[0]
    return kind if kind in _NETWORK_FILESYSTEMS else None


def _contains(point: str, folder: Path) -> bool:
    return point == "/" or folder == Path(point) or Path(point) in folder.parents
