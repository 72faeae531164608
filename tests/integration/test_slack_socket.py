"""Socket Mode: the app takes Slack's interactions over a WebSocket it opens itself.

A real app (uvicorn on 127.0.0.1) with `HITL_SLACK_APP_TOKEN` asks the Slack Web API
receiver (`SlackApi`) for a connection URL, connects to a Socket Mode server on
127.0.0.1 (`SocketModeServer`), and acks each envelope with its handler's reply.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from hitlkit import ConfigurationError, LocalStore, Store, _config
from hitlkit._server import create_app
from tests.integration.conftest import serve_in_thread
from tests.slack import SlackApi, SocketModeServer

APP_TOKEN = "xapp-1-A0123-test"


class Recorder:
    """A handler of interactions that keeps what it was given and answers modals."""

    def __init__(self) -> None:
        self.calls: list[tuple[Store, dict[str, Any]]] = []
        self.lock = threading.Lock()

    async def __call__(self, store: Store, payload: dict[str, Any]) -> dict[str, Any] | None:
        with self.lock:
            self.calls.append((store, payload))
        if payload.get("type") == "boom":
            raise RuntimeError("the handler failed")
        if payload.get("type") == "view_submission":
            return {"response_action": "errors", "errors": {"value": "a whole number"}}
        return None


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


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def socket_app(
    app_store: LocalStore,
    slack: SlackApi,
    recorder: Recorder,
    socket_server: SocketModeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """A running app with Socket Mode on; yields its uvicorn server."""
    monkeypatch.setenv("HITL_SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("HITL_SLACK_API_URL", slack.url)
    server, thread, _ = serve_in_thread(create_app(app_store, slack_interactions=recorder))
    socket_server.wait_connected()
    yield server
    server.should_exit = True
    thread.join(10)


def test_the_app_connects_with_its_app_token(socket_app: Any, slack: SlackApi) -> None:
    (opened,) = slack.of("apps.connections.open")
    assert opened.token == APP_TOKEN


def test_an_interaction_reaches_the_handler_and_its_reply_is_the_acks_payload(
    socket_app: Any, socket_server: SocketModeServer, recorder: Recorder, app_store: LocalStore
) -> None:
    payload = {
        "type": "view_submission",
        "user": {"id": "U1"},
        "view": {"private_metadata": "x", "state": {"values": {}}},
    }
    envelope_id = socket_server.send_interaction(payload)

    ack = socket_server.ack(envelope_id)

    assert ack == {
        "envelope_id": envelope_id,
        "payload": {"response_action": "errors", "errors": {"value": "a whole number"}},
    }
    ((store, given),) = recorder.calls
    assert given == payload
    assert store.url == app_store.url


def test_an_interaction_with_no_reply_is_acked_without_a_payload(
    socket_app: Any, socket_server: SocketModeServer, recorder: Recorder
) -> None:
    payload = {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"value": "yes"}]}
    envelope_id = socket_server.send_interaction(payload)

    assert socket_server.ack(envelope_id) == {"envelope_id": envelope_id}
    assert [given for _, given in recorder.calls] == [payload]


def test_an_interaction_whose_handler_fails_is_acked_all_the_same(
    socket_app: Any, socket_server: SocketModeServer, recorder: Recorder
) -> None:
    failing = socket_server.send_interaction({"type": "boom"})
    after = socket_server.send_interaction({"type": "view_submission", "view": {}})

    assert socket_server.ack(failing) == {"envelope_id": failing}
    assert socket_server.ack(after)["payload"]["response_action"] == "errors"
    assert len(recorder.calls) == 2


def test_other_envelopes_are_acked_and_not_handled(
    socket_app: Any, socket_server: SocketModeServer, recorder: Recorder
) -> None:
    socket_server.send(
        {"envelope_id": "ev-1", "type": "events_api", "payload": {"event": {"type": "x"}}}
    )
    after = socket_server.send_interaction({"type": "block_actions", "actions": []})

    assert socket_server.ack("ev-1") == {"envelope_id": "ev-1"}
    socket_server.ack(after)
    assert [given["type"] for _, given in recorder.calls] == ["block_actions"]


def test_stopping_the_app_closes_the_connection(
    app_store: LocalStore,
    slack: SlackApi,
    recorder: Recorder,
    socket_server: SocketModeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HITL_SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("HITL_SLACK_API_URL", slack.url)
    server, thread, _ = serve_in_thread(create_app(app_store, slack_interactions=recorder))
    socket_server.wait_connected()
    assert socket_server.open_connections() == 1

    server.should_exit = True
    thread.join(10)

    assert not thread.is_alive()
    socket_server.wait_all_closed()
    assert socket_server.open_connections() == 0


def test_a_token_that_is_not_an_app_token_is_refused_with_what_was_expected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HITL_SLACK_APP_TOKEN", "xoxb-a-bot-token")
    with pytest.raises(ConfigurationError, match="xapp-"):
        _config.slack_app_token()
    monkeypatch.setenv("HITL_SLACK_API_URL", "slack.com/api")
    with pytest.raises(ConfigurationError, match="http:// or https://"):
        _config.slack_api_url()
