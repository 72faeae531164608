"""Notifications from a real workflow process: sent before it exits, never holding the exit up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.receivers import void, webhook

if TYPE_CHECKING:
    from tests.acceptance.conftest import Spawn

ASK_AND_ANSWER = """
import hitlkit
event = hitlkit.new_event("deploy", bool, prompt="Ship it?", serve=False)
print(event.request_id, flush=True)
event.answer(True)
print("answer:", event.wait(), flush=True)
"""


def test_a_workflow_that_ends_at_once_still_sends_its_message(spawn: Spawn) -> None:
    with webhook() as hook:
        run = spawn.python(ASK_AND_ANSWER, HITL_NOTIFY=hook.url, HITL_AUTOSTART="0")
        request_id = run.expect(r"^([0-9a-f]{24})$")[1]
        run.expect(r"^answer: True$")
        assert run.finish() == 0
        [post] = hook.about(request_id)  # sent before the process was gone
        assert post["title"] == "hitlkit: deploy is waiting for an answer"


def test_a_receiver_that_never_answers_does_not_keep_the_workflow_alive(spawn: Spawn) -> None:
    with void() as port:
        url = f"json://hitl:s3cr3t-pw@127.0.0.1:{port}/hook?rto=600"
        run = spawn.python(ASK_AND_ANSWER, HITL_NOTIFY=url, HITL_AUTOSTART="0")
        run.expect(r"^answer: True$")
        assert run.finish() == 0  # within the test's timeout, though the message never got out
    assert "exiting with 1 message(s) not sent" in run.stderr
    assert "s3cr3t-pw" not in run.stderr


def test_notify_without_apprise_says_what_to_install(spawn: Spawn) -> None:
    script = """
import sys
sys.modules["apprise"] = None  # as if it were not installed
import hitlkit
try:
    hitlkit.new_event("n", int, serve=False, notify=["json://127.0.0.1:9/hook"])
except hitlkit.ConfigurationError as exc:
    print("error:", exc)
"""
    run = spawn.python(script, HITL_AUTOSTART="0")
    line = run.expect(r"^error: ")
    assert 'need Apprise: pip install "hitlkit[notify]"' in line.string
    assert run.finish() == 0
