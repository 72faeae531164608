"""The audit trail: who resolved an event, when, how, having seen what; append-only, capped."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

import hitlkit
from hitlkit import Client, EventTimeoutError, LocalStore
from hitlkit._audit import MAX_REFUSALS_PER_EVENT
from tests.security.conftest import App

HITL = [sys.executable, "-m", "hitlkit._cli"]


def shown_sha256(event: hitlkit.Event[object]) -> str:
    record = event.record
    shown = {
        "prompt": record.prompt,
        "prompt_type": record.prompt_type,
        "description": record.description,
        "data_type": record.data_type,
        "json_schema": record.json_schema,
    }
    text = json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_each_channel_is_recorded_with_the_hash_of_what_was_shown(secured: App) -> None:
    by_api = secured.ask("api", prompt="How many?")
    cancelled = secured.ask("off")
    timed_out = secured.ask("late", timeout_seconds=0.1)
    with secured.client(secured.tokens["ana"]) as http:
        http.post(f"/api/events/{by_api.request_id}/answer", json={"value": 1})
        http.post(f"/api/events/{cancelled.request_id}/cancel", json={"reason": "no"})
        trail = http.get(f"/api/events/{by_api.request_id}/audit").json()["entries"]
    with pytest.raises(EventTimeoutError):
        timed_out.wait()

    [entry] = trail
    assert (entry["action"], entry["by"], entry["via"]) == ("answered", "ana", "api")
    assert entry["shown_sha256"] == shown_sha256(by_api)
    [cancel] = Client(store=secured.store).audit(cancelled.request_id)
    assert (cancel.action, cancel.by, cancel.via) == ("cancelled", "ana", "api")
    [timeout] = Client(store=secured.store).audit(timed_out.request_id)
    assert (timeout.action, timeout.by, timeout.via) == ("timed_out", "hitlkit", "timeout")


def test_refused_attempts_are_recorded_up_to_a_cap(secured: App) -> None:
    event = secured.ask("approve", bool, assignees=["ana"])
    with secured.client(secured.tokens["bo"]) as bo:
        for _ in range(MAX_REFUSALS_PER_EVENT + 10):
            assert (
                bo.post(f"/api/events/{event.request_id}/answer", json={"value": True}).status_code
                == 403
            )
    with secured.client(secured.tokens["ana"]) as ana:
        ana.post(f"/api/events/{event.request_id}/answer", json={"value": True})
        late = ana.post(f"/api/events/{event.request_id}/answer", json={"value": False})

    trail = Client(store=secured.store).audit(event.request_id)
    refused = [e for e in trail if e.action == "refused"]
    assert late.status_code == 409
    assert len(refused) == MAX_REFUSALS_PER_EVENT
    assert {(e.by, e.detail) for e in refused} == {("bo", "not_assigned")}
    assert [e.action for e in trail if e.action != "refused"] == ["answered"]


def test_the_trail_survives_a_restart_and_cannot_be_rewritten(secured: App) -> None:
    event = secured.ask("count")
    with secured.client(secured.tokens["bo"]) as http:
        http.post(f"/api/events/{event.request_id}/answer", json={"value": 5})

    reopened = LocalStore(secured.store.root)
    # The resolution's entry is the outcome itself, written once.
    [key] = reopened.list(f"outcomes/{event.request_id[:8]}/")
    forged = json.dumps({"by": "mallory"}).encode()

    assert reopened.put_if_absent(key, forged) is False
    [entry] = Client(store=reopened).audit(event.request_id)
    assert (entry.action, entry.by, entry.via) == ("answered", "bo", "api")
    assert entry.shown_sha256 == shown_sha256(event)
    reopened.close()


def test_hitl_show_and_the_event_page_show_the_trail(secured: App) -> None:
    event = secured.ask("count", prompt="How many?")
    with secured.client(secured.tokens["ana"]) as http:
        http.post(f"/api/events/{event.request_id}/answer", json={"value": 5})
        page = http.get(f"/form/{event.request_id}")
    env = {**os.environ, "HITL_TOKEN": secured.tokens["bo"]}
    shown = subprocess.run(
        [*HITL, "show", event.request_id, "--endpoint", secured.url],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    as_json = subprocess.run(
        [*HITL, "show", event.request_id, "--json", "--store", str(secured.store.root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert "Audit trail" in page.text
    assert "answered by ana via api" in page.text
    assert shown.returncode == 0, shown.stderr
    [line] = [line for line in shown.stdout.splitlines() if line.startswith("audit")]
    assert f"answered by ana via api, shown sha256 {shown_sha256(event)}" in line
    [entry] = json.loads(as_json.stdout)["audit"]
    assert (entry["by"], entry["via"]) == ("ana", "api")
