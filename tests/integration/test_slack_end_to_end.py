"""Slack from end to end: a question posted when it opens, answered by a button pressed
over HTTP or over Socket Mode, and its message changed to the outcome at once, once.

A real app on 127.0.0.1, the Slack Web API receiver (`SlackApi`) and, for Socket Mode,
a Socket Mode server on 127.0.0.1; the chat driver's turns are set an hour apart, so
an update seen here was made by the answer itself.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import BaseModel

import hitlkit
from hitlkit import LocalStore
from hitlkit._chat import _messages
from hitlkit._links import verify_answer_link
from hitlkit._server import create_app
from tests.integration.conftest import LINK_SECRET, serve_in_thread
from tests.receivers import wait_until
from tests.slack import SlackApi, SocketModeServer, interaction_body, signed_headers

SECRET = "slack-signing-secret-0123456789"
TOKEN = "xoxb-test-bot-token"


@pytest.fixture
def socket_server() -> Iterator[SocketModeServer]:
    server = SocketModeServer()
    yield server
    server.close()


@pytest.fixture
def slack(socket_server: SocketModeServer) -> Iterator[SlackApi]:
    api = SlackApi(socket_url=socket_server.url)
    yield api
    api.close()


def serve(store: LocalStore, slack: SlackApi, monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    monkeypatch.setenv("HITL_SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("HITL_SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("HITL_SLACK_API_URL", slack.url)
    monkeypatch.setenv("HITL_SLACK_USERS", "UANA=ana UBO=bo")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return serve_in_thread(create_app(store, chat_every=3600))


def ask(store: LocalStore, endpoint: str) -> Any:
    return hitlkit.new_event(
        "deploy",
        bool,
        prompt="Ship *v2* to <!channel>?",
        store=store,
        endpoint=endpoint,
        serve=False,
        notify=["slack-app://#ops"],
        assignees=["ana"],
    )


def press(event: Any, slack: SlackApi, text: str, user: str = "UANA") -> dict[str, Any]:
    """The block_actions payload of `user` pressing the button `text` of `event`'s message."""
    wait_until(lambda: bool(slack.of("chat.postMessage")), "the Slack message")
    [blocks] = [call.args["blocks"] for call in slack.of("chat.postMessage")]
    [actions] = [block for block in blocks if block["type"] == "actions"]
    [button] = [e for e in actions["elements"] if e["text"]["text"] == text]
    return {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": "C0PS"},
        "container": {"type": "message", "channel_id": "C0PS"},
        "trigger_id": "trigger-1",
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": f"hitl:{event.request_id}",
                "value": button["value"],
            }
        ],
    }


def the_update(slack: SlackApi) -> dict[str, Any]:
    wait_until(lambda: bool(slack.of("chat.update")), "the message's update")
    time.sleep(0.3)  # a second update, if one were made, would be here by now
    [update] = slack.of("chat.update")
    return update.args


def shown(update: dict[str, Any]) -> str:
    return "\n".join(
        block["text"]["text"] for block in update["blocks"] if block["type"] == "section"
    )


def test_a_button_pressed_in_slack_answers_and_changes_the_message_at_once(
    app_store: LocalStore, slack: SlackApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, thread, port = serve(app_store, slack, monkeypatch)
    url = f"http://127.0.0.1:{port}"
    try:
        event = ask(app_store, url)
        payload = press(event, slack, "Reject")
        body = interaction_body(payload)
        with httpx.Client(base_url=url, timeout=10, trust_env=False) as http:
            response = http.post(
                "/slack/interact", content=body, headers=signed_headers(SECRET, body)
            )
            assert response.status_code == 200
            assert event.wait() is False

            update = the_update(slack)
            # The same press again (a replay within the window) changes nothing.
            again = http.post("/slack/interact", content=body, headers=signed_headers(SECRET, body))
            assert again.status_code == 200
            wait_until(lambda: len(slack.of("chat.postEphemeral")) >= 2, "the second reply")
    finally:
        server.should_exit = True
        thread.join(10)

    [posted] = asyncio.run(_messages.posted_messages(app_store, event.request_id))
    assert (update["channel"], update["ts"]) == (posted.channel, posted.ts)
    assert not [block for block in update["blocks"] if block["type"] == "actions"]
    assert "*Rejected* by ana via slack" in shown(update)
    assert "&lt;!channel&gt;" in shown(update)
    assert "<!channel>" not in shown(update)
    assert len(slack.of("chat.update")) == 1
    assert "already recorded" in slack.of("chat.postEphemeral")[-1].args["text"]
    assert event.outcome().via == "slack"


def test_socket_mode_carries_a_press_to_the_answer_and_the_message(
    app_store: LocalStore,
    slack: SlackApi,
    socket_server: SocketModeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, thread, port = serve(
        app_store, slack, monkeypatch, HITL_SLACK_APP_TOKEN="xapp-1-A0123-test"
    )
    try:
        socket_server.wait_connected()
        event = ask(app_store, f"http://127.0.0.1:{port}")

        envelope = socket_server.send_interaction(press(event, slack, "Approve"))

        assert socket_server.ack(envelope) == {"envelope_id": envelope}
        assert event.wait() is True
        update = the_update(slack)
    finally:
        server.should_exit = True
        thread.join(10)

    assert event.outcome().by == "ana"
    assert event.outcome().via == "slack"
    assert "*Approved* by ana via slack" in shown(update)
    assert not [block for block in update["blocks"] if block["type"] == "actions"]


def test_a_person_who_is_not_asked_changes_nothing_over_socket_mode(
    app_store: LocalStore,
    slack: SlackApi,
    socket_server: SocketModeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, thread, port = serve(
        app_store, slack, monkeypatch, HITL_SLACK_APP_TOKEN="xapp-1-A0123-test"
    )
    try:
        socket_server.wait_connected()
        event = ask(app_store, f"http://127.0.0.1:{port}")

        envelope = socket_server.send_interaction(press(event, slack, "Approve", user="UBO"))
        socket_server.ack(envelope)
        wait_until(lambda: bool(slack.of("chat.postEphemeral")), "the reply to bo")
    finally:
        server.should_exit = True
        thread.join(10)

    [told] = slack.of("chat.postEphemeral")
    assert told.args["user"] == "UBO"
    assert "not yours to answer" in told.args["text"]
    assert event.outcome() is None
    assert not slack.of("chat.update")


class Limits(BaseModel):
    cpu: int


class Nested(BaseModel):
    name: str
    limits: Limits


def test_a_form_button_sends_each_person_a_link_of_their_own(
    app_store: LocalStore, slack: SlackApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A question beyond a modal links to its form; with an assignee, a URL in the message
    would let every reader answer as them, so a press brings a link signed for the presser."""
    server, thread, port = serve(
        app_store, slack, monkeypatch, HITL_SECRET=LINK_SECRET, HITL_ENDPOINT="https://hitl.example"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        event = hitlkit.new_event(
            "limits",
            Nested,
            store=app_store,
            endpoint=url,
            serve=False,
            notify=["slack-app://#ops"],
            assignees=["ana"],
        )
        wait_until(lambda: bool(slack.of("chat.postMessage")), "the Slack message")
        [blocks] = [call.args["blocks"] for call in slack.of("chat.postMessage")]
        [actions] = [block for block in blocks if block["type"] == "actions"]
        [button] = actions["elements"]
        with httpx.Client(base_url=url, timeout=10, trust_env=False) as http:
            for user in ("UANA", "UBO"):
                payload = {
                    "type": "block_actions",
                    "user": {"id": user},
                    "channel": {"id": "C0PS"},
                    "trigger_id": "trigger-1",
                    "actions": [
                        {
                            "action_id": button["action_id"],
                            "block_id": f"hitl:{event.request_id}",
                            "value": button["value"],
                        }
                    ],
                }
                body = interaction_body(payload)
                headers = signed_headers(SECRET, body)
                assert (
                    http.post("/slack/interact", content=body, headers=headers).status_code == 200
                )
        wait_until(lambda: len(slack.of("chat.postEphemeral")) >= 2, "both replies")
    finally:
        server.should_exit = True
        thread.join(10)

    assert "url" not in button
    told = {call.args["user"]: call.args["text"] for call in slack.of("chat.postEphemeral")}
    [link] = re.findall(r"<(https://hitl\.example/form/[^|>]+)\|Open the form>", told["UANA"])
    token = parse_qs(urlsplit(html.unescape(link)).query)["token"][0]
    verified = verify_answer_link(LINK_SECRET, token, request_id=event.request_id)
    assert verified.identity == "ana"
    assert "not yours to answer" in told["UBO"]
    assert "/form/" not in told["UBO"]
    assert event.outcome() is None
