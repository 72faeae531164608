"""The watcher's decisions without a served deployment: what it leaves, drops and refuses."""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.states import Suspended

import hitlkit
from hitlkit.contrib.prefect import Suspension, ask, resume_answered
from hitlkit.contrib.prefect.__main__ import main
from hitlkit.contrib.prefect._records import (
    CLAIM_SECONDS,
    RESUMED,
    SUSPENDED,
    record_suspension,
)

pytestmark = pytest.mark.usefixtures("prefect_api")


def suspension(request_id: str, flow_run_id: str) -> Suspension:
    return Suspension(
        request_id=request_id,
        event_name="ship",
        flow_run_id=flow_run_id,
        flow_run_name="a-run",
        deployment_id=str(uuid.uuid4()),
        created_at=hitlkit.get_event(request_id).created_at,
    )


def store() -> hitlkit.Store:
    return hitlkit.open_store(os.environ["HITL_STORE"])


@flow
def nothing() -> None:
    pass


def test_pending_questions_and_runs_not_suspended_yet_wait_for_the_next_pass() -> None:
    pending = hitlkit.new_event("ship", bool, run_id="r1")
    answered = hitlkit.new_event("ship", bool, run_id="r2")
    answered.answer(True)
    with get_client(sync_client=True) as client:
        scheduled = client.create_flow_run(nothing)  # not suspended (yet)
    record_suspension(store(), suspension(pending.request_id, str(uuid.uuid4())))
    record_suspension(store(), suspension(answered.request_id, str(scheduled.id)))
    assert resume_answered() == []
    assert len(store().list(SUSPENDED)) == 2  # both looked at again next time


def test_records_of_runs_that_are_gone_are_dropped(caplog: pytest.LogCaptureFixture) -> None:
    event = hitlkit.new_event("ship", bool, run_id="r3")
    event.answer(False)
    record_suspension(store(), suspension(event.request_id, str(uuid.uuid4())))
    store().put_if_absent(SUSPENDED + "not-a-record.json", b"{")
    assert resume_answered() == []
    assert store().list(SUSPENDED) == [SUSPENDED + "not-a-record.json"]  # left for a person
    assert "is gone" in caplog.text
    assert "not a suspension record" in caplog.text


@flow
def already_answered() -> bool:
    return ask("Go?", bool, name="go", run_id="r4", suspend=True)


def test_an_answered_question_does_not_suspend_again() -> None:
    hitlkit.new_event("go", bool, run_id="r4").answer(True)
    assert already_answered() is True  # no deployment needed: nothing to suspend for
    assert store().list(SUSPENDED) == []


def test_the_watch_command_refuses_bad_input_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["watch", "--interval", "0"]) == 1
    assert (
        capsys.readouterr().err == "error: interval must be a positive number of seconds, got 0.0\n"
    )
    assert main(["watch", "--once"]) == 0
    assert capsys.readouterr().out == ""


def test_a_claim_left_by_a_watcher_that_died_is_taken_over_once_stale() -> None:
    event = hitlkit.new_event("ship", bool, run_id="r5")
    event.answer(True)
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(nothing)
        client.set_flow_run_state(
            run.id, Suspended(timeout_seconds=600, pause_key=event.request_id), force=True
        )
    record = suspension(event.request_id, str(run.id))
    record_suspension(store(), record)
    claim_key = RESUMED + record.key
    alive = {"by": "other-host:1", "at": time.time()}
    assert store().put_if_absent(claim_key, json.dumps(alive).encode())

    assert resume_answered() == []  # another watcher is resuming it
    assert store().list(SUSPENDED) == [SUSPENDED + record.key]

    store().delete(claim_key)
    died = {"by": "other-host:1", "at": time.time() - 2 * CLAIM_SECONDS}
    assert store().put_if_absent(claim_key, json.dumps(died).encode())
    resume_answered()

    assert store().list(SUSPENDED) == []  # resumed (or refused by Prefect): done with
    taken = [key for key in store().list(RESUMED) if key != claim_key]
    assert len(taken) == 1
    assert taken[0].startswith(claim_key + ".")
