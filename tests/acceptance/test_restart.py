"""A waiting workflow survives SIGKILL, and wakes when another process answers."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl, HitlEnv, Spawn

# A workflow step: ask, say which event it waits for, print the answer.
WAITER = """
import sys
import hitlkit

event = hitlkit.new_event(
    "q", data_type=int, run_id=sys.argv[2], store=sys.argv[1], serve=False,
    poll_interval_seconds=0.5,
)
print("waiting for", event.request_id, flush=True)
print("got", event.wait(), flush=True)
"""


def test_a_killed_waiter_gets_the_answer_given_while_it_was_down(
    spawn: Spawn, hitl: Hitl, hitl_env: HitlEnv
) -> None:
    waiter = spawn.python(WAITER, str(hitl_env.store), "r1")
    request_id = waiter.expect(r"waiting for ([0-9a-f]{24})").group(1)
    waiter.signal(signal.SIGKILL)
    assert waiter.finish() == -signal.SIGKILL

    assert hitl("answer", request_id, "7").code == 0
    restarted = spawn.python(WAITER, str(hitl_env.store), "r1")

    assert restarted.expect(r"waiting for ([0-9a-f]{24})").group(1) == request_id
    restarted.expect(r"^got 7$")
    assert restarted.finish() == 0


def test_a_waiter_wakes_when_another_process_answers(
    spawn: Spawn, hitl: Hitl, hitl_env: HitlEnv
) -> None:
    waiter = spawn.python(WAITER, str(hitl_env.store), "r2")
    request_id = waiter.expect(r"waiting for ([0-9a-f]{24})").group(1)

    assert hitl("answer", request_id, "42").code == 0

    waiter.expect(r"^got 42$")
    assert waiter.finish() == 0


def test_a_cancelled_waiter_is_told_so(spawn: Spawn, hitl: Hitl, hitl_env: HitlEnv) -> None:
    waiter = spawn.python(WAITER, str(hitl_env.store), "r3")
    request_id = waiter.expect(r"waiting for ([0-9a-f]{24})").group(1)

    assert hitl("cancel", request_id, "--reason", "not needed").code == 0

    assert waiter.finish() == 1
    assert "EventCancelledError" in waiter.stderr
    assert "not needed" in waiter.stderr


# A workflow step that serves the app if none answers (the default), then waits.
SERVING_WAITER = """
import sys
import hitlkit

event = hitlkit.new_event("q", data_type=int, run_id=sys.argv[1])
print("waiting for", event.request_id, flush=True)
print("got", event.wait(), flush=True)
"""


def test_forms_keep_loading_when_the_process_serving_them_dies(
    spawn: Spawn, hitl_env: HitlEnv
) -> None:
    owner = spawn.python(SERVING_WAITER, "owner")
    owner.expect(r"waiting for")
    hitl_env.wait_until_serving()
    borrower = spawn.python(SERVING_WAITER, "borrower")
    request_id = borrower.expect(r"waiting for ([0-9a-f]{24})").group(1)

    owner.signal(signal.SIGKILL)
    assert owner.finish() == -signal.SIGKILL

    # The borrower notices within a few seconds and serves the app itself.
    hitl_env.wait_until_serving()
    response = httpx.post(
        f"{hitl_env.endpoint}/submit/json", json={"request_id": request_id, "value": 3}, timeout=10
    )
    assert response.status_code == 200, response.text
    borrower.expect(r"^got 3$")
    assert borrower.finish() == 0
