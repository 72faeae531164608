"""Finding the project's store and configuration file as git finds its repository.

The search starts in the current folder and goes up, one parent at a time, and
stops before it would cross a boundary:

- the filesystem root;
- the home folder, when the search starts below it: `$HOME` itself is not
  searched (its `.hitl` is what was run there, not a project's), unless the search
  starts in it;
- a filesystem boundary: a parent on another device (`st_dev`), as git does;
- a folder named in `HITL_CEILING_DIRECTORIES` (paths separated by `os.pathsep`,
  like git's `GIT_CEILING_DIRECTORIES`): it is not searched, nor anything above it
  (the folder the search starts in is always searched).

A `.hitl` found on the way is the store when it is a folder owned by the current
user. One owned by someone else is skipped, with a warning naming it once: its
owner could read or change what this program is asked. A `.hitl` that is a
symbolic link is followed only when the link and the folder it leads to are both
the user's own; otherwise it is skipped the same way. A configuration file found on
the way is read when it is the user's or root's (an image's files often belong to
root), and skipped the same way when not (`trusted_file`); one that is a symbolic
link, when the link and the file it leads to are both the user's or root's.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "STORE_FOLDER",
    "FoundStore",
    "find_store",
    "folders_up",
    "skip_file",
    "trusted_file",
    "trusted_owner",
]

STORE_FOLDER = ".hitl"

logger = logging.getLogger("hitlkit.config")
_warned: set[str] = set()


def folders_up(start: Path | None = None) -> list[Path]:
    """The folders searched from `start` (default the current folder), nearest first.

    Empty when the current folder is gone (removed while this process was in it).
    """
    try:
        origin = str(start) if start is not None else os.getcwd()
    except OSError:
        return []
    # Which folders lie between here and a boundary changes only with mounts: kept per folder.
    key = (origin, os.environ.get("HITL_CEILING_DIRECTORIES", ""), os.environ.get("HOME", ""))
    if key not in _searched:
        if len(_searched) > 256:
            _searched.clear()
        _searched[key] = _folders_up(Path(os.path.realpath(origin)))
    return list(_searched[key])


_searched: dict[tuple[str, str, str], list[Path]] = {}


def _folders_up(here: Path) -> list[Path]:
    stops = _ceilings()
    home = _home()
    if home is not None and home != here and home in here.parents:
        stops.add(home)
    folders = [here]
    device = _device(here)
    while here.parent != here:
        parent = here.parent
        if parent in stops or _device(parent) != device:
            break
        folders.append(parent)
        here = parent
    return folders


@dataclass(frozen=True)
class FoundStore:
    """The `.hitl` folder found (`None` if none), and the folders searched for it."""

    path: Path | None
    searched: tuple[Path, ...]


def find_store(start: Path | None = None) -> FoundStore:
    """The nearest usable `.hitl` folder from `start` up, or `None` with where it looked."""
    searched = folders_up(start)
    for folder in searched:
        candidate = folder / STORE_FOLDER
        if _usable(candidate):
            return FoundStore(candidate, tuple(searched))
    return FoundStore(None, tuple(searched))


def _usable(candidate: Path) -> bool:
    """Whether `candidate` is a store folder of this user's; warns once about a foreign one."""
    try:
        link = candidate.lstat()
    except OSError:
        return False
    user = _user()
    if stat.S_ISLNK(link.st_mode):
        try:
            target = candidate.stat()
        except OSError:
            _warn_once(candidate, "is a symbolic link to nothing readable")
            return False
        if user is not None and (link.st_uid != user or target.st_uid != user):
            _warn_once(candidate, "is a symbolic link not owned, with its target, by this user")
            return False
        return stat.S_ISDIR(target.st_mode)
    if not stat.S_ISDIR(link.st_mode):
        return False
    if user is not None and link.st_uid != user:
        _warn_once(candidate, f"is owned by another user (uid {link.st_uid})")
        return False
    return True


def trusted_file(path: Path, owner: int) -> bool:
    """Whether a file owned by `owner` may configure this user's programs; warns once if not."""
    if trusted_owner(owner):
        return True
    skip_file(path, f"is owned by another user (uid {owner})")
    return False


def trusted_owner(owner: int) -> bool:
    """Whether `owner` is this user or root (files have no owners to check on Windows)."""
    user = _user()
    return user is None or owner in (user, 0)


def skip_file(path: Path, why: str) -> None:
    """Warn, once per path, that the configuration file at `path` is skipped, and why."""
    _warn_once(path, why, what="configuration file")


def _user() -> int | None:
    """The effective user id; `None` where files have no owners hitlkit can check (Windows)."""
    geteuid = getattr(os, "geteuid", None)
    return geteuid() if geteuid is not None else None


def _warn_once(candidate: Path, why: str, *, what: str = "store") -> None:
    if str(candidate) in _warned:
        return
    _warned.add(str(candidate))
    instead = "set HITL_STORE or --store to use it anyway" if what == "store" else "it is ignored"
    logger.warning("skipped the %s %s: it %s; %s", what, candidate, why, instead)


def _ceilings() -> set[Path]:
    text = os.environ.get("HITL_CEILING_DIRECTORIES", "")
    return {Path(os.path.realpath(item)) for item in text.split(os.pathsep) if item.strip()}


def _home() -> Path | None:
    try:
        return Path(os.path.realpath(Path.home()))
    except (RuntimeError, KeyError):  # no home folder known
        return None


def _device(folder: Path) -> int | None:
    try:
        return folder.stat().st_dev
    except OSError:
        return None
