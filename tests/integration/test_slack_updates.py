"""Slack messages show their event's outcome once it ends, through any channel, exactly once.

A real app (uvicorn on 127.0.0.1) with `HITL_SLACK_BOT_TOKEN` calls the Slack Web API
receiver (`SlackApi`) through `HITL_SLACK_API_URL`. The messages posted when events
opened are recorded with `_messages.save_posted` (the store's record of posted
messages), and the events end through the API, the form, `hitl answer` and `hitl
cancel` on the store, a deadline, or a policy.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import hitlkit
from hitlkit import Approval, LocalStore, Policy, Quorum
from hitlkit._chat import _messages, _updates
from hitlkit._server import create_app
from tests.forms import form_fields
from tests.integration.conftest import serve_in_thread
from tests.receivers import wait_until
from tests.slack import SlackApi, SlackCall

BOT_TOKEN = "xoxb-test-token"
SRC = Path(__file__).resolve().parents[2] / "src"
_ts = itertools.count(1)


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackApi]:
    """A Slack Web API on 127.0.0.1, and the bot token and URL that reach it."""
    api = SlackApi()
    monkeypatch.setenv("HITL_SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("HITL_SLACK_API_URL", api.url)
    yield api
    api.close()


def _serve(store: LocalStore) -> tuple[Any, Any, str]:
    server, thread, port = serve_in_thread(create_app(store, chat_every=0.1, drive_every=0.1))
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def app_url(app_store: LocalStore, slack: SlackApi) -> Iterator[str]:
    """A real app over `app_store` that updates Slack messages (looking every 0.1 s)."""
    server, thread, url = _serve(app_store)
    yield url
    server.should_exit = True
    thread.join(10)


def ask(store: LocalStore, name: str = "deploy", kind: Any = int, **options: Any) -> Any:
    options.setdefault("prompt", "How many replicas?")
    options.setdefault("run_id", "run-1")
    return hitlkit.new_event(name, kind, store=store, serve=False, **options)


def post(store: LocalStore, event: Any, target: str = "slack-app://#deploys") -> str:
    """Record that a message about `event` was posted to `target`; its `ts`."""
    ts = f"1765000000.{next(_ts):06d}"
    channel = "C" + target.rpartition("#")[2].upper()[:8]
    _messages.save_posted(store, event.record, "slack", target, channel=channel, ts=ts)
    return ts


def updates(slack: SlackApi, ts: str) -> list[SlackCall]:
    return [call for call in slack.of("chat.update") if call.args.get("ts") == ts]


def updated(slack: SlackApi, ts: str) -> SlackCall:
    """The one update of the message `ts`, once made (and checked to stay one)."""
    wait_until(lambda: bool(updates(slack, ts)), f"the update of {ts}")
    return updates(slack, ts)[0]


def settle(store: LocalStore, slack: SlackApi) -> None:
    """Let the drivers take further turns: a later event's message is updated too."""
    later = ask(store, f"later-{next(_ts)}", prompt="later")
    ts = post(store, later)
    hitlkit.Client(store=store).cancel(later.request_id)
    updated(slack, ts)


def text_of(call: SlackCall) -> str:
    """Every text of an update's blocks, and its fallback text."""
    blocks = call.args["blocks"]
    found: list[str] = [call.args.get("text", "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(found)


def assert_no_inputs(call: SlackCall) -> None:
    kinds = {block["type"] for block in call.args["blocks"]}
    assert kinds <= {"header", "section", "divider", "context"}, kinds
    assert not any("accessory" in block for block in call.args["blocks"])


def date_of(moment: datetime) -> str:
    return f"<!date^{int(moment.timestamp())}^"


def open_entries(store: LocalStore) -> list[_messages.OpenEntry]:
    return asyncio.run(_messages.open_entries(store))


def test_an_answer_through_the_api_updates_each_message_once_with_who_when_what(
    app_store: LocalStore, slack: SlackApi, app_url: str
) -> None:
    event = ask(app_store)
    first = post(app_store, event, "slack-app://#deploys")
    second = post(app_store, event, "slack-app://#oncall")

    answered = httpx.post(
        f"{app_url}/api/events/{event.request_id}/answer",
        json={"value": 42, "by": "ana"},
        trust_env=False,
    )
    assert answered.status_code == 200, answered.text
    one, two = updated(slack, first), updated(slack, second)
    settle(app_store, slack)

    outcome = event.outcome()
    assert (one.args["channel"], two.args["channel"]) == ("CDEPLOYS", "CONCALL")
    assert one.token == BOT_TOKEN
    for call, ts in ((one, first), (two, second)):
        assert len(updates(slack, ts)) == 1
        shown = text_of(call)
        assert "*Answered* 42 by ana via api at " + date_of(outcome.at) in shown
        assert call.args["blocks"][0] == {
            "type": "header",
            "text": {"type": "plain_text", "text": "deploy"},
        }
        assert "How many replicas?" in shown
        assert_no_inputs(call)
    assert [e.request_id for e in open_entries(app_store)] == []


def test_an_answer_on_the_form_updates_the_message(
    app_store: LocalStore, slack: SlackApi, app_url: str
) -> None:
    event = ask(app_store, "scale")
    ts = post(app_store, event)

    with httpx.Client(base_url=app_url, trust_env=False) as browser:
        fields = form_fields(browser, f"/form/{event.request_id}")
        sent = browser.post("/submit", data={**fields, "value": "7", "by": "bo"})
    assert sent.status_code == 303, sent.text

    assert "*Answered* 7 by bo via form" in text_of(updated(slack, ts))


def test_a_cancel_through_the_api_shows_who_and_why(
    app_store: LocalStore, slack: SlackApi, app_url: str
) -> None:
    event = ask(app_store, "migrate")
    ts = post(app_store, event)

    cancelled = httpx.post(
        f"{app_url}/api/events/{event.request_id}/cancel",
        json={"reason": "superseded by run 43", "by": "cy"},
        trust_env=False,
    )
    assert cancelled.status_code == 200, cancelled.text

    call = updated(slack, ts)
    at = event.outcome().at
    assert f"*Cancelled* by cy at {date_of(at)}" in text_of(call)
    assert ": superseded by run 43" in text_of(call)
    assert_no_inputs(call)


def _hitl(store: LocalStore, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HITL_")}
    env.update(PYTHONPATH=str(SRC), HITL_USER="dana", HITL_STORE=str(store.root), NO_COLOR="1")
    env["HITL_CEILING_DIRECTORIES"] = os.environ["HITL_CEILING_DIRECTORIES"]
    return subprocess.run(
        [sys.executable, "-m", "hitlkit._cli", *args, "--store", str(store.root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hitl_answer_on_the_store_updates_the_message(
    app_store: LocalStore, slack: SlackApi, app_url: str
) -> None:
    event = ask(app_store, "replicas")
    ts = post(app_store, event)

    done = _hitl(app_store, "answer", event.request_id, "5")
    assert done.returncode == 0, done.stderr

    assert "*Answered* 5 by dana via cli" in text_of(updated(slack, ts))


def test_hitl_cancel_on_the_store_updates_the_message(
    app_store: LocalStore, slack: SlackApi, app_url: str
) -> None:
    event = ask(app_store, "rollback")
    ts = post(app_store, event)

    done = _hitl(app_store, "cancel", event.request_id, "--reason", "not needed")
    assert done.returncode == 0, done.stderr

    shown = text_of(updated(slack, ts))
    assert "*Cancelled* by dana" in shown
    assert "not needed" in shown


def test_a_deadline_with_nobody_waiting_records_the_timeout_and_updates_the_message(
    app_store: LocalStore, slack: SlackApi, app_url: str
) -> None:
    event = ask(app_store, "window", timeout_seconds=0.5)
    ts = post(app_store, event)

    call = updated(slack, ts)

    outcome = event.outcome()
    assert outcome.status == "timed_out"
    assert f"*Expired* at {date_of(outcome.at)}" in text_of(call)
    assert "with no answer" in text_of(call)
    assert_no_inputs(call)


def test_a_deadline_with_a_default_shows_the_default(
    app_store: LocalStore, slack: SlackApi, app_url: str
) -> None:
    event = ask(app_store, "size", timeout_seconds=0.5, default=3)
    ts = post(app_store, event)

    assert "the default was used: 3" in text_of(updated(slack, ts))


def test_a_policys_timeout_action_is_shown(
    app_store: LocalStore, slack: SlackApi, app_url: str
) -> None:
    event = ask(
        app_store,
        "release",
        bool,
        timeout_seconds=0.5,
        default=False,
        policy=Policy(quorum=Quorum(2, of=["ana", "bo"]), on_timeout="default"),
    )
    ts = post(app_store, event)
    hitlkit.Client(store=app_store, user="ana").answer(event.request_id, True)

    shown = text_of(updated(slack, ts))

    assert event.outcome().action == "default"
    assert "timeout action: default" in shown
    assert "the default was used: no" in shown
    assert "• ana: yes via python at " in shown


def test_a_quorums_decision_and_every_vote_are_shown(
    app_store: LocalStore, slack: SlackApi, app_url: str
) -> None:
    event = ask(
        app_store,
        "ship",
        Approval,
        prompt="Ship **v2**?",
        policy=Quorum(2, of=["ana", "bo", "cy"]),
        requested_by="dev",
    )
    ts = post(app_store, event)
    hitlkit.Client(store=app_store, user="ana").answer(
        event.request_id, {"approved": True}, comment="tests pass"
    )
    assert not updates(slack, ts)  # one vote decides nothing: the event is open
    hitlkit.Client(store=app_store, user="bo").answer(event.request_id, {"approved": True})

    call = updated(slack, ts)
    shown = text_of(call)

    assert f"*Decision: approved* at {date_of(event.outcome().at)}" in shown
    assert "• ana: approve via python at " in shown
    assert "tests pass" in shown
    assert "• bo: approve via python at " in shown
    assert_no_inputs(call)


def test_a_quorum_on_a_value_shows_the_value_agreed(
    app_store: LocalStore, slack: SlackApi, app_url: str
) -> None:
    event = ask(app_store, "count", policy=Quorum(2, of=["ana", "bo"]))
    ts = post(app_store, event)
    for who in ("ana", "bo"):
        hitlkit.Client(store=app_store, user=who).answer(event.request_id, 3)

    shown = text_of(updated(slack, ts))

    assert "*Decision: agreed*: 3 at " in shown
    assert "• ana: 3 via python" in shown


def test_an_event_with_nothing_recorded_shows_its_deadline(app_store: LocalStore) -> None:
    event = ask(app_store, "bare", timeout_seconds=60)

    blocks = _updates.outcome_blocks(event.record, None)

    assert blocks[3]["text"]["text"] == (
        f":hourglass: *Expired* at {date_of(event.record.deadline)}"
        "{date_short_pretty} at {time}|"
        f"{event.record.deadline:%Y-%m-%d %H:%M} UTC> with no answer"
    )


def test_everything_shown_is_escaped(app_store: LocalStore, slack: SlackApi, app_url: str) -> None:
    event = ask(app_store, "note", str, prompt="Ping <!channel> & see <https://evil.example|here>")
    ts = post(app_store, event)
    hitlkit.Client(store=app_store, user="<@U999>").answer(event.request_id, "<!here> *now*")

    call = updated(slack, ts)
    shown = text_of(call)

    assert "Ping &lt;!channel&gt; &amp; see &lt;https://evil.example|here&gt;" in shown
    assert "&lt;!here&gt;" in shown
    assert "by &lt;@U999&gt;" in shown
    for raw in ("<!channel>", "<!here>", "<@U999>"):
        assert raw not in shown
    assert json.dumps(call.args["blocks"]).count("<!date^") == 1  # ours alone


def test_a_long_answer_is_cut(app_store: LocalStore, slack: SlackApi, app_url: str) -> None:
    event = ask(app_store, "essay", str)
    ts = post(app_store, event)
    hitlkit.Client(store=app_store).answer(event.request_id, "x" * 5000)

    shown = text_of(updated(slack, ts))

    assert "x" * _updates.MAX_VALUE not in shown
    assert "x" * (_updates.MAX_VALUE - 1) + "…" in shown


def test_two_replicas_update_each_message_once(app_store: LocalStore, slack: SlackApi) -> None:
    replicas = [_serve(app_store), _serve(app_store)]
    try:
        events = [ask(app_store, f"job-{n}") for n in range(6)]
        posted = [post(app_store, event, target) for event in events for target in ("a", "b")]
        for n, event in enumerate(events):
            hitlkit.Client(store=app_store, user="ana").answer(event.request_id, n)
        for ts in posted:
            updated(slack, ts)
        settle(app_store, slack)
        settle(app_store, slack)
    finally:
        for server, thread, _ in replicas:
            server.should_exit = True
            thread.join(10)

    assert sorted(
        call.args["ts"] for call in slack.of("chat.update") if call.args["ts"] in posted
    ) == sorted(posted)


def test_a_slack_error_gives_the_update_back_to_a_later_turn(
    app_store: LocalStore, slack: SlackApi, app_url: str
) -> None:
    slack.fail["chat.update"] = "ratelimited"
    event = ask(app_store, "retry")
    ts = post(app_store, event)
    hitlkit.Client(store=app_store, user="ana").answer(event.request_id, 1)

    wait_until(lambda: len(updates(slack, ts)) == 2, "the update, again after the error")
    settle(app_store, slack)

    assert len(updates(slack, ts)) == 2  # the refused one, then the one that was made
    assert "*Answered* 1 by ana" in text_of(updates(slack, ts)[1])
    assert open_entries(app_store) == []


def test_a_message_slack_cannot_find_is_left_and_not_tried_again(
    app_store: LocalStore, slack: SlackApi, app_url: str
) -> None:
    slack.fail["chat.update"] = "message_not_found"
    event = ask(app_store, "gone")
    ts = post(app_store, event)
    hitlkit.Client(store=app_store).answer(event.request_id, 1)

    updated(slack, ts)
    settle(app_store, slack)

    assert len(updates(slack, ts)) == 1
    assert open_entries(app_store) == []


def test_an_open_event_is_left_alone(app_store: LocalStore, slack: SlackApi) -> None:
    event = ask(app_store, "open", timeout_seconds=600)
    post(app_store, event)

    assert asyncio.run(_updates.drive_once(app_store)) == 0
    assert asyncio.run(_updates.finish(app_store, event.request_id)) == 0

    assert slack.of("chat.update") == []
    assert [e.request_id for e in open_entries(app_store)] == [event.request_id]


def test_finish_updates_once_however_often_it_is_called(
    app_store: LocalStore, slack: SlackApi
) -> None:
    event = ask(app_store, "twice")
    ts = post(app_store, event)
    hitlkit.Client(store=app_store).answer(event.request_id, 2)

    made = [asyncio.run(_updates.finish(app_store, event.request_id)) for _ in range(3)]

    assert made == [1, 0, 0]
    assert len(updates(slack, ts)) == 1


def test_an_app_without_a_bot_token_updates_nothing(
    app_store: LocalStore, slack: SlackApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HITL_SLACK_BOT_TOKEN")
    server, thread, _ = _serve(app_store)
    try:
        event = ask(app_store, "quiet")
        post(app_store, event)
        hitlkit.Client(store=app_store).answer(event.request_id, 2)
        with pytest.raises(hitlkit.ConfigurationError, match="HITL_SLACK_BOT_TOKEN"):
            asyncio.run(_updates.finish(app_store, event.request_id))
    finally:
        server.should_exit = True
        thread.join(10)

    assert slack.of("chat.update") == []
    assert len(open_entries(app_store)) == 1


@pytest.mark.parametrize("reads_at_most", [0, 32])
def test_a_turn_finds_the_ended_events_by_reading_or_by_listing_the_index(
    app_store: LocalStore, slack: SlackApi, reads_at_most: int
) -> None:
    events = [ask(app_store, f"step-{n}", timeout_seconds=600) for n in range(5)]
    posted = {event.request_id: post(app_store, event) for event in events}
    newer = ask(app_store, "newer-without-a-message")
    for n in (0, 3):
        hitlkit.Client(store=app_store).answer(events[n].request_id, n)
    hitlkit.Client(store=app_store).answer(newer.request_id, 9)

    made = asyncio.run(_updates.drive_once(app_store, reads_at_most=reads_at_most))

    assert made == 2
    assert sorted(call.args["ts"] for call in slack.of("chat.update")) == sorted(
        posted[events[n].request_id] for n in (0, 3)
    )
    assert sorted(e.request_id for e in open_entries(app_store)) == sorted(
        events[n].request_id for n in (1, 2, 4)
    )


def test_a_claim_left_by_a_process_that_stopped_is_taken_over_once_stale(
    app_store: LocalStore, slack: SlackApi
) -> None:
    event = ask(app_store, "crashed")
    fresh, stale = (
        post(app_store, event, "slack-app://#a"),
        post(app_store, event, "slack-app://#b"),
    )
    folder = f"chat/{event.request_id[:8]}/{event.request_id}/"
    # Claimed by processes that stopped before updating (as `claim_final` writes them).
    long_ago = (event.record.created_at - timedelta(minutes=11)).isoformat()
    app_store.put_if_absent(
        f"{folder}{_messages.slot_of('slack', 'slack-app://#b')}.final",
        json.dumps({"at": long_ago}).encode(),
    )
    assert asyncio.run(
        _messages.claim_final(
            app_store, event.request_id, _messages.slot_of("slack", "slack-app://#a")
        )
    )
    hitlkit.Client(store=app_store).answer(event.request_id, 1)

    assert asyncio.run(_updates.drive_once(app_store)) == 1
    assert asyncio.run(_updates.drive_once(app_store)) == 0  # taken over once only

    assert updates(slack, fresh) == []
    assert len(updates(slack, stale)) == 1
    (left,) = open_entries(app_store)  # the fresh claim's maker may still close it
    assert left.slot == _messages.slot_of("slack", "slack-app://#a")
