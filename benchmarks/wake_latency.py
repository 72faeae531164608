"""Wake latency: from an answer recorded by another process to `wait()` returning.

Run: `.venv/bin/python benchmarks/wake_latency.py [--trials 50]`. Prints a table and
writes `docs/benchmarks.md`.

A helper process answers each event through its own `LocalStore` object and
reports the wall-clock time right after the answer is on disk; this process
notes when `wait()` returns. Both clocks are the same machine's.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import hitlkit as hitl

ANSWERER = """
import sys, time
from hitlkit import LocalStore, answer
store = LocalStore(sys.argv[1], notify=False)
for line in sys.stdin:
    answer(line.strip(), 1, store=store)
    print(time.time(), flush=True)
"""


def measure(store: hitl.Store, root: Path, trials: int, poll: float, label: str) -> list[float]:
    answerer = subprocess.Popen(
        [sys.executable, "-c", ANSWERER, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert answerer.stdin is not None
    assert answerer.stdout is not None
    latencies = []
    try:
        for i in range(trials):
            event = hitl.new_event(
                f"{label}-{i}", data_type=int, store=store, serve=False, poll_interval_seconds=poll
            )
            returned: list[float] = []
            waiter = threading.Thread(
                target=lambda e=event, r=returned: (e.wait(), r.append(time.time()))
            )
            waiter.start()
            time.sleep(0.05)  # let the waiter subscribe, as a real one would have long ago
            answerer.stdin.write(event.request_id + "\n")
            answerer.stdin.flush()
            recorded = float(answerer.stdout.readline())
            waiter.join(poll * 3 + 10)
            latencies.append((returned[0] - recorded) * 1000)
    finally:
        answerer.stdin.close()
        answerer.wait(30)
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            ("local folder, notifications", hitl.LocalStore(Path(tmp) / "a"), 5.0),
            (
                "local folder, polling every 1 s",
                hitl.LocalStore(Path(tmp) / "b", notify=False),
                1.0,
            ),
        ]
        for label, store, poll in cases:
            assert isinstance(store, hitl.LocalStore)
            ms = measure(store, store.root, args.trials, poll, label.split(",")[1].strip())
            rows.append((label, statistics.median(ms), pct(ms, 0.99), max(ms)))

    table = ["| case | p50 ms | p99 ms | max ms |", "|---|---:|---:|---:|"]
    table += [f"| {r[0]} | {r[1]:.1f} | {r[2]:.1f} | {r[3]:.1f} |" for r in rows]
    print("\n".join(table))
    today = datetime.date.today().isoformat()
    machine = (
        f"{platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# Benchmarks\n\n"
        "## Wake latency\n\n"
        f"Answer recorded by another process → `wait()` returns; {args.trials} trials each.\n\n"
        f"- command: `python benchmarks/wake_latency.py --trials {args.trials}`\n"
        f"- machine: {machine}\n"
        f"- date: {today}\n\n" + "\n".join(table) + "\n\n"
        "With polling, each answer lands 50 ms after its waiter starts, so the waiter\n"
        "sees it at its next listing, one poll interval after it started.\n"
    )


if __name__ == "__main__":
    main()
