"""Slack answers: messages posted to a Slack Web API on 127.0.0.1, and interactions signed
exactly as Slack signs them, posted to a real app's `/slack/interact`."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from pydantic import BaseModel

import hitlkit
from hitlkit import LocalStore, Policy, Quorum, _ops, _policy_ops
from hitlkit._chat import _messages
from hitlkit._chat import send as chat_send
from hitlkit._chat._slack_blocks import modal_view
from hitlkit._notify import message_for
from hitlkit._server import create_app
from hitlkit._tokens import create_token
from tests.integration.conftest import serve_in_thread
from tests.receivers import wait_until
from tests.slack import SlackApi, interaction_body, sign, signed_headers, slack_api

SECRET = "slack-signing-secret-0123456789"
TOKEN = "xoxb-test-bot-token"
TARGET = "slack-app://#ops"


class Color(Enum):
    RED = "red"
    GREEN = "green"


class Limits(BaseModel):
    cpu: int


class Nested(BaseModel):
    name: str
    limits: Limits


@pytest.fixture
def slack() -> Iterator[SlackApi]:
    yield from slack_api(emails={"UCY": "Cy.Smith@example.org", "UNOMAIL": ""})


@pytest.fixture
def app_url(
    app_store: LocalStore, slack: SlackApi, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A real app, with the Slack app's settings in the environment."""
    monkeypatch.setenv("HITL_SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("HITL_SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("HITL_SLACK_API_URL", slack.url)
    monkeypatch.setenv("HITL_SLACK_USERS", "UANA=ana, UBO=bo")
    server, thread, port = serve_in_thread(create_app(app_store))
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def client(app_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app_url, timeout=10, trust_env=False) as http:
        yield http


def ask(store: LocalStore, endpoint: str, data_type: Any = bool, **options: Any) -> Any:
    options.setdefault("prompt", "Ship it?")
    return hitlkit.new_event(
        "deploy",
        data_type,
        store=store,
        endpoint=endpoint,
        serve=False,
        notify=[TARGET],
        run_id="run-7",
        **options,
    )


def posted(slack: SlackApi, count: int = 1) -> list[dict[str, Any]]:
    """The blocks of the last message posted, once `count` messages are."""
    wait_until(lambda: len(slack.of("chat.postMessage")) >= count, "the Slack message")
    call = slack.of("chat.postMessage")[count - 1]
    blocks: list[dict[str, Any]] = call.args["blocks"]
    return blocks


def elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    [actions] = [b for b in blocks if b["type"] == "actions"]
    found: list[dict[str, Any]] = actions["elements"]
    return found


def pressed(event: Any, element: dict[str, Any], user: str = "UANA") -> dict[str, Any]:
    """A block_actions payload: `user` pressed `element` of `event`'s message."""
    action = {"action_id": element["action_id"], "block_id": f"hitl:{event.request_id}"}
    if "value" in element:
        action["value"] = element["value"]
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower()},
        "channel": {"id": "C0PS"},
        "container": {"type": "message", "channel_id": "C0PS"},
        "trigger_id": "trigger-1",
        "actions": [action],
    }


def interact(http: httpx.Client, payload: dict[str, Any], **sign_options: Any) -> httpx.Response:
    body = interaction_body(payload)
    return http.post(
        "/slack/interact", content=body, headers=signed_headers(SECRET, body, **sign_options)
    )


def ephemerals(slack: SlackApi, count: int) -> list[str]:
    wait_until(lambda: len(slack.of("chat.postEphemeral")) >= count, "the ephemeral message")
    return [call.args["text"] for call in slack.of("chat.postEphemeral")]


def test_an_open_event_posts_its_message_with_the_bot_token_and_records_it(
    app_store: LocalStore, app_url: str, slack: SlackApi
) -> None:
    event = ask(app_store, app_url, prompt="Ship **v2**?", prompt_type="markdown")
    blocks = posted(slack)
    [call] = slack.of("chat.postMessage")
    assert call.token == TOKEN
    assert call.args["channel"] == "#ops"
    assert blocks[0]["text"]["text"] == "deploy"
    assert blocks[1]["text"]["text"] == "Ship *v2*?"
    epoch = int(event.deadline.timestamp())
    assert f"<!date^{epoch}^" in blocks[2]["text"]["text"]
    assert event.request_id in blocks[3]["elements"][0]["text"]
    assert "run-7" in blocks[3]["elements"][0]["text"]
    assert [(e["text"]["text"], e["value"]) for e in elements(blocks)] == [
        ("Approve", "true"),
        ("Reject", "false"),
    ]
    messages: list[_messages.PostedMessage] = []

    def recorded() -> bool:
        messages[:] = asyncio.run(_messages.posted_messages(app_store, event.request_id))
        return bool(messages)

    wait_until(recorded, "the posted message's record")
    [message] = messages
    assert message.channel.startswith("C")
    assert message.ts


@pytest.mark.parametrize(
    ("data_type", "expected"),
    [
        (Color, ["button", "button"]),
        (Literal[tuple(range(30))], ["static_select"]),
        (int, ["modal"]),
        (Nested, ["link"]),
        (Literal[tuple(f"o{n}" for n in range(101))], ["link"]),
    ],
)
def test_each_type_gets_the_inputs_slack_can_hold(
    app_store: LocalStore, app_url: str, slack: SlackApi, data_type: Any, expected: list[str]
) -> None:
    event = ask(app_store, app_url, data_type)
    found = elements(posted(slack))
    kinds = [
        "link" if "url" in e else "modal" if e["action_id"] == "hitl.modal" else e["type"]
        for e in found
    ]
    assert kinds == expected
    if expected == ["link"]:
        assert found[0]["url"] == f"{app_url}/form/{event.request_id}"


def test_a_hostile_prompt_reaches_slack_escaped(
    app_store: LocalStore, app_url: str, slack: SlackApi
) -> None:
    ask(app_store, app_url, prompt="Hey <!channel> and <@U1>: *now* & <https://x.org|here>")
    text = posted(slack)[1]["text"]["text"]
    assert "<" not in text
    assert "&lt;!channel&gt;" in text
    assert "&lt;@U1&gt;" in text
    assert "&amp;" in text
    assert "*now*" not in text


def test_a_signed_press_answers_as_the_mapped_identity(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url)
    approve = elements(posted(slack))[0]
    response = interact(client, pressed(event, approve))
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert event.wait() is True
    outcome = event.outcome()
    assert (outcome.by, outcome.via, outcome.value) == ("ana", "slack", True)
    [text] = ephemerals(slack, 1)
    assert "Recorded: yes" in text
    [call] = slack.of("chat.postEphemeral")
    assert (call.args["channel"], call.args["user"]) == ("C0PS", "UANA")


def test_an_unmapped_user_answers_as_their_emails_local_part(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url, Color)
    green = elements(posted(slack))[1]
    assert interact(client, pressed(event, green, user="UCY")).status_code == 200
    assert event.wait() == Color.GREEN
    outcome = event.outcome()
    assert (outcome.by, outcome.via) == ("cy.smith", "slack")
    assert [call.args["user"] for call in slack.of("users.info")] == ["UCY"]


def test_a_user_without_identity_is_told_and_nothing_is_recorded(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url)
    approve = elements(posted(slack))[0]
    assert interact(client, pressed(event, approve, user="UNOMAIL")).status_code == 200
    [text] = ephemerals(slack, 1)
    assert "couldn't tell who you are" in text
    assert event.outcome() is None


def _forged(body: str) -> dict[str, str]:
    return signed_headers(SECRET, body + "&x=1")


def _wrong_secret(body: str) -> dict[str, str]:
    return signed_headers("another-secret-0123456789", body)


def _stale(body: str) -> dict[str, str]:
    return signed_headers(SECRET, body, timestamp=int(time.time()) - 360)


def _future(body: str) -> dict[str, str]:
    return signed_headers(SECRET, body, timestamp=int(time.time()) + 360)


def _unsigned(body: str) -> dict[str, str]:
    return {"content-type": "application/x-www-form-urlencoded"}


def _no_timestamp(body: str) -> dict[str, str]:
    headers = signed_headers(SECRET, body)
    del headers["x-slack-request-timestamp"]
    return headers


def _bad_timestamp(body: str) -> dict[str, str]:
    return {**signed_headers(SECRET, body), "x-slack-request-timestamp": "soon"}


def _not_ascii(body: str) -> dict[str, Any]:
    ts = int(time.time())
    signature = "v0=é" + sign(SECRET, ts, body)[4:]
    return {"x-slack-request-timestamp": str(ts), "x-slack-signature": signature.encode("latin-1")}


@pytest.mark.parametrize(
    "headers_of",
    [_forged, _wrong_secret, _stale, _future, _unsigned, _no_timestamp, _bad_timestamp, _not_ascii],
)
def test_unsigned_forged_or_stale_interactions_are_refused_and_record_nothing(
    app_store: LocalStore,
    app_url: str,
    slack: SlackApi,
    client: httpx.Client,
    headers_of: Any,
) -> None:
    event = ask(app_store, app_url)
    approve = elements(posted(slack))[0]
    body = interaction_body(pressed(event, approve))
    response = client.post("/slack/interact", content=body, headers=headers_of(body))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"
    assert "signature" in response.json()["message"]
    time.sleep(0.2)  # a background answer would have been recorded by now
    assert event.outcome() is None
    assert [c.method for c in slack.calls] == ["chat.postMessage"]


def test_without_a_signing_secret_the_route_says_it_is_not_configured(
    app_store: LocalStore, app_url: str, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HITL_SLACK_SIGNING_SECRET")
    response = interact(client, {"type": "block_actions"})
    assert response.status_code == 503
    assert "HITL_SLACK_SIGNING_SECRET" in response.json()["message"]


def test_a_replayed_press_is_idempotent_and_a_later_one_is_told_how_it_ended(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url)
    approve, reject = elements(posted(slack))
    payload = pressed(event, approve)
    body = interaction_body(payload)
    headers = signed_headers(SECRET, body)
    assert client.post("/slack/interact", content=body, headers=headers).status_code == 200
    ephemerals(slack, 1)
    assert client.post("/slack/interact", content=body, headers=headers).status_code == 200
    assert "already recorded" in ephemerals(slack, 2)[1]
    assert interact(client, pressed(event, reject, user="UBO")).status_code == 200
    late = ephemerals(slack, 3)[2]
    assert late == "Not recorded: already answered by ana: yes (via slack)."
    outcome = event.outcome()
    assert (outcome.value, outcome.by) == (True, "ana")


def test_someone_not_assigned_is_told_it_is_not_theirs(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url, assignees=["ana"])
    approve = elements(posted(slack))[0]
    assert interact(client, pressed(event, approve, user="UBO")).status_code == 200
    [text] = ephemerals(slack, 1)
    assert text.startswith("This one is not yours to answer")
    assert event.outcome() is None


def test_who_asked_may_not_answer_under_separation_of_duties(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url, policy=Policy(separate_duties=True), requested_by="ana")
    blocks = posted(slack)
    assert any("Policy" in str(b) for b in blocks)
    approve = elements(blocks)[0]
    assert interact(client, pressed(event, approve, user="UANA")).status_code == 200
    [text] = ephemerals(slack, 1)
    assert text.startswith("This one is not yours to answer")
    assert event.outcome() is None
    assert interact(client, pressed(event, approve, user="UBO")).status_code == 200
    assert event.wait() is True
    assert event.outcome().by == "bo"


def test_the_modal_opens_and_its_submission_answers_or_shows_errors(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url, int, prompt="How many replicas?")
    [button] = elements(posted(slack))
    assert interact(client, pressed(event, button)).status_code == 200
    wait_until(lambda: bool(slack.of("views.open")), "the modal")
    [opened] = slack.of("views.open")
    assert opened.args["trigger_id"] == "trigger-1"
    view = opened.args["view"]
    assert view["private_metadata"] == event.request_id
    [field] = [b for b in view["blocks"] if b["type"] == "input"]
    assert field["element"]["type"] == "number_input"

    def submission(text: str) -> dict[str, Any]:
        state = {field["block_id"]: {"v": {"type": "number_input", "value": text}}}
        return {
            "type": "view_submission",
            "user": {"id": "UANA"},
            "view": {**view, "state": {"values": state}},
        }

    bad = interact(client, submission("many"))
    assert bad.status_code == 200
    assert bad.json()["response_action"] == "errors"
    assert list(bad.json()["errors"]) == ["value"]
    assert event.outcome() is None
    good = interact(client, submission("4"))
    assert good.status_code == 200, good.text
    assert good.content == b""
    assert event.wait() == 4
    assert (event.outcome().by, event.outcome().via) == ("ana", "slack")


def test_a_reminder_is_a_reply_in_the_messages_thread(
    app_store: LocalStore, app_url: str, slack: SlackApi
) -> None:
    event = ask(app_store, app_url)
    posted(slack)
    messages: list[_messages.PostedMessage] = []

    def recorded() -> bool:
        messages[:] = asyncio.run(_messages.posted_messages(app_store, event.request_id))
        return bool(messages)

    wait_until(recorded, "the posted message's record")
    message = message_for(event.record, app_url, reminder=True)
    assert chat_send(app_store, event.record, TARGET, message, kind="reminder", endpoint=app_url)
    _, reply = slack.of("chat.postMessage")
    assert (reply.args["channel"], reply.args["thread_ts"]) == (messages[0].channel, messages[0].ts)
    assert "still waits" in reply.args["text"]
    assert f"{app_url}/form/{event.request_id}|Answer here>" in reply.args["text"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not a form at all \xff", 400),
        ("other=1", 400),
        ("payload=not-json", 400),
        ("payload=%5B1%5D", 400),
        (interaction_body({"type": "shortcut"}), 400),
        (interaction_body({"type": "block_actions", "actions": []}), 400),
        (interaction_body({"type": "view_submission", "view": {"callback_id": "x"}}), 400),
        (
            interaction_body(
                {
                    "type": "block_actions",
                    "user": {"id": "UANA"},
                    "actions": [{"action_id": "hitl.answer.0", "block_id": "other", "value": "1"}],
                }
            ),
            400,
        ),
        (
            interaction_body(
                {
                    "type": "block_actions",
                    "user": {"id": "UANA"},
                    "channel": {"id": "C0PS"},
                    "actions": [
                        {"action_id": "hitl.answer.0", "block_id": "hitl:nope", "value": "true"}
                    ],
                }
            ),
            200,
        ),
    ],
)
def test_garbage_interactions_get_a_4xx_or_a_calm_200(
    app_url: str, slack: SlackApi, client: httpx.Client, body: str, status: int
) -> None:
    response = client.post("/slack/interact", content=body, headers=signed_headers(SECRET, body))
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["error"] == "invalid_payload"
    else:
        [text] = ephemerals(slack, 1)
        assert "No such question" in text


def test_a_slack_target_needs_a_bot_token_and_a_known_form(
    app_store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HITL_SLACK_BOT_TOKEN", raising=False)
    with pytest.raises(hitlkit.ConfigurationError, match="HITL_SLACK_BOT_TOKEN"):
        ask(app_store, "http://127.0.0.1:9")
    monkeypatch.setenv("HITL_SLACK_BOT_TOKEN", TOKEN)
    for bad in ("slack-app://ops", "slack-app://#Bad Name", "slack-app://X123"):
        with pytest.raises(hitlkit.ConfigurationError, match=r"slack-app://#channel-name"):
            hitlkit.new_event(
                "x", bool, store=app_store, endpoint="http://127.0.0.1:9", serve=False, notify=[bad]
            )


def test_the_payload_json_of_a_select_carries_the_choice(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url, Literal[tuple(range(30))])
    [select] = elements(posted(slack))
    payload = pressed(event, select)
    payload["actions"][0]["selected_option"] = select["options"][7]
    payload["actions"][0].pop("value", None)
    assert json.loads(select["options"][7]["value"]) == 7
    assert interact(client, payload).status_code == 200
    assert event.wait() == 7


def test_a_vote_that_decides_nothing_yet_shows_the_policys_state_on_the_message(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url, policy=Quorum(2, of=["ana", "bo", "cy"]))
    approve = elements(posted(slack))[0]
    wait_until(
        lambda: bool(asyncio.run(_messages.posted_messages(app_store, event.request_id))),
        "the posted message's record",
    )
    assert interact(client, pressed(event, approve)).status_code == 200
    [text] = ephemerals(slack, 1)
    assert text.startswith("Your vote (yes) is recorded")
    assert event.outcome() is None
    wait_until(lambda: bool(slack.of("chat.update")), "the message's update")
    [update] = slack.of("chat.update")
    policy = [b for b in update.args["blocks"] if "Policy" in str(b)]
    assert "ana" in str(policy)
    assert [e["value"] for e in elements(update.args["blocks"])] == ["true", "false"]
    assert interact(client, pressed(event, approve, user="UBO")).status_code == 200
    assert event.wait() is True


def test_a_message_slack_refuses_is_tried_again_and_the_token_never_logged(
    app_store: LocalStore,
    app_url: str,
    slack: SlackApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack.fail["chat.postMessage"] = "ratelimited"
    event = ask(app_store, app_url)
    posted(slack, 2)  # the outbox's retry, a second later

    def audited() -> bool:
        entries = hitlkit.Client(store=app_store).audit(event.request_id)
        return any(e.action == "notified" for e in entries)

    wait_until(audited, "the audit entry")
    [entry] = [
        e for e in hitlkit.Client(store=app_store).audit(event.request_id) if e.action == "notified"
    ]
    assert (entry.via, entry.detail) == ("slack-app", "opened ok: slack-app://#ops")
    assert "ratelimited" in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("error", "hint"),
    [("invalid_auth", "HITL_SLACK_BOT_TOKEN"), ("not_in_channel", "invite the app")],
)
def test_a_message_no_retry_can_mend_fails_at_once_saying_what_to_fix(
    app_store: LocalStore,
    app_url: str,
    slack: SlackApi,
    caplog: pytest.LogCaptureFixture,
    error: str,
    hint: str,
) -> None:
    slack.fail["chat.postMessage"] = error
    event = ask(app_store, app_url)

    def audited() -> bool:
        entries = hitlkit.Client(store=app_store).audit(event.request_id)
        return any(e.action == "notified" for e in entries)

    wait_until(audited, "the audit entry")
    [entry] = [
        e for e in hitlkit.Client(store=app_store).audit(event.request_id) if e.action == "notified"
    ]
    assert entry.detail == "opened failed: slack-app://#ops"
    assert len(slack.of("chat.postMessage")) == 1
    assert f"Slack says {error}" in caplog.text
    assert hint in caplog.text
    assert TOKEN not in caplog.text


def test_a_users_map_that_cannot_be_read_records_nothing(
    app_store: LocalStore,
    app_url: str,
    slack: SlackApi,
    client: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = ask(app_store, app_url)
    approve = elements(posted(slack))[0]
    monkeypatch.setenv("HITL_SLACK_USERS", "UANA")
    assert interact(client, pressed(event, approve)).status_code == 200
    [text] = ephemerals(slack, 1)
    assert "Slack settings cannot be used" in text
    assert event.outcome() is None


def test_the_modal_is_not_opened_for_someone_not_assigned_nor_after_the_end(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url, int, assignees=["ana"])
    [button] = elements(posted(slack))
    assert interact(client, pressed(event, button, user="UBO")).status_code == 200
    assert ephemerals(slack, 1)[0].startswith("This one is not yours to answer")
    view = modal_view(event.record)
    assert view is not None
    submitted = {
        "type": "view_submission",
        "user": {"id": "UBO"},
        "view": {
            **view,
            "state": {"values": {"value": {"v": {"type": "number_input", "value": "2"}}}},
        },
    }
    refused = interact(client, submitted)
    assert refused.json()["errors"]["value"].startswith("This one is not yours to answer")
    assert event.outcome() is None
    asyncio.run(_ops.answer_event(app_store, event.request_id, 3, by="ana", via="python"))
    assert interact(client, pressed(event, button, user="UANA")).status_code == 200
    assert ephemerals(slack, 2)[1] == "This one has ended: already answered by ana: 3 (via python)."
    assert slack.of("views.open") == []


def test_an_approval_is_approved_by_its_button(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url, hitlkit.Approval, assignees=["bo"])
    blocks = posted(slack)
    assert "for bo" in blocks[3]["elements"][0]["text"]
    approve = elements(blocks)[0]
    assert interact(client, pressed(event, approve, user="UBO")).status_code == 200
    assert event.wait() == hitlkit.Approval(approved=True)
    assert (event.outcome().by, event.outcome().via) == ("bo", "slack")


def test_the_route_takes_slacks_signature_where_the_app_needs_tokens(
    app_store: LocalStore,
    app_url: str,
    slack: SlackApi,
    tmp_path: Path,
) -> None:
    tokens_file = tmp_path / "tokens.json"
    token = create_token(tokens_file, "ops")
    server, thread, port = serve_in_thread(create_app(app_store, tokens_file=tokens_file))
    try:
        event = ask(app_store, app_url)
        approve = elements(posted(slack))[0]
        body = interaction_body(pressed(event, approve))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, trust_env=False) as http:
            # An API token is no signature; a signed request needs no token, nor an origin.
            bearer = {"authorization": f"Bearer {token}"}
            refused = http.post("/slack/interact", content=body, headers=bearer)
            assert refused.status_code == 401
            assert http.get("/api/events").status_code == 401
            cross_site = {**signed_headers(SECRET, body), "sec-fetch-site": "cross-site"}
            answered = http.post("/slack/interact", content=body, headers=cross_site)
            assert answered.status_code == 200, answered.text
        assert event.wait() is True
        assert event.outcome().by == "ana"
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_press_after_a_cancel_or_the_deadline_is_told_how_it_ended(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    cancelled = ask(app_store, app_url)
    approve = elements(posted(slack))[0]
    asyncio.run(
        _ops.cancel_event(app_store, cancelled.request_id, by="dev", via="python", reason="moot")
    )
    assert interact(client, pressed(cancelled, approve)).status_code == 200
    assert ephemerals(slack, 1)[0] == "Not recorded: cancelled by dev (moot)."
    expired = hitlkit.new_event(
        "late", bool, store=app_store, endpoint=app_url, serve=False, timeout_seconds=0.2
    )
    time.sleep(0.3)  # past its deadline
    assert interact(client, pressed(expired, approve)).status_code == 200
    assert ephemerals(slack, 2)[1] == "Not recorded: expired: its deadline passed."
    outcome = expired.outcome()
    assert outcome is not None
    assert outcome.status == "timed_out"


def test_an_approvals_reason_given_in_the_modal_is_the_votes_comment(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url, hitlkit.Approval, policy=Quorum(1, of=["ana", "bo"]))
    posted(slack)
    view = modal_view(event.record)
    assert view is not None
    values = {
        "value.approved": {"v": {"type": "checkboxes", "selected_options": [{"value": "true"}]}},
        "value.reason": {"v": {"type": "plain_text_input", "value": "tested on staging"}},
    }
    payload = {
        "type": "view_submission",
        "user": {"id": "UBO"},
        "view": {**view, "state": {"values": values}},
    }
    response = interact(client, payload)
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert event.wait() == hitlkit.Approval(approved=True, reason="tested on staging")
    [vote] = asyncio.run(_policy_ops.read_records(app_store, event.record)).votes
    assert (vote.by, vote.via, vote.proof, vote.comment) == (
        "bo",
        "slack",
        "chat",
        "tested on staging",
    )
