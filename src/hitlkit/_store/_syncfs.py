"""Flushing a whole filesystem at once (Linux `syncfs`), where the C library has it.

The standard library has `os.sync` (every filesystem) and `os.fsync` (one file), not
`syncfs`. When several writes wait to be flushed, one `syncfs` of their filesystem costs
about what one `fsync` does, so a local store's flusher uses it for two or more files (see
docs/benchmarks.md, "Flushing many writes at once"). Elsewhere `syncfs` is `None` and each
file is flushed on its own.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from typing import cast

__all__ = ["syncfs"]


def _find_syncfs() -> Callable[[int], None] | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (AttributeError, OSError):  # not this system's C library
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    call = cast("Callable[[int], int]", function)

    def flush_filesystem(fd: int) -> None:
        """Flush to disk everything written to the filesystem that `fd` is on."""
        if call(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))

    return flush_filesystem


syncfs = _find_syncfs()
