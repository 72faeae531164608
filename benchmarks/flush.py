"""What `syncfs` buys a local store: concurrent writes flushed with one `syncfs` of the
filesystem, or with one `fsync` per file and folder (the portable way).

Run from the checkout's root: `.venv/bin/python -m benchmarks.flush [--writes 2000]
[--folder PATH]`. Prints a table and updates its section of `docs/benchmarks.md`.

Each round writes `--writes` records of 300 bytes through `put_if_absent_async` in one
event loop, `at once` of them at a time (as an app answering that many requests at once
does), into a fresh store in `--folder` (default: a temporary folder), and the two ways of
flushing take turns, three rounds each; the median is shown.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._common import table, write_section
from hitlkit import LocalStore
from hitlkit._store import _syncfs

AT_ONCE = (1, 8, 64)
ROUNDS = 3


async def write_all(store: LocalStore, writes: int, at_once: int) -> float:
    """Writes per second."""
    data = b"x" * 300
    started = time.perf_counter()
    for start in range(0, writes, at_once):
        await asyncio.gather(
            *(
                store.put_if_absent_async(f"outcomes/r{i % 50}/{i}.json", data)
                for i in range(start, min(start + at_once, writes))
            )
        )
    return writes / (time.perf_counter() - started)


def one_round(folder: Path, writes: int, at_once: int, with_syncfs: bool) -> float:
    found = _syncfs.syncfs
    _syncfs.syncfs = found if with_syncfs else None
    try:
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            store = LocalStore(Path(tmp) / "store")
            try:
                return asyncio.run(write_all(store, writes, at_once))
            finally:
                store.close()
    finally:
        _syncfs.syncfs = found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    if _syncfs.syncfs is None:
        raise SystemExit("no syncfs on this system: nothing to compare")
    rows = []
    for at_once in AT_ONCE:
        rates: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(ROUNDS):
            for with_syncfs in (True, False):
                rates[with_syncfs].append(one_round(args.folder, args.writes, at_once, with_syncfs))
        fast, slow = statistics.median(rates[True]), statistics.median(rates[False])
        rows.append([f"{at_once}", f"{fast:,.0f}", f"{slow:,.0f}", f"{fast / slow:.2f}x"])
        print(" | ".join(rows[-1]), flush=True)
    text = table(
        ["writes at once", "`syncfs`, writes/s", "`fsync` each, writes/s", "syncfs ÷ fsync"],
        rows,
    )
    print(text)
    write_section(
        "Flushing many writes at once",
        f"""
{args.writes:,} records of 300 bytes written through `LocalStore.put_if_absent_async`,
so many at once, in `{args.folder}`; each write flushes its file, then its folder. The
store's flusher thread takes every flush waiting at once: with `syncfs` (Linux, through
`ctypes`), one call for the filesystem; without it (the portable way, and what other
systems do), one `fsync` per file and folder. Median of {ROUNDS} rounds each, alternating.
One write at a time takes the same path either way (a single `fsync` per flush), so that
row shows how much the machine's load moves the figures.

{text}
""",
    )


if __name__ == "__main__":
    main()
