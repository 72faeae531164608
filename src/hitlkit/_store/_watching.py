"""Watching a local folder for other processes' writes: one inotify instance for a folder tree.

`report_changes` runs in a thread of its own per watched folder, and hands
changes to the store's event loop; the helpers below say why notifications are
unavailable and how to bring them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import re
import threading
from pathlib import Path

from watchfiles._rust_notify import RustNotify

__all__ = ["network_filesystem", "report_changes", "unavailable"]

# Changes are gathered until none came for `_QUIET_MS`, for at most `_GATHER_MS`.
_QUIET_MS = 5
_GATHER_MS = 20


def report_changes(
    folder: str,
    stop: threading.Event,
    loop: asyncio.AbstractEventLoop,
    reported: asyncio.Queue[set[tuple[int, str]] | Exception],
) -> None:
    """Watch `folder` and all below it, handing the changes to `loop` until `stop` is set.

    An empty set comes first, once the watch is in place; an error ends the changes.
    """

    def report(item: set[tuple[int, str]] | Exception) -> None:
        with contextlib.suppress(RuntimeError):  # that loop has closed: nobody listens
            loop.call_soon_threadsafe(reported.put_nowait, item)

    try:
        with RustNotify([folder], False, False, 1000, True, False) as notify:
            report(set())
            while not stop.is_set():
                changes = notify.watch(_GATHER_MS, _QUIET_MS, 0, stop)
                if isinstance(changes, set):
                    report(changes)
    except Exception as exc:  # handed to the watching task, which reports it
        report(exc)


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
