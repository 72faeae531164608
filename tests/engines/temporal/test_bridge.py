"""The bridge's decisions, on a real folder store, without a Temporal server.

Events are asked through the real activity (temporalio's ActivityEnvironment) and
answered through hitlkit; each pass gets a `send` that records what it was asked to
signal (the part a Temporal server would receive), or fails as a server would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import datetime

import pytest
from temporalio.testing import ActivityEnvironment

import hitlkit
from hitlkit import LocalStore
from hitlkit.contrib.temporal import (
    Asked,
    Question,
    Resolution,
    Target,
    Undeliverable,
    ask_activity,
    ask_question,
    bridge_pass,
)
from hitlkit.contrib.temporal._targets import SENT

pytestmark = pytest.mark.anyio


class Workflows:
    """What a Temporal server would be asked to deliver: (workflow id, signal, payload)."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.signals: list[tuple[str, str, Resolution]] = []
        self.fail = fail

    async def send(self, target: Target, resolution: Resolution) -> None:
        if self.fail is not None:
            raise self.fail
        self.signals.append((target.workflow_id, target.signal, resolution))


async def ask(
    store_url: str,
    name: str = "ship",
    *,
    workflow_id: str = "release-7",
    namespace: str = "default",
    timeout_seconds: float = 3600,
    run_id: str | None = None,
) -> Asked:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=workflow_id, namespace=namespace)
    question = Question(
        name=name,
        prompt="Ship it?",
        data_type="bool",
        timeout_seconds=timeout_seconds,
        run_id=run_id,
    )
    asked: Asked = await env.run(ask_activity, question)
    return asked


@pytest.fixture
def store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    monkeypatch.setenv("HITL_STORE", store_url)
    return LocalStore(store_url)


async def test_nothing_is_signalled_while_the_question_is_open(store: LocalStore) -> None:
    await ask(store.url)
    workflows = Workflows()

    assert await bridge_pass.aio(store, workflows.send, bridge="a") == []
    assert workflows.signals == []
    assert store.list("temporal/claims/") == []


async def test_an_answer_is_signalled_once_across_passes_and_restarts(store: LocalStore) -> None:
    asked = await ask(store.url)
    await hitlkit.answer.aio(asked.request_id, True, store=store)
    workflows = Workflows()

    [delivery] = await bridge_pass.aio(store, workflows.send, bridge="a")
    again = await bridge_pass.aio(store, workflows.send, bridge="a")
    restarted = await bridge_pass.aio(
        hitlkit.open_store(store.url), workflows.send, bridge="a-restarted"
    )

    assert delivery.sent
    assert (again, restarted) == ([], [])
    [(workflow_id, signal, resolution)] = workflows.signals
    assert (workflow_id, signal) == ("release-7", "hitlkit_resolved")
    assert (resolution.request_id, resolution.status, resolution.value) == (
        asked.request_id,
        "answered",
        True,
    )
    assert (resolution.by, resolution.via) == ("tester", "python")
    assert len(store.list(SENT)) == 1


async def test_a_second_bridge_leaves_alone_what_the_first_is_signalling(
    store: LocalStore,
) -> None:
    asked = await ask(store.url)
    await hitlkit.answer.aio(asked.request_id, False, store=store)
    workflows = Workflows()
    signalling, release = asyncio.Event(), asyncio.Event()

    async def slow_send(target: Target, resolution: Resolution) -> None:
        signalling.set()
        await release.wait()  # the server takes its time; meanwhile, bridge b looks
        await workflows.send(target, resolution)

    first = asyncio.ensure_future(bridge_pass.aio(store, slow_send, bridge="a"))
    await signalling.wait()
    second = await bridge_pass.aio(hitlkit.open_store(store.url), workflows.send, bridge="b")
    release.set()
    [delivery] = await first

    assert second == []
    assert delivery.sent
    assert [s[2].value for s in workflows.signals] == [False]


async def test_a_failed_signal_is_tried_again_by_the_same_bridge(store: LocalStore) -> None:
    asked = await ask(store.url)
    await hitlkit.answer.aio(asked.request_id, True, store=store)
    down = Workflows(fail=ConnectionError("connection refused"))

    [failed] = await bridge_pass.aio(store, down.send, bridge="a")
    up = Workflows()
    other = await bridge_pass.aio(store, up.send, bridge="b")  # a's claim is fresh
    [retried] = await bridge_pass.aio(store, up.send, bridge="a")

    assert (failed.result, failed.sent) == ("failed", False)
    assert "connection refused" in (failed.error or "")
    assert other == []
    assert retried.sent
    assert len(up.signals) == 1


async def test_a_claim_left_by_a_dead_bridge_is_taken_over(store: LocalStore) -> None:
    asked = await ask(store.url)
    await hitlkit.answer.aio(asked.request_id, True, store=store)
    # Bridge "a" claims, then dies before it records the signal as sent.
    await bridge_pass.aio(store, Workflows(fail=ConnectionError("killed")).send, bridge="a")
    workflows = Workflows()

    fresh = await bridge_pass.aio(store, workflows.send, bridge="b", claim_seconds=3600)
    [taken] = await bridge_pass.aio(store, workflows.send, bridge="b", claim_seconds=0)

    assert fresh == []
    assert taken.sent
    assert len(workflows.signals) == 1


async def test_a_workflow_that_is_gone_is_recorded_and_left_alone(store: LocalStore) -> None:
    asked = await ask(store.url)
    await hitlkit.answer.aio(asked.request_id, True, store=store)
    gone = Workflows(fail=Undeliverable("workflow execution already completed"))

    [delivery] = await bridge_pass.aio(store, gone.send, bridge="a")
    workflows = Workflows()
    later = await bridge_pass.aio(store, workflows.send, bridge="a")

    assert delivery.result == "undeliverable"
    assert delivery.error == "workflow execution already completed"
    assert later == []
    assert workflows.signals == []


async def test_a_cancellation_is_signalled_with_its_reason(store: LocalStore) -> None:
    asked = await ask(store.url)
    await hitlkit.cancel.aio(asked.request_id, reason="release called off", store=store)
    workflows = Workflows()

    await bridge_pass.aio(store, workflows.send, bridge="a")

    [(_, _, resolution)] = workflows.signals
    assert (resolution.status, resolution.reason) == ("cancelled", "release called off")


async def test_a_question_past_its_deadline_is_signalled_as_timed_out(store: LocalStore) -> None:
    asked = await ask(store.url, timeout_seconds=1)
    workflows = Workflows()
    await asyncio.sleep(max(0.0, _deadline(asked) - time.time()))

    await bridge_pass.aio(store, workflows.send, bridge="a")

    [(_, _, resolution)] = workflows.signals
    assert resolution.status == "timed_out"
    info = await hitlkit.get_event.aio(asked.request_id, store=store)
    assert info.status == "timed_out"  # recorded in the store, for every reader


def _deadline(asked: Asked) -> float:
    return datetime.fromisoformat(asked.expires_at).timestamp()


async def test_each_workflow_waiting_on_one_event_is_signalled(store: LocalStore) -> None:
    first = await ask(store.url, workflow_id="release-7", run_id="shared")
    second = await ask(store.url, workflow_id="audit-2", run_id="shared")
    assert first.request_id == second.request_id
    await hitlkit.answer.aio(first.request_id, True, store=store)
    workflows = Workflows()

    await bridge_pass.aio(store, workflows.send, bridge="a")

    assert sorted(s[0] for s in workflows.signals) == ["audit-2", "release-7"]


async def test_a_bridge_signals_only_its_namespace(store: LocalStore) -> None:
    asked = await ask(store.url, namespace="payments")
    await hitlkit.answer.aio(asked.request_id, True, store=store)
    workflows = Workflows()

    other = await bridge_pass.aio(store, workflows.send, bridge="a", namespace="default")
    [mine] = await bridge_pass.aio(store, workflows.send, bridge="b", namespace="payments")

    assert other == []
    assert mine.target.namespace == "payments"
    assert len(workflows.signals) == 1


async def test_a_damaged_target_is_skipped_and_the_others_signalled(store: LocalStore) -> None:
    asked = await ask(store.url)
    await hitlkit.answer.aio(asked.request_id, True, store=store)
    store.put_if_absent("temporal/targets/" + "0" * 24 + "/bad.json", b"not json")
    workflows = Workflows()

    [delivery] = await bridge_pass.aio(store, workflows.send, bridge="a")

    assert delivery.target.request_id == asked.request_id


async def test_a_damaged_claim_is_taken_over(store: LocalStore) -> None:
    asked = await ask(store.url)
    await hitlkit.answer.aio(asked.request_id, True, store=store)
    [target_key] = store.list("temporal/targets/")
    store.put_if_absent(target_key.replace("/targets/", "/claims/"), b"{")
    workflows = Workflows()

    [delivery] = await bridge_pass.aio(store, workflows.send, bridge="a", claim_seconds=3600)

    assert delivery.sent


def test_a_blocking_pass_signals_as_the_async_one(store: LocalStore) -> None:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="release-8")
    asked = env.run(ask_question, "ship", bool, prompt="Ship it?")
    hitlkit.answer(asked.request_id, True)
    workflows = Workflows()

    [delivery] = bridge_pass(store, workflows.send, bridge="a")

    assert delivery.sent
    assert [s[0] for s in workflows.signals] == ["release-8"]


async def test_a_bridge_that_comes_late_to_a_target_another_signalled_leaves_it(
    store: LocalStore,
) -> None:
    for workflow_id in ("release-1", "release-2"):
        asked = await ask(store.url, workflow_id=workflow_id)
        await hitlkit.answer.aio(asked.request_id, True, store=store)
    workflows = Workflows()
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_send(target: Target, resolution: Resolution) -> None:
        if not started.is_set():
            started.set()
            await release.wait()  # b has listed both targets and is signalling one
        await workflows.send(target, resolution)

    late = asyncio.ensure_future(bridge_pass.aio(store, slow_send, bridge="b", claim_seconds=0))
    await started.wait()
    early = await bridge_pass.aio(hitlkit.open_store(store.url), workflows.send, bridge="a")
    release.set()
    await late

    assert len(early) == 1  # the target b was not holding
    assert sorted(s[0] for s in workflows.signals) == ["release-1", "release-2"]


async def test_of_bridges_finding_a_claim_stale_one_takes_it_over(store: LocalStore) -> None:
    asked = await ask(store.url)
    await hitlkit.answer.aio(asked.request_id, True, store=store)
    dead = Workflows(fail=ConnectionError("connection refused"))
    await bridge_pass.aio(store, dead.send, bridge="dead")  # claims, then fails
    workflows = Workflows()

    passes = await asyncio.gather(
        *(
            bridge_pass.aio(
                hitlkit.open_store(store.url), workflows.send, bridge=name, claim_seconds=0
            )
            for name in ("b", "c", "d")
        )
    )

    assert sum(len(done) for done in passes) == 1
    assert len(workflows.signals) == 1
