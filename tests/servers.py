"""What the test servers (S3, Azure Blob, Google Cloud Storage) share: ports, logs, readiness."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path


def in_ci() -> bool:
    """Whether tests run in CI, where a missing test server is a failure, not a skip."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 right now."""
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]


def start_logged(args: Sequence[str], folder: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start a server in `folder`, its output going to `log` (kept for failure messages)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            list(args), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder
        )


def wait_until_ready(
    name: str,
    process: subprocess.Popen[bytes],
    log: Path,
    attempt: Callable[[], object],
    *,
    seconds: float,
    retry_on: type[Exception] | tuple[type[Exception], ...] = Exception,
) -> None:
    """Call `attempt` until it succeeds; fail if the server exits or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at start:\n{log_tail(log)}")
        try:
            attempt()
            return
        except retry_on as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{name} took over {seconds:g} s to get ready ({exc}):\n{log_tail(log)}"
                ) from exc
            time.sleep(0.1)


def log_tail(log: Path, lines: int = 40) -> str:
    """The last lines of a server's log, for a failure message."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
