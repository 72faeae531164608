"""Two app replicas over one bucket, four waiting processes: every answer arrives exactly once."""

from __future__ import annotations

import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.acceptance.conftest import HITL, Proc, free_port
from tests.s3 import BUCKET

if TYPE_CHECKING:
    from tests.acceptance.conftest import HitlEnv, Spawn
    from tests.s3 import S3Server

WAITERS = 4
EVENTS_PER_WAITER = 60
SETTLE_SECONDS = 30.0

# A workflow with many human steps at once: ask them all, wait for them all.
WAITER = """
import asyncio, sys
import hitlkit

async def main(store, run_id, count):
    events = await asyncio.gather(*(
        hitlkit.new_event.aio(
            f"q{i}", data_type=int, run_id=run_id, store=store, serve=False,
            poll_interval_seconds=0.5,
        )
        for i in range(count)
    ))
    for event in events:
        print("asked", event.request_id, flush=True)
    print("waiting", flush=True)

    async def wait(event):
        value = await event.wait.aio()
        print("got", event.request_id, value, flush=True)

    await asyncio.gather(*(wait(event) for event in events))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def value_for(request_id: str) -> int:
    return int(request_id[-6:], 16)


@pytest.fixture
def s3_env(s3_server: S3Server) -> dict[str, str]:
    """`HITL_STORE` on a fresh prefix of the test bucket, and `AWS_*` to reach it."""
    return {**s3_server.env, "HITL_STORE": f"s3://{BUCKET}/{uuid.uuid4().hex}"}


def _wait_until_serving(endpoint: str, proc: Proc) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        try:
            if httpx.get(f"{endpoint}/health", timeout=2).is_success:
                return
        except httpx.HTTPError:
            pass
        if proc.popen.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"no app at {endpoint}:\n{proc.stderr}")
        time.sleep(0.1)


def _asked(waiter: Proc) -> list[str]:
    ids: list[str] = []
    while True:
        match = waiter.expect(r"^(asked ([0-9a-f]{24})|waiting)$")
        if match.group(2) is None:
            return ids
        ids.append(match.group(2))


def _all_got(waiter: Proc, count: int) -> list[tuple[str, int]]:
    got: list[tuple[str, int]] = []
    for _ in range(count):
        match = waiter.expect(r"^got ([0-9a-f]{24}) (-?\d+)$")
        got.append((match.group(1), int(match.group(2))))
    assert waiter.finish() == 0, waiter.stderr
    return got


def test_replicas_over_one_bucket_deliver_every_answer_exactly_once(
    spawn: Spawn, hitl_env: HitlEnv, s3_env: dict[str, str]
) -> None:
    endpoints = []
    for _ in range(2):
        port = free_port()
        replica = spawn([*HITL, "serve", "--host", "127.0.0.1", "--port", str(port)], **s3_env)
        endpoints.append(f"http://127.0.0.1:{port}")
        _wait_until_serving(endpoints[-1], replica)
    # Each waiter names one replica as its app; answers also come through the other one.
    waiters = [
        spawn.python(
            WAITER,
            s3_env["HITL_STORE"],
            f"run-{w}",
            str(EVENTS_PER_WAITER),
            **s3_env,
            HITL_ENDPOINT=endpoints[w % 2],
        )
        for w in range(WAITERS)
    ]
    asked = [_asked(waiter) for waiter in waiters]
    ids = [request_id for run in asked for request_id in run]
    assert len(set(ids)) == WAITERS * EVENTS_PER_WAITER

    def answer(job: tuple[int, str]) -> tuple[int, int | None]:
        """Answer through one replica; every third event again through the other."""
        n, request_id = job
        first, other = endpoints[n % 2], endpoints[(n + 1) % 2]
        url = f"/api/events/{request_id}/answer"
        with httpx.Client(timeout=30) as client:
            code = client.post(first + url, json={"value": value_for(request_id)}).status_code
            again = None
            if n % 3 == 0:
                again = client.post(other + url, json={"value": -1}).status_code
        return code, again

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(answer, enumerate(ids)))

    assert [c for c, _ in codes] == [200] * len(ids)
    assert [a for _, a in codes if a is not None] == [409] * len(ids[::3])
    for waiter, run in zip(waiters, asked, strict=True):
        got = _all_got(waiter, len(run))
        assert sorted(got) == sorted((i, value_for(i)) for i in run)
    with httpx.Client(timeout=30) as client:
        for n, request_id in enumerate(ids):
            event = client.get(f"{endpoints[n % 2]}/api/events/{request_id}").json()
            assert (event["status"], event["outcome"]["value"]) == (
                "answered",
                value_for(request_id),
            )
    assert not re.search(r"Traceback", "".join(w.stderr for w in waiters))
