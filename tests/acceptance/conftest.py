"""Run `hitl` and small scripts as real processes, on a real folder, over real HTTP.

Every test gets its own store folder and its own free port for the web app.
Every wait has a timeout, so a hang fails the test instead of blocking it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.conftest import ceilings

HITL = [sys.executable, "-m", "hitlkit._cli"]
TIMEOUT = 30.0


def one_error_line(stderr: str) -> str:
    """The single `error: ...` line a failing command prints; fails on anything else."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class HitlEnv:
    """Where a test's processes keep events and serve the app."""

    cwd: Path
    store: Path
    endpoint: str
    vars: dict[str, str]

    def wait_until_serving(self, timeout: float = TIMEOUT) -> None:
        """Wait until a hitlkit app answers `/health` at the endpoint."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.endpoint}/health", timeout=2).is_success:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no hitlkit app at {self.endpoint} after {timeout}s")
            time.sleep(0.1)


@pytest.fixture
def hitl_env(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> HitlEnv:
    store = tmp_path / "store"
    endpoint = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HITL_")}
    env.update(
        HITL_STORE=str(store),
        HITL_ENDPOINT=endpoint,
        HITL_USER="tester",
        HITL_CEILING_DIRECTORIES=ceilings(tmp_path_factory),
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
    )
    return HitlEnv(cwd=tmp_path, store=store, endpoint=endpoint, vars=env)


class Proc:
    """A running process whose output lines are collected as they arrive."""

    def __init__(self, args: list[str], env: HitlEnv, extra_env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            args,
            cwd=env.cwd,
            env={**env.vars, **extra_env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._lines: list[str] = []
        self._err: list[str] = []
        self._cursor = 0
        self._changed = threading.Condition()
        assert self.popen.stdout is not None
        assert self.popen.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.popen.stdout, self._lines)),
            threading.Thread(target=self._read, args=(self.popen.stderr, self._err)),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: IO[str], into: list[str]) -> None:
        for line in stream:
            with self._changed:
                into.append(line)
                self._changed.notify_all()
        with self._changed:
            into.append("")  # end of stream
            self._changed.notify_all()

    @property
    def stdout(self) -> str:
        with self._changed:
            return "".join(self._lines)

    @property
    def stderr(self) -> str:
        with self._changed:
            return "".join(self._err)

    def expect(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        """Wait for the next stdout line matching `pattern`; return the match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                while self._cursor < len(self._lines):
                    line = self._lines[self._cursor]
                    self._cursor += 1
                    if line == "":
                        pytest.fail(f"exited before printing {pattern!r}:\n{self._report()}")
                    match = regex.search(line)
                    if match:
                        return match
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no line matching {pattern!r} in {timeout}s:\n{self._report()}")
                self._changed.wait(left)

    def finish(self, timeout: float = TIMEOUT) -> int:
        """Wait for the process to exit and its output to be read; return the exit code."""
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"still running after {timeout}s:\n{self._report()}")
        for reader in self._readers:
            reader.join(TIMEOUT)
        return code

    def error_line(self) -> str:
        """The single `error: ...` line on stderr."""
        return one_error_line(self.stderr)

    def signal(self, signum: signal.Signals) -> None:
        self.popen.send_signal(signum)

    def stop(self) -> None:
        """Kill the process if it still runs, and release its pipes."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(TIMEOUT)
        for reader in self._readers:
            reader.join(TIMEOUT)
        for stream in (self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()

    def _report(self) -> str:
        return f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


class Spawn:
    """Starts processes in the test's environment, and kills them after the test."""

    def __init__(self, env: HitlEnv) -> None:
        self.env = env
        self.started: list[Proc] = []

    def __call__(self, args: list[str], **extra_env: str) -> Proc:
        proc = Proc(args, self.env, extra_env)
        self.started.append(proc)
        return proc

    def hitl(self, *args: str, **extra_env: str) -> Proc:
        """Start `hitl ARGS...`."""
        return self([*HITL, *args], **extra_env)

    def python(self, script: str, *args: str, **extra_env: str) -> Proc:
        """Start `python -c SCRIPT ARGS...`."""
        return self([sys.executable, "-c", script, *args], **extra_env)


@pytest.fixture
def spawn(hitl_env: HitlEnv) -> Iterator[Spawn]:
    """Start a process: `spawn.hitl("demo")`, `spawn.python(SCRIPT, "arg")`."""
    spawner = Spawn(hitl_env)
    yield spawner
    for proc in spawner.started:
        proc.stop()


@dataclass(frozen=True)
class Result:
    """A finished `hitl` command."""

    code: int
    stdout: str
    stderr: str

    def error_line(self) -> str:
        """The single `error: ...` line on stderr."""
        return one_error_line(self.stderr)


Hitl = Callable[..., Result]


@pytest.fixture
def hitl(hitl_env: HitlEnv) -> Hitl:
    """Run `hitl ARGS...` to completion: `hitl("ls", "--json", HITL_USER="ana")`."""

    def run(*args: str, **extra_env: str) -> Result:
        done = subprocess.run(
            [*HITL, *args],
            cwd=hitl_env.cwd,
            env={**hitl_env.vars, **extra_env},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run
