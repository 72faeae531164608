"""Eight racing voters on each of 100 quorum events: exactly one decision per event.

On a local folder with eight voting processes, and on S3 with two app replicas that
the voters reach over HTTP, alternately. Some events are approved by all, some have a
veto racing the approvals, some a quorum without veto that rejections put out of reach.
Every process that is told a decision is told the same one; the outcome counts each
identity once, and every vote it counts is a vote record in the store.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import hitlkit
from hitlkit import Outcome, Quorum, Vote, open_store
from hitlkit._policy_ops import read_records
from hitlkit._reading import load_event, load_outcome
from tests.acceptance.conftest import HITL, Proc, free_port
from tests.acceptance.test_replicas import _wait_until_serving
from tests.s3 import BUCKET

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl, HitlEnv, Spawn
    from tests.s3 import S3Server

VOTERS = tuple(f"v{n}" for n in range(8))
EVENTS = 100
RACE_SECONDS = 120.0

# One voter: waits for the go file, then votes on every event in the plan, a few at a
# time, in the same order as the others (so that they collide), and prints what it was told.
VOTER = """
import asyncio, json, os, sys
import httpx
import hitlkit
from hitlkit import EventResolvedError

who, plan_file, go_file = sys.argv[1:4]
endpoints = sys.argv[4:]

def told(outcome):
    if outcome is None:
        return None
    return [outcome["decision"], [v["by"] for v in outcome["votes"] or ()]]

async def through_store(request_id, value):
    try:
        outcome = await client.answer.aio(request_id, value)
        return False, outcome and outcome.model_dump(mode="json")
    except EventResolvedError as exc:
        return True, exc.outcome.model_dump(mode="json")

async def over_http(n, request_id, value):
    endpoint = endpoints[(n + int(who[1:])) % len(endpoints)]
    reply = await http.post(f"{endpoint}/api/events/{request_id}/answer", json={"value": value})
    # 202: the vote is recorded and decided nothing yet; 409: it came too late.
    assert reply.status_code in (200, 202, 409), (reply.status_code, reply.text)
    return reply.status_code == 409, reply.json()["outcome"]

async def main():
    global client, http
    plan = json.loads(open(plan_file).read())
    token = os.environ.get("HITL_TOKEN", "")
    http = httpx.AsyncClient(timeout=60, headers={"Authorization": f"Bearer {token}"})
    client = hitlkit.Client(store=os.environ["HITL_STORE"], user=who)
    print("ready", flush=True)
    while not os.path.exists(go_file):
        await asyncio.sleep(0.01)
    gate = asyncio.Semaphore(4)

    async def vote(n, request_id, value):
        async with gate:
            if endpoints:
                late, outcome = await over_http(n, request_id, value)
            else:
                late, outcome = await through_store(request_id, value)
        print(json.dumps([request_id, late, told(outcome)]), flush=True)

    await asyncio.gather(*(vote(n, rid, votes[who]) for n, (rid, votes) in enumerate(plan)))
    print("done", flush=True)

asyncio.run(main())
"""


@dataclass(frozen=True)
class Planned:
    """An event of the race: its quorum, and how each voter votes."""

    quorum: Quorum
    votes: dict[str, bool]

    @property
    def expected(self) -> set[str]:
        rejecters = [who for who, yes in self.votes.items() if not yes]
        if not rejecters:
            return {"approved"}
        in_reach = len(VOTERS) - len(rejecters) >= self.quorum.count
        if self.quorum.veto is not False:
            return {"approved", "vetoed"} if in_reach else {"vetoed"}
        return {"approved"} if in_reach else {"rejected"}


def plan_for(n: int) -> Planned:
    """Approvals only, a veto racing approvals, or rejections without veto: every kind
    of decision is made, whichever vote comes first."""
    shape = n % 4
    if shape in (0, 1):
        return Planned(Quorum(2 + n % 7, of=VOTERS), dict.fromkeys(VOTERS, True))
    if shape == 2:  # a veto racing approvals: it wins, or four approvals came first
        rejecter = VOTERS[(n // 4) % 8]
        count = 8 if n % 8 == 2 else 4
        return Planned(Quorum(count, of=VOTERS), {w: w != rejecter for w in VOTERS})
    rejecters = {VOTERS[(n + k) % 8] for k in range(3 if n % 8 == 3 else 4)}
    return Planned(Quorum(5, of=VOTERS, veto=False), {w: w not in rejecters for w in VOTERS})


async def _ask(store_url: str, run_id: str) -> dict[str, Planned]:
    plans = [plan_for(n) for n in range(EVENTS)]
    events = await asyncio.gather(
        *(
            hitlkit.new_event.aio(
                f"change-{n}",
                bool,
                prompt="Ship it?",
                run_id=run_id,
                store=store_url,
                serve=False,
                timeout_seconds=600,
                policy=plan.quorum,
                requested_by="release-bot",
            )
            for n, plan in enumerate(plans)
        )
    )
    return {event.request_id: plan for event, plan in zip(events, plans, strict=True)}


def _write_plan(folder: Path, planned: dict[str, Planned]) -> tuple[Path, Path]:
    plan_file = folder / "plan.json"
    plan_file.write_text(json.dumps([[rid, p.votes] for rid, p in planned.items()]))
    return plan_file, folder / "go"


Told = dict[str, list[tuple[str, bool, Any]]]
"""By event: each voter, whether it was told its vote came too late, and the decision
it was told (`[decision, [who, ...]]`, or `None` while there was none)."""


def _race(voters: list[Proc], go_file: Path) -> Told:
    """Start the voters at once; what each was told."""
    for voter in voters:
        voter.expect(r"^ready$")
    go_file.touch()
    told: Told = {}
    for who, voter in zip(VOTERS, voters, strict=True):
        for _ in range(EVENTS):
            line = voter.expect(r"^\[.*\]$", RACE_SECONDS).group(0)
            request_id, late, outcome = json.loads(line)
            told.setdefault(request_id, []).append((who, late, outcome))
        voter.expect(r"^done$")
        assert voter.finish() == 0, voter.stderr
        assert "Traceback" not in voter.stderr, voter.stderr
    return told


async def _check(store_url: str, planned: dict[str, Planned], told: Told) -> set[str | None]:
    """Check each event's one outcome; the decisions made."""
    store = open_store(store_url)
    decisions = set()
    for request_id, plan in planned.items():
        record = await load_event(store, request_id)
        outcome = await load_outcome(store, request_id)
        recorded = await read_records(store, record)
        assert outcome is not None, request_id
        _check_outcome(outcome, plan, recorded.votes)
        decisions.add(outcome.decision)
        # Every voter told a decision was told this one; a voter not told its vote came
        # too late was counted, or told of no decision yet with its vote recorded.
        decided = [outcome.decision, [v.by for v in outcome.votes or ()]]
        assert len(told[request_id]) == len(VOTERS)
        counted = {v.by for v in outcome.votes or ()}
        voted = {v.by for v in recorded.votes}
        for who, late, seen in told[request_id]:
            assert seen is None or seen == decided, (who, seen, decided)
            if not late:
                assert who in (counted if seen is not None else voted), (who, seen, decided)
    return decisions


def _check_outcome(outcome: Outcome, plan: Planned, recorded: tuple[Vote, ...]) -> None:
    assert outcome.status == "answered"
    assert outcome.decision in plan.expected, (outcome.decision, plan)
    counted = list(outcome.votes or ())
    identities = [v.by for v in counted]
    assert len(set(identities)) == len(identities), identities
    # No identity has two vote records, and every counted vote is one of them, as recorded.
    by_identity = {v.by: v for v in recorded}
    assert len(by_identity) == len(recorded)
    assert all(by_identity.get(v.by) == v for v in counted), (counted, recorded)
    assert all(v.value is plan.votes[v.by] for v in counted)
    approvals = sum(1 for v in counted if v.value is True)
    rejections = len(counted) - approvals
    if outcome.decision == "approved":
        assert outcome.value is True
        assert approvals == plan.quorum.count
        assert counted[-1].value is True
        if plan.quorum.veto is not False:
            assert rejections == 0  # a rejection counted before would have vetoed
    elif outcome.decision == "vetoed":
        assert outcome.value is False
        assert counted[-1].value is False
        assert outcome.by == counted[-1].by
        assert approvals < plan.quorum.count
    else:
        assert outcome.value is False
        assert len(VOTERS) - rejections < plan.quorum.count
        assert len(VOTERS) - (rejections - 1) >= plan.quorum.count  # not out of reach before
    if plan.expected == {"approved"} and plan.quorum.veto is not False:
        assert len(counted) == plan.quorum.count


def test_eight_voting_processes_on_a_local_folder_decide_each_event_once(
    spawn: Spawn, hitl_env: HitlEnv
) -> None:
    store_url = str(hitl_env.store)
    planned = asyncio.run(_ask(store_url, "race"))
    plan_file, go_file = _write_plan(hitl_env.cwd, planned)
    voters = [spawn.python(VOTER, who, str(plan_file), str(go_file)) for who in VOTERS]
    started = time.monotonic()
    told = _race(voters, go_file)
    print(f"local race: {len(VOTERS) * EVENTS} votes in {time.monotonic() - started:.1f}s")
    assert asyncio.run(_check(store_url, planned, told)) == {"approved", "vetoed", "rejected"}


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """`HITL_STORE` on a fresh prefix of the test bucket, and `AWS_*` to reach it (here too)."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return {**s3_server.env, "HITL_STORE": f"s3://{BUCKET}/{uuid.uuid4().hex}"}


def test_eight_voters_through_two_replicas_over_one_bucket_decide_each_event_once(
    spawn: Spawn, hitl: Hitl, hitl_env: HitlEnv, s3_env: dict[str, str]
) -> None:
    tokens_file = hitl_env.cwd / "tokens.json"
    tokens = {
        who: hitl("token", "create", who, "--tokens-file", str(tokens_file)).stdout.strip()
        for who in VOTERS
    }
    endpoints, replicas = [], []
    for _ in range(2):
        port = free_port()
        replica = spawn(
            [*HITL, "serve", "--host", "127.0.0.1", "--port", str(port)],
            **s3_env,
            HITL_TOKENS_FILE=str(tokens_file),
        )
        endpoints.append(f"http://127.0.0.1:{port}")
        replicas.append(replica)
        _wait_until_serving(endpoints[-1], replica)
    planned = asyncio.run(_ask(s3_env["HITL_STORE"], "race"))
    plan_file, go_file = _write_plan(hitl_env.cwd, planned)
    voters = [
        spawn.python(VOTER, who, str(plan_file), str(go_file), *endpoints, HITL_TOKEN=tokens[who])
        for who in VOTERS
    ]
    started = time.monotonic()
    told = _race(voters, go_file)
    print(f"S3 race: {len(VOTERS) * EVENTS} votes in {time.monotonic() - started:.1f}s")
    decisions = asyncio.run(_check(s3_env["HITL_STORE"], planned, told))
    assert decisions == {"approved", "vetoed", "rejected"}
    assert not any("Traceback" in replica.stderr for replica in replicas)
