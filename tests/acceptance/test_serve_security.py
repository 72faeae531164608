"""`hitl serve` beyond loopback: refused without authentication, working with a tokens file."""

from __future__ import annotations

import re
import signal
from typing import TYPE_CHECKING

import httpx

import hitlkit
from tests.forms import form_fields

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl, HitlEnv, Spawn

SECRET = "serve-secret-0123456789abcdef"


def test_serving_on_all_interfaces_without_auth_is_refused(hitl: Hitl, hitl_env: HitlEnv) -> None:
    port = hitl_env.endpoint.rpartition(":")[2]

    by_option = hitl("serve", "--host", "0.0.0.0", "--port", port)
    by_env = hitl("serve", "--port", port, HITL_HOST="10.1.2.3")

    for result in (by_option, by_env):
        assert result.code == 1
        line = result.error_line()
        assert "refusing to serve on" in line
        assert "--tokens-file" in line
        assert "--insecure" in line
    assert "0.0.0.0" in by_option.error_line()


def test_insecure_serves_on_all_interfaces_on_purpose(spawn: Spawn, hitl_env: HitlEnv) -> None:
    port = hitl_env.endpoint.rpartition(":")[2]
    server = spawn.hitl("serve", "--host", "0.0.0.0", "--port", port, "--insecure")
    hitl_env.wait_until_serving()

    assert httpx.get(f"{hitl_env.endpoint}/api/events").status_code == 200
    server.signal(signal.SIGINT)
    assert server.finish() == 0
    assert "has no login" in server.stderr


def test_a_loopback_app_answers_only_to_loopback_names(spawn: Spawn, hitl_env: HitlEnv) -> None:
    port = hitl_env.endpoint.rpartition(":")[2]
    spawn.hitl("serve", "--port", port)
    hitl_env.wait_until_serving()

    rebound = httpx.get(
        f"{hitl_env.endpoint}/api/events", headers={"host": f"rebind.example:{port}"}
    )
    local = httpx.get(f"http://localhost:{port}/api/events")

    assert rebound.status_code == 400
    assert rebound.json()["error"] == "invalid_host"
    assert local.status_code == 200


def test_tokens_and_links_from_the_cli_end_to_end(
    hitl: Hitl, hitl_env: HitlEnv, spawn: Spawn
) -> None:
    tokens = hitl_env.cwd / "tokens.json"
    made = hitl("token", "create", "ana", "--tokens-file", str(tokens))
    token = made.stdout.strip()
    event = hitlkit.new_event("approve", bool, run_id="r1", store=str(hitl_env.store), serve=False)
    port = hitl_env.endpoint.rpartition(":")[2]
    server = spawn.hitl(
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        port,
        HITL_TOKENS_FILE=str(tokens),
        HITL_SECRET=SECRET,
    )
    hitl_env.wait_until_serving()

    anonymous = httpx.get(f"{hitl_env.endpoint}/api/events")
    listed = hitl("ls", "--endpoint", hitl_env.endpoint, HITL_TOKEN=token)
    link = hitl("link", event.request_id[:10], "--identity", "bo", HITL_SECRET=SECRET)
    url = link.stdout.strip()
    with httpx.Client() as browser:
        fields = form_fields(browser, url)
        posted = browser.post(f"{hitl_env.endpoint}/submit", data={**fields, "value": "true"})
    shown = hitl("show", event.request_id, "--endpoint", hitl_env.endpoint, HITL_TOKEN=token)

    assert made.code == 0, made.stderr
    assert anonymous.status_code == 401
    assert listed.code == 0, listed.stderr
    assert event.request_id in listed.stdout
    assert link.code == 0, link.stderr
    assert url.startswith(f"{hitl_env.endpoint}/form/{event.request_id}?token=")
    assert posted.status_code == 303, posted.text
    assert event.wait() is True
    assert "answered by bo via form" in shown.stdout
    server.signal(signal.SIGINT)
    assert server.finish() == 0
    link_token = url.partition("?token=")[2]
    assert "token=[redacted]" in server.stdout + server.stderr
    assert link_token not in server.stdout + server.stderr
    # uvicorn's access line, as uvicorn formats it.
    request_line = re.escape(f"GET /form/{event.request_id}?token=[redacted] HTTP/1.1")
    form_line = rf'^INFO:     127\.0\.0\.1:\d+ - "{request_line}" 200 OK$'
    assert re.search(form_line, server.stdout, re.MULTILINE), server.stdout


def test_a_link_needs_the_secret(hitl: Hitl, hitl_env: HitlEnv) -> None:
    event = hitlkit.new_event("approve", bool, run_id="r1", store=str(hitl_env.store), serve=False)

    result = hitl("link", event.request_id)

    assert result.code == 1
    assert "HITL_SECRET" in result.error_line()


def test_unusable_auth_settings_are_one_error_line(hitl: Hitl, hitl_env: HitlEnv) -> None:
    missing = hitl("serve", "--tokens-file", str(hitl_env.cwd / "missing.json"))
    short = hitl("serve", HITL_SECRET="short")

    assert missing.code == short.code == 1
    assert "cannot read the tokens file" in missing.error_line()
    assert "hitl token create NAME" in missing.error_line()
    assert "at least 16 characters" in short.error_line()
    assert missing.stdout == short.stdout == ""
