"""Web app throughput: `POST /submit/json` and `GET /form/{id}` under `wrk`, hitlkit vs the seed.

Run from the checkout's root: `.venv/bin/python -m benchmarks.http_throughput [--rounds 3]`.
Needs `wrk` (Debian: `apt-get install wrk`). Prints a table and updates its section of
`docs/benchmarks.md`; makes the seed's venv on first use (`HITL_SEED_VENV`).

Each app runs as one process with one uvicorn worker on 127.0.0.1 over a local folder
(hitlkit: `hitl serve --store DIR`; the seed: its app under uvicorn with `RAW_DATA_PATH=DIR`).
`wrk` runs 2 threads and `--connections` connections for `--seconds` per row.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

import hitlkit as hitl
from benchmarks._common import (
    clean_env,
    free_port,
    hitl_serve,
    running,
    seed_serve,
    table,
    write_section,
)

# Each wrk thread walks its own slice of the ids, one POST per id; past the end it wraps
# around, and hitlkit then answers 409 (counted by wrk as non-2xx).
SPREAD_LUA = """
local ids = {}
for line in io.lines(os.getenv("HITL_BENCH_IDS")) do ids[#ids + 1] = line end
local value = os.getenv("HITL_BENCH_VALUE")
local count = 0
function setup(thread)
  thread:set("first", count)
  count = count + 1
end
function init(args)
  step = 0
end
function request()
  local id = ids[((first * math.floor(#ids / 2) + step) % #ids) + 1]
  step = step + 1
  return wrk.format("POST", "/submit/json", {["Content-Type"] = "application/json"},
    '{"request_id": "' .. id .. '", "value": ' .. value .. ', "data_type": "int"}')
end
"""

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    url: str, seconds: int, connections: int, lua: Path | None, ids: Path | None
) -> dict[str, float]:
    """Run wrk; return requests/s, p50 and p99 in ms, and the count of non-2xx responses."""
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if lua is not None:
        args += ["-s", str(lua)]
    env = clean_env(HITL_BENCH_IDS=str(ids or ""), HITL_BENCH_VALUE="1")
    out = subprocess.run(
        [*args, url], env=env, capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])}  # type: ignore[index]
    for name, q in (("p50", "50"), ("p99", "99")):
        match = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)$", out, re.MULTILINE)
        assert match is not None, out
        result[name] = float(match[1]) * UNITS[match[2]]
    total = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["requests"] = float(total[1]) if total else 0.0
    result["non2xx"] = float(bad[1]) if bad else 0.0
    return result


async def create_hitlkit_events(store: hitl.Store, count: int) -> list[str]:
    events = []
    for start in range(0, count, 500):
        events += await asyncio.gather(
            *(
                hitl.new_event.aio(f"q{i}", data_type=int, store=store, run_id="bench", serve=False)
                for i in range(start, min(count, start + 500))
            )
        )
    return [event.request_id for event in events]


def create_seed_events(root: Path, count: int) -> list[str]:
    """Request records as the seed's `Event.create` writes them, under `RAW_DATA_PATH`."""
    ids = []
    for i in range(count):
        request_id = str(uuid.uuid4())
        folder = root / "hitl-requests" / request_id
        folder.mkdir(parents=True)
        record = {
            "request_id": request_id,
            "event_name": f"q{i}",
            "scope": "run",
            "prompt": "Please provide a value",
            "data_type": "int",
            "status": "pending",
            "app_endpoint": "http://127.0.0.1",
            "request_path": str(folder / "request.json"),
            "response_path": str(folder / "response.json"),
        }
        (folder / "request.json").write_text(json.dumps(record))
        ids.append(request_id)
    return ids


def measure(
    endpoint: str, ids: list[str], tmp: Path, seconds: int, connections: int
) -> dict[str, dict[str, float]]:
    """One round of the three rows against one app; `ids` are pending events of its own."""
    lua = tmp / "spread.lua"
    lua.write_text(SPREAD_LUA)
    spread = tmp / f"ids-{uuid.uuid4().hex}.txt"
    spread.write_text("\n".join(ids[1:-1]) + "\n")
    once = tmp / f"one-{uuid.uuid4().hex}.txt"
    once.write_text(ids[0] + "\n")
    form = ids[-1]  # answered by no row
    results = {
        "form": wrk(f"{endpoint}/form/{form}", seconds, connections, None, None),
        "spread": wrk(endpoint, seconds, connections, lua, spread),
    }
    # The same-event row starts on an event that already has an answer.
    body = {"request_id": ids[0], "value": 1, "data_type": "int"}
    httpx.post(f"{endpoint}/submit/json", json=body, timeout=30)
    results["again"] = wrk(endpoint, seconds, connections, lua, once)
    return results


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median requests/s (its latencies come with it)."""
    return sorted(runs, key=lambda run: run["rps"])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--events", type=int, default=60000, help="pending events per app and round"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each row shows the median")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")

    per_app = args.rounds * args.events
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as apps:
        root = Path(tmp)
        store = hitl.LocalStore(root / "hitlkit")
        events = {"hitlkit": asyncio.run(create_hitlkit_events(store, per_app))}
        store.close()
        commands: dict[str, Callable[[int], list[str]]] = {
            "hitlkit": functools.partial(hitl_serve, store=str(root / "hitlkit"))
        }
        envs = {"hitlkit": clean_env()}
        for name, fast in (("seed", False), ("fast seed", True)):
            folder = root / name.replace(" ", "-")
            events[name] = create_seed_events(folder, per_app)
            commands[name] = functools.partial(seed_serve, fast=fast)
            envs[name] = clean_env(RAW_DATA_PATH=str(folder))
        endpoints = {}
        for name, command in commands.items():
            port = free_port()
            endpoints[name] = f"http://127.0.0.1:{port}"
            apps.enter_context(running(command(port), envs[name], f"{endpoints[name]}/health"))
        # The apps take turns, round after round, so that a slow spell of the machine
        # falls on all of them alike.
        runs: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in commands}
        for round_ in range(args.rounds):
            for name, endpoint in endpoints.items():
                ids = events[name][round_ * args.events : (round_ + 1) * args.events]
                # Write out what was left unflushed (the events just made, the seed's
                # answers), so no app waits on another's writes: hitlkit's answers that
                # come together are flushed with one `syncfs`, which writes out all of it.
                os.sync()
                runs[name].append(measure(endpoint, ids, root, args.seconds, args.connections))
    ours, seed, fast_seed = (
        {key: median_run([run[key] for run in runs[name]]) for key in ("form", "spread", "again")}
        for name in ("hitlkit", "seed", "fast seed")
    )

    rows = []
    what = {
        "form": "`GET /form/{id}`, one pending event",
        "spread": "`POST /submit/json`, each request a different pending event",
        "again": "`POST /submit/json`, every request the same event",
    }
    for key, label in what.items():
        rows.append(
            (
                label,
                f"{ours[key]['rps']:.0f}",
                f"{seed[key]['rps']:.0f}",
                f"{ours[key]['rps'] / seed[key]['rps']:.2f}x",
                f"{fast_seed[key]['rps']:.0f}",
                f"{ours[key]['rps'] / fast_seed[key]['rps']:.2f}x",
                f"{ours[key]['p50']:.1f} / {ours[key]['p99']:.1f}",
                f"{seed[key]['p50']:.1f} / {seed[key]['p99']:.1f}",
                f"{ours[key]['non2xx']:.0f} of {ours[key]['requests']:.0f}",
                f"{seed[key]['non2xx']:.0f} of {seed[key]['requests']:.0f}",
            )
        )
    text = table(
        [
            "request",
            "hitlkit req/s",
            "seed req/s",
            "hitlkit ÷ seed",
            "seed on httptools + uvloop req/s",
            "hitlkit ÷ that",
            "hitlkit p50 / p99 ms",
            "seed p50 / p99 ms",
            "hitlkit non-2xx",
            "seed non-2xx",
        ],
        rows,
    )
    rounds = "\n".join(
        f"- {name}: "
        + ", ".join(
            f"{run['spread']['rps']:.0f} ({run['spread']['p99']:.1f})" for run in runs[name]
        )
        for name in runs
    )
    text += (
        f"\n\n`POST /submit/json` to different events, req/s (p99 ms) of each round:\n\n{rounds}"
    )
    print(text)
    write_section(
        "Web app throughput",
        f"""
`wrk -t2 -c{args.connections} -d{args.seconds}s --latency` against one process with one
uvicorn worker on 127.0.0.1, each app over a local folder: hitlkit `hitl serve --store DIR`,
the seed `uvicorn flyteplugins.hitl._app:app --workers 1` with `RAW_DATA_PATH=DIR` (its
startup hook, `flyte.init_in_cluster`, passes on a machine without a cluster). wrk runs
on the same machine and takes CPU from the app. Both log each request with uvicorn's access
line (hitlkit makes the same text without copying each record).
The three apps run side by side and take turns, {args.rounds} rounds of every row, so that
a slow spell of the machine falls on all of them alike; each row shows the round with the
median requests/s, and that round's latencies. From one run to the next the figures move
by about a tenth. Before each turn `os.sync()` writes out what earlier steps left unflushed
(the events just made, the seed's answers): hitlkit flushes answers that arrive together
with one `syncfs`, which would otherwise write all of that out too and stall for it.

uvicorn runs on httptools and uvloop where they are installed. hitlkit depends on both;
the seed does not, so as installed it runs on h11 and asyncio ("seed"). The seed was also
run with both added ("seed on httptools + uvloop"), to show what the server alone is worth.
hitlkit checks every answer against the event's recorded type (one read of the event) and
records it create-once (written to a new file with no name, `O_TMPFILE`, flushed, linked
into place, and its folder flushed) before replying; the answers that arrive together
share their flushes (one `syncfs` per batch on Linux). The seed converts the value with
the type the client sends and overwrites the response file without flushing it.

- **form**: `GET /form/{{id}}` of one pending event. hitlkit reads its outcome from the store
  on every request, and its record once (records never change, so the app keeps the last
  4,096 it read); the seed reads its request file every time.
- **different events**: a wrk Lua script posts `{{"request_id": …, "value": 1}}` to
  {args.events:,} pre-created pending events in turn, so (while they last) every request
  records a first answer. If wrk gets through all of them it wraps around, and hitlkit
  answers those repeats 409; the non-2xx column counts them.
- **same event**: every request answers one event. hitlkit records the first and answers
  every later one 409 with the recorded outcome (the row measures its refusal path); the
  seed overwrites the response file every time (200).

{text}

Targets: hitlkit ≥ 1.5x the seed for submit, ≥ 2x for the form.
""",
    )


if __name__ == "__main__":
    main()
