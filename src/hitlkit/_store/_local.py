"""A store in a local folder: durable, shared by every process on the machine."""

from __future__ import annotations

import builtins
import contextlib
import os
import tempfile
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

    def __init__(self, root: str | os.PathLike[str], *, notify: bool = True) -> None:
        super().__init__()
        self.notify = notify
        self.root = Path(root).expanduser().resolve()
        self.url = self.root.as_uri()
        self._tmp = self.root / _TMP
        self._swept = False

    def put_if_absent(self, key: str, data: bytes) -> bool:
        path = self._path(check_key(key))
        if path.exists():
            return False
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
                return False
            _fsync_dir(path.parent)
        finally:
            os.unlink(tmp_name)
        self._announce(key)
        return True

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(check_key(key)).read_bytes()
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

    # A record is a few hundred bytes in a local folder: reading or writing it
    # costs less than handing it to a worker thread, and needs no thread pool,
    # which is gone once the interpreter starts to exit (while an app in this
    # process may still be answering its last request).

    async def put_if_absent_async(self, key: str, data: bytes) -> bool:
        return self.put_if_absent(key, data)

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
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path.is_relative_to(self._tmp):
            raise ValueError(f"invalid store key {key!r}: outside the store")
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


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
