"""`hitl doctor`, `hitl ls` around bad records, and a store outage seen from the command line."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

import hitlkit
from hitlkit._records import event_key, outcome_key
from tests.servers import free_ports

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl, HitlEnv


def make_events(env: HitlEnv, *names: str) -> dict[str, str]:
    return {
        name: hitlkit.new_event(
            name, data_type=int, run_id="r1", store=str(env.store), serve=False
        ).request_id
        for name in names
    }


def test_doctor_names_each_bad_entry_with_its_reason(hitl: Hitl, hitl_env: HitlEnv) -> None:
    ids = make_events(hitl_env, "good", "torn", "folder")
    store = hitl_env.store
    (store / event_key(ids["torn"])).write_text("{")
    (store / outcome_key(ids["folder"])).mkdir(parents=True)
    stray = store / "events" / ids["good"][:8] / "notes\x1b]52;c;aGk=\x07.txt"  # a hostile name
    stray.write_text("hi")

    result = hitl("doctor")
    assert result.code == 1, result.stderr
    lines = result.stdout.splitlines()
    [torn] = [line for line in lines if event_key(ids["torn"]) in line]
    assert torn.startswith("problem: ")
    assert "Invalid JSON" in torn
    [folder] = [line for line in lines if outcome_key(ids["folder"]) in line]
    assert "a folder, not a regular file" in folder
    assert any("notes\\x1b]52;c;aGk=\\x07.txt" in line for line in lines)
    assert "\x1b" not in result.stdout
    assert lines[-1].endswith("3 problems.")

    as_json = json.loads(hitl("doctor", "--json").stdout)
    assert as_json["ok"] is False
    assert {p["key"] for p in as_json["problems"]} >= {
        event_key(ids["torn"]),
        outcome_key(ids["folder"]),
    }


def test_doctor_on_a_healthy_store_exits_0(hitl: Hitl, hitl_env: HitlEnv) -> None:
    make_events(hitl_env, "a", "b")
    result = hitl("doctor")
    assert result.code == 0, result.stdout + result.stderr
    assert "no problems" in result.stdout


def test_doctor_takes_votes_and_standing_approvals_for_what_they_are(
    hitl: Hitl, hitl_env: HitlEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "ana")
    monkeypatch.setenv("HITL_USER", "ana")
    policy = hitlkit.Policy(quorum=hitlkit.Quorum(1, of=["ana", "bo"]), grant_scope="nightly")
    event = hitlkit.new_event("ok", bool, store=str(hitl_env.store), serve=False, policy=policy)
    event.answer(True, grant_seconds=3600)
    assert (hitl_env.store / "policy").is_dir()
    assert (hitl_env.store / "grants").is_dir()
    result = hitl("doctor")
    assert result.code == 0, result.stdout + result.stderr
    assert "no problems" in result.stdout


def test_doctor_reports_the_modes_of_a_store_made_before_they_were_private(
    hitl: Hitl, hitl_env: HitlEnv
) -> None:
    ids = make_events(hitl_env, "a", "b")
    store = hitl_env.store
    private = hitl("doctor")
    assert private.code == 0, private.stdout
    assert "any user may" not in private.stdout
    (store / event_key(ids["a"])).chmod(0o644)  # as an older store made them
    readable = hitl("doctor")
    assert readable.code == 0, readable.stdout
    assert "1 file or folder any user may read" in readable.stdout
    assert "file 0644" in readable.stdout
    (store / event_key(ids["b"])).chmod(0o666)
    writable = hitl("doctor")
    assert writable.code == 1
    assert "1 file or folder any user may write, and so answer" in writable.stdout
    assert "chmod -R o-rwx" in writable.stdout


def test_ls_lists_the_readable_events_and_notes_the_rest(hitl: Hitl, hitl_env: HitlEnv) -> None:
    ids = make_events(hitl_env, "good", "torn")
    (hitl_env.store / event_key(ids["torn"])).write_text("{")
    result = hitl("ls")
    assert result.code == 0, result.stderr
    assert ids["good"] in result.stdout
    assert "1 record could not be read" in result.stderr
    assert "hitl doctor" in result.stderr


def test_show_of_a_bad_record_is_one_line_naming_its_key(hitl: Hitl, hitl_env: HitlEnv) -> None:
    ids = make_events(hitl_env, "torn")
    (hitl_env.store / event_key(ids["torn"])).write_text("{")
    result = hitl("show", ids["torn"])
    assert result.code == 1
    assert event_key(ids["torn"]) in result.error_line()
    by_prefix = hitl("show", ids["torn"][:12])  # found through the listing, which skips it
    assert by_prefix.code == 1
    assert "1 record could not be read" in by_prefix.error_line()
    assert "hitl doctor" in by_prefix.error_line()


def test_a_store_outage_is_one_line_naming_the_store_and_the_cause(hitl: Hitl) -> None:
    (port,) = free_ports(1)  # nothing listens there: the bucket is down
    bucket = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": "nobody",
        "AWS_SECRET_ACCESS_KEY": "nothing",
        "AWS_REGION": "us-east-1",
    }
    result = hitl("ls", "--store", "s3://hitlkit/prefix", **bucket)
    assert result.code == 1
    line = result.error_line()
    assert "s3://hitlkit/prefix" in line
    assert "Connection refused" in line

    debug = hitl("--debug", "ls", "--store", "s3://hitlkit/prefix", **bucket)
    assert debug.code == 1
    assert "Traceback" in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-1].startswith("error: store s3://hitlkit/prefix")

    doctor = hitl("doctor", "--store", "s3://hitlkit/prefix", **bucket)
    assert doctor.code == 1
    assert "the store cannot be used: " in doctor.stdout
    assert "nothing answered at the store's address" in doctor.stdout
    assert doctor.stderr == ""
