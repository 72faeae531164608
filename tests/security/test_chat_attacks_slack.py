"""Attacks on Slack answers: who a Slack user answers as, what a signed request may carry,
and what a message many people read shows.

A real app takes interactions signed exactly as Slack signs them at `/slack/interact`
and talks to a Slack Web API receiver on 127.0.0.1 (`tests/slack.py`). Each test holds
one thing an attacker in the workspace (or holding the signing secret) must not break.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from hitlkit import ConfigurationError, LocalStore, Quorum
from hitlkit._chat import _messages
from hitlkit._chat import send as chat_send
from hitlkit._chat._slack_blocks import modal_view
from hitlkit._chat._updates import outcome_text
from hitlkit._notify import message_for
from hitlkit._server import create_app
from tests.integration.conftest import app_store as app_store  # a fixture
from tests.integration.test_slack import (
    SECRET,
    TARGET,
    TOKEN,
    Nested,
    ask,
    elements,
    ephemerals,
    interact,
    posted,
    pressed,
)
from tests.integration.test_slack import app_url as app_url  # a fixture
from tests.integration.test_slack import client as client  # a fixture
from tests.receivers import wait_until
from tests.slack import SlackApi, interaction_body, sign, signed_headers, slack_api

_WHO = "couldn't tell who you are"

# Each test has Slack users of its own: an identity found by e-mail is kept for a while.
EMAILS = {
    "UEVIL": "ana@attacker.example",
    "UDEE": "Dee@Example.org",
    "UEVE": "eve@other.example",
    "UBOB": "Bo@example.org",
    "UGUEST": "gus@example.org",
}


@pytest.fixture
def slack() -> Iterator[SlackApi]:
    """The Slack Web API; `app_url` (a real app, `HITL_SLACK_USERS="UANA=ana, UBO=bo"`) uses it."""
    yield from slack_api(emails=EMAILS)


def _refused(slack: SlackApi, event: Any) -> None:
    """The presser was told hitlkit cannot tell who they are, and nothing was recorded."""
    [text] = ephemerals(slack, 1)
    assert _WHO in text
    assert event.outcome() is None


def test_an_email_of_another_domain_never_answers_as_a_mapped_identity(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url, assignees=["ana"])
    approve = elements(posted(slack))[0]

    assert interact(client, pressed(event, approve, user="UEVIL")).status_code == 200

    _refused(slack, event)


def test_an_email_local_part_the_map_gives_to_another_user_is_refused_even_in_a_listed_domain(
    app_store: LocalStore,
    app_url: str,
    slack: SlackApi,
    client: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HITL_SLACK_EMAIL_DOMAINS", "example.org")
    event = ask(app_store, app_url, assignees=["bo"])
    approve = elements(posted(slack))[0]

    # UBOB's address is Bo@example.org, but HITL_SLACK_USERS gives "bo" to UBO.
    assert interact(client, pressed(event, approve, user="UBOB")).status_code == 200

    _refused(slack, event)


def test_with_email_domains_a_member_of_a_listed_domain_answers_by_their_local_part(
    app_store: LocalStore,
    app_url: str,
    slack: SlackApi,
    client: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HITL_SLACK_EMAIL_DOMAINS", "@example.org, example.com")
    event = ask(app_store, app_url)
    approve = elements(posted(slack))[0]

    assert interact(client, pressed(event, approve, user="UDEE")).status_code == 200

    assert event.wait() is True
    outcome = event.outcome()
    assert (outcome.by, outcome.via) == ("dee", "slack")


def test_with_email_domains_a_member_of_another_domain_is_told_and_nothing_is_recorded(
    app_store: LocalStore,
    app_url: str,
    slack: SlackApi,
    client: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HITL_SLACK_EMAIL_DOMAINS", "example.org")
    event = ask(app_store, app_url)
    approve = elements(posted(slack))[0]

    assert interact(client, pressed(event, approve, user="UEVE")).status_code == 200

    _refused(slack, event)


@pytest.mark.parametrize(
    "flag", ["is_restricted", "is_ultra_restricted", "is_stranger", "is_bot", "deleted"]
)
def test_a_guest_a_stranger_a_bot_or_a_deactivated_user_is_not_mapped_by_email(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client, flag: str
) -> None:
    slack.members["UGUEST"] = {flag: True}
    event = ask(app_store, app_url)
    approve = elements(posted(slack))[0]

    assert interact(client, pressed(event, approve, user="UGUEST")).status_code == 200

    _refused(slack, event)
    assert [call.args["user"] for call in slack.of("users.info")] == ["UGUEST"]


def _start(app: Any) -> None:
    """Run `app`'s lifespan start and stop, as a server does."""

    async def lifespan() -> None:
        async with app.router.lifespan_context(app):
            pass

    asyncio.run(lifespan())


def test_a_malformed_users_map_stops_the_app_from_starting_when_slack_is_on(
    app_store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_SLACK_USERS", "UANA")
    _start(create_app(app_store))  # Slack off: the map is not read

    monkeypatch.setenv("HITL_SLACK_BOT_TOKEN", TOKEN)
    with pytest.raises(ConfigurationError, match="HITL_SLACK_USERS must hold"):
        _start(create_app(app_store))


def test_a_modal_submission_under_an_unreadable_users_map_is_an_error_in_the_modal(
    app_store: LocalStore,
    app_url: str,
    slack: SlackApi,
    client: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = ask(app_store, app_url, int, assignees=["ana"])
    posted(slack)
    view = modal_view(event.record)
    assert view is not None
    monkeypatch.setenv("HITL_SLACK_USERS", "UANA")  # changed under the running app
    state = {"values": {"value": {"v": {"type": "number_input", "value": "2"}}}}

    response = interact(
        client,
        {"type": "view_submission", "user": {"id": "UANA"}, "view": {**view, "state": state}},
    )

    assert response.status_code == 200, response.text
    assert response.json()["response_action"] == "errors"
    assert "Slack settings cannot be used" in response.json()["errors"]["value"]
    assert event.outcome() is None


def test_a_slack_channel_never_gets_a_link_signed_for_the_single_assignee(
    app_store: LocalStore, app_url: str, slack: SlackApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_SECRET", "link-secret-0123456789abcdef")
    event = ask(app_store, app_url, Nested, assignees=["ana"])
    [button] = elements(posted(slack))
    form = f"{app_url}/form/{event.request_id}"
    assert "url" not in button  # a press brings the presser a link of their own
    wait_until(
        lambda: bool(asyncio.run(_messages.posted_messages(app_store, event.request_id))),
        "the posted message's record",
    )

    reminder = message_for(event.record, app_url, reminder=True)
    assert chat_send(app_store, event.record, TARGET, reminder, kind="reminder", endpoint=app_url)

    _, reply = slack.of("chat.postMessage")
    assert f"<{form}|Answer here>" in reply.args["text"]
    assert "token=" not in json.dumps([call.args for call in slack.calls])


def test_a_votes_state_update_never_lands_after_the_outcome(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url, policy=Quorum(2, of=["ana", "bo", "cy"]))
    approve = elements(posted(slack))[0]
    wait_until(
        lambda: bool(asyncio.run(_messages.posted_messages(app_store, event.request_id))),
        "the posted message's record",
    )
    slack.slow["chat.update"] = 1.5  # ana's state update reaches Slack late

    assert interact(client, pressed(event, approve)).status_code == 200
    wait_until(lambda: "chat.update" in slack.arrived, "ana's state update on its way")
    assert interact(client, pressed(event, approve, user="UBO")).status_code == 200
    assert event.wait() is True

    def outcome_shown_last() -> bool:
        updates = slack.of("chat.update")
        return len(updates) >= 3 and "actions" not in _kinds(updates[-1].args["blocks"])

    wait_until(outcome_shown_last, "the outcome as the message's last update", timeout=10)
    time.sleep(0.5)  # no later update may bring the buttons back
    last = slack.of("chat.update")[-1]
    assert "actions" not in _kinds(last.args["blocks"])
    assert last.args["text"] == outcome_text(event.record, event.outcome())


def _kinds(blocks: list[dict[str, Any]]) -> list[str]:
    return [block["type"] for block in blocks]


def test_an_unsigned_body_of_ten_mib_is_refused_for_its_size(client: httpx.Client) -> None:
    response = client.post("/slack/interact", content=b"a" * (10 * 1024 * 1024))

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


@pytest.mark.parametrize(("skew", "status"), [(-295, 200), (295, 200), (-305, 401), (305, 401)])
def test_a_signature_is_taken_within_five_minutes_of_its_timestamp_only(
    app_store: LocalStore,
    app_url: str,
    slack: SlackApi,
    client: httpx.Client,
    skew: int,
    status: int,
) -> None:
    event = ask(app_store, app_url)
    approve = elements(posted(slack))[0]
    body = interaction_body(pressed(event, approve))
    headers = signed_headers(SECRET, body, timestamp=int(time.time()) + skew)

    assert client.post("/slack/interact", content=body, headers=headers).status_code == status

    if status == 200:
        assert event.wait() is True
    else:
        time.sleep(0.5)  # a background answer would have been recorded by now
        assert event.outcome() is None


@pytest.mark.parametrize(("form", "status"), [("0{}", 200), ("{}.0", 401), ("+{}", 401)])
def test_an_odd_timestamp_is_refused_or_taken_only_with_the_hmac_over_its_exact_text(
    app_store: LocalStore,
    app_url: str,
    slack: SlackApi,
    client: httpx.Client,
    form: str,
    status: int,
) -> None:
    event = ask(app_store, app_url)
    approve = elements(posted(slack))[0]
    body = interaction_body(pressed(event, approve))
    now = str(int(time.time()))
    odd = form.format(now)

    def post(signed_over: str) -> int:
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": odd,
            "x-slack-signature": sign(SECRET, signed_over, body),
        }
        return client.post("/slack/interact", content=body, headers=headers).status_code

    assert post(now) == 401  # a signature over another text of the same time
    assert post(odd) == status


def test_json_nested_past_the_recursion_limit_is_a_400(client: httpx.Client) -> None:
    deep_value = {
        "type": "block_actions",
        "user": {"id": "UANA"},
        "actions": [
            {
                "action_id": "hitl.answer.0",
                "block_id": "hitl:0f732bb95f9a238b",
                "value": "[" * 20000,
            }
        ],
    }
    for body in ("payload=" + "[" * 30000, interaction_body(deep_value)):
        response = client.post(
            "/slack/interact", content=body, headers=signed_headers(SECRET, body)
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_payload"


def test_odd_signed_payloads_never_get_a_500_nor_record_anything_but_the_real_answer(
    app_store: LocalStore, app_url: str, slack: SlackApi, client: httpx.Client
) -> None:
    event = ask(app_store, app_url, int, assignees=["ana"])
    posted(slack)
    view = modal_view(event.record)
    assert view is not None
    rid = event.request_id

    def submitted(field: dict[str, Any], block: str = "value", **view_fields: Any) -> Any:
        state = {"values": {block: {"v": field}}}
        return {
            "type": "view_submission",
            "user": {"id": "UANA"},
            "view": {**view, "state": state, **view_fields},
        }

    def action(**fields: Any) -> dict[str, Any]:
        return {"action_id": "hitl.answer.0", "block_id": f"hitl:{rid}", **fields}

    number = {"type": "number_input", "value": "2"}
    payloads: list[Any] = [
        submitted(number, private_metadata="nope"),
        submitted(number, private_metadata="../../etc"),
        submitted(number, private_metadata="x" * 5000),
        submitted({"type": "number_input", "value": 5}),
        submitted({"type": "number_input", "value": "1e999"}),
        submitted({"type": "number_input", "value": "9" * 5000}),
        submitted({"type": "datetimepicker", "selected_date_time": "soon"}),
        submitted({"type": "static_select", "selected_option": {"value": None}}),
        submitted({"type": "checkboxes", "selected_options": [{"value": {"a": 1}}]}),
        submitted({"type": "plain_text_input", "value": "x"}, block="value.__class__"),
        {**submitted(number), "user": "UANA"},
        {**submitted(number), "user": {"id": ["UANA"]}},
        {"type": "block_actions", "user": {"id": "UANA"}, "actions": [action(value="NaN")]},
        {"type": "block_actions", "user": {"id": "UANA"}, "actions": [action(value="1e400")]},
        {
            "type": "block_actions",
            "user": {"id": "UANA"},
            "actions": [action(selected_option={"value": 3})],
        },
        {
            "type": "block_actions",
            "user": {"id": "UANA"},
            "actions": [{"action_id": "hitl.answer.0", "block_id": "hitl:" + "../" * 10}],
            "channel": {"id": 5},
        },
        {
            "type": "block_actions",
            "user": {"id": "UANA"},
            "actions": [{"action_id": "hitl.modal", "block_id": f"hitl:{rid}"}],
            "trigger_id": ["x"],
        },
        {
            "type": "block_actions",
            "user": {"id": "UANA"},
            "actions": [{"action_id": "hitl.modal", "block_id": "hitl:"}],
        },
        {"type": "shortcut", "user": {"id": "UANA"}},
        {"type": None},
        [],
    ]
    bodies = [urlencode({"payload": json.dumps(p)}) for p in payloads] + [
        "payload=%ff%fe",
        "payload=" + json.dumps({"type": "block_actions"}) + "&payload=x",
        "",
        "a=b",
    ]

    failed = []
    for body in bodies:
        response = client.post(
            "/slack/interact", content=body, headers=signed_headers(SECRET, body)
        )
        if response.status_code >= 500:
            failed.append((response.status_code, body[:120]))

    assert failed == []
    time.sleep(0.5)  # a background answer would have been recorded by now
    assert event.outcome() is None
    # Odd blocks around a real answer: the answer is still read from the view's state.
    for odd_blocks in ("notalist", [{"block_id": 5}]):
        response = interact(client, submitted(number, blocks=odd_blocks))
        assert response.status_code == 200, response.text
    outcome = event.outcome()
    assert (outcome.value, outcome.by, outcome.via) == (2, "ana", "slack")
