"""API tokens: required where configured, one answer for every wrong token, stored as hashes."""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hitlkit import AccessDeniedError, Client
from hitlkit._tokens import TokenTable, create_token, revoke_tokens, token_hash
from tests.security.conftest import App

HITL = [sys.executable, "-m", "hitlkit._cli"]


def test_requests_without_a_credential_are_401_everywhere_but_health(secured: App) -> None:
    event = secured.ask("count")
    with secured.client() as http:
        api = [
            http.get("/api/events"),
            http.get(f"/api/events/{event.request_id}"),
            http.post(f"/api/events/{event.request_id}/answer", json={"value": 1}),
            http.post(f"/api/events/{event.request_id}/cancel", json={}),
            http.get(f"/api/events/{event.request_id}/audit"),
            http.post("/submit/json", json={"request_id": event.request_id, "value": 1}),
            http.get(f"/status/{event.request_id}"),
        ]
        pages = [http.get("/"), http.get(f"/form/{event.request_id}")]
        health = http.get("/health")

    for response in api:
        assert response.status_code == 401, response.request.url
        assert response.json()["error"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    for page in pages:
        assert page.status_code == 401
        assert page.headers["content-type"].startswith("text/html")
        assert "answer link" in page.text
        assert "<form" not in page.text
    assert health.status_code == 200
    assert event.outcome() is None


def test_every_wrong_token_gets_the_same_answer(secured: App) -> None:
    event = secured.ask("count")
    real = secured.tokens["ana"]
    wrong = [
        real[:-1] + ("A" if real[-1] != "A" else "B"),  # one character off
        real + "x",
        real[:-5],
        "hitl_" + secrets.token_urlsafe(32),
        *("hitl_" + secrets.token_urlsafe(32) for _ in range(25)),  # guessing
        "ana",
    ]
    answers = set()
    for token in wrong:
        headers = {"Authorization": f"Bearer {token}"}
        with secured.client() as http:
            response = http.post(
                f"/api/events/{event.request_id}/answer", json={"value": 1}, headers=headers
            )
        answers.add((response.status_code, response.text, response.headers["www-authenticate"]))

    assert answers == {
        (401, '{"error":"unauthorized","message":"the credential is not valid"}', "Bearer")
    }
    assert event.outcome() is None


def test_a_token_answers_as_its_name_whatever_by_says(secured: App) -> None:
    event = secured.ask("count")
    with secured.client(secured.tokens["bo"]) as http:
        response = http.post(
            f"/api/events/{event.request_id}/answer", json={"value": 2, "by": "ana"}
        )
        listed = http.get("/api/events", params={"status": "all"})

    assert response.status_code == 200
    assert response.json()["outcome"]["by"] == "bo"
    assert [e["request_id"] for e in listed.json()["events"]] == [event.request_id]


def test_the_client_sends_its_token_and_names_a_refusal(secured: App) -> None:
    event = secured.ask("count")

    Client(endpoint=secured.url, token=secured.tokens["ana"]).answer(event.request_id, 4)
    with pytest.raises(AccessDeniedError, match="not valid"):
        Client(endpoint=secured.url, token="hitl_nope").get_event(event.request_id)

    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == (4, "ana", "python")


def test_the_tokens_file_holds_hashes_only(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    token = create_token(path, "ana")
    second = create_token(path, "bo")

    text = path.read_text()
    entries = json.loads(text)["tokens"]
    assert token not in text
    assert second not in text
    assert [(e["name"], e["sha256"]) for e in entries] == [
        ("ana", token_hash(token)),
        ("bo", token_hash(second)),
    ]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert token.startswith("hitl_")
    assert len(token) >= 40
    with pytest.raises(ValueError, match="token name"):
        create_token(path, "../evil")


def test_a_token_made_while_the_app_runs_works_at_once(secured: App) -> None:
    assert secured.tokens_file is not None
    event = secured.ask("count")
    new = create_token(secured.tokens_file, "cy")
    with secured.client(new) as http:
        response = http.get(f"/api/events/{event.request_id}")

    assert response.status_code == 200
    assert TokenTable(secured.tokens_file).identify(new) == "cy"


def test_hitl_token_create_prints_the_token_once_and_the_cli_uses_it(
    secured: App, tmp_path: Path
) -> None:
    assert secured.tokens_file is not None
    event = secured.ask("count")
    env = {**os.environ, "HITL_TOKENS_FILE": str(secured.tokens_file)}
    env.pop("HITL_TOKEN", None)

    made = subprocess.run(
        [*HITL, "token", "create", "dee"], env=env, capture_output=True, text=True, timeout=30
    )
    token = made.stdout.strip()
    with_token = subprocess.run(
        [*HITL, "answer", event.request_id, "6", "--endpoint", secured.url, "--token", token],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    without = subprocess.run(
        [*HITL, "ls", "--endpoint", secured.url],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert made.returncode == 0, made.stderr
    assert token.startswith("hitl_")
    assert "\n" not in token
    assert token not in made.stderr
    assert token not in secured.tokens_file.read_text()
    assert with_token.returncode == 0, with_token.stderr
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == (6, "dee", "cli")
    assert without.returncode == 1
    assert without.stderr.startswith("error: this app needs a credential")
    assert len(without.stderr.splitlines()) == 1


def test_a_malformed_authorization_header_is_401(secured: App) -> None:
    with httpx.Client(base_url=secured.url, trust_env=False) as http:
        response = http.get("/api/events", headers={"Authorization": "Basic YW5hOmFuYQ=="})

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_hitl_token_revoke_stops_a_token_at_the_next_request(secured: App) -> None:
    assert secured.tokens_file is not None
    env = {**os.environ, "HITL_TOKENS_FILE": str(secured.tokens_file)}
    ana = secured.tokens["ana"]
    with secured.client(token=ana) as http:
        assert http.get("/api/events").status_code == 200

        revoked = subprocess.run(
            [*HITL, "token", "revoke", "ana"], env=env, capture_output=True, text=True, timeout=30
        )
        again = subprocess.run(
            [*HITL, "token", "revoke", "ana"], env=env, capture_output=True, text=True, timeout=30
        )

        assert revoked.returncode == 0, revoked.stderr
        assert revoked.stdout.startswith("Revoked 1 token of ana in ")
        assert http.get("/api/events").status_code == 401
    assert again.returncode == 1
    assert again.stderr.startswith("error: no token of 'ana' in ")
    assert TokenTable(secured.tokens_file).identify(ana) is None
    others = [name for name in secured.tokens if name != "ana"]
    for name in others:
        assert TokenTable(secured.tokens_file).identify(secured.tokens[name]) == name


def test_making_or_revoking_a_token_keeps_the_files_mode(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    create_token(path, "ana")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # a new file is private
    path.chmod(0o644)  # readable by an app that runs as another user, on purpose

    create_token(path, "bo")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert revoke_tokens(path, "ana") == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_revoking_through_a_link_changes_the_file_the_app_reads(tmp_path: Path) -> None:
    real = tmp_path / "etc" / "tokens.json"
    token = create_token(real, "ci-bot")
    link = tmp_path / "link.json"
    link.symlink_to(real)

    assert revoke_tokens(link, "ci-bot") == 1

    assert link.is_symlink()
    assert TokenTable(real).identify(token) is None


def test_a_token_file_kept_for_another_user_keeps_its_owner(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    path = tmp_path / "tokens.json"
    create_token(path, "ana")
    os.chown(path, 12345, 12345)  # the app's own user reads it

    create_token(path, "bo")
    revoke_tokens(path, "ana")

    assert (path.stat().st_uid, path.stat().st_gid) == (12345, 12345)
