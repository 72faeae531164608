"""Notifications through Apprise to real receivers on 127.0.0.1: a webhook and a mail server."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import hitlkit
from hitlkit import ConfigurationError, LocalStore
from hitlkit._delivery import drain, pending
from hitlkit._records import reminder_key
from tests.forms import form_fields
from tests.receivers import eventually, mailbox, text_of, void, webhook

LINK = re.compile(r"https?://127\.0\.0\.1:[0-9]+/form/([0-9a-f]{24})")


@pytest.fixture(autouse=True)
def _deliveries_finish() -> Iterator[None]:
    yield
    drain(60)


def ask(store: LocalStore, endpoint: str, name: str, **options: Any) -> hitlkit.Event[Any]:
    options.setdefault("run_id", "run-notify")
    options.setdefault("data_type", int)
    return hitlkit.new_event(name, store=store, endpoint=endpoint, serve=False, **options)


def answer_through_link(http: httpx.Client, link: str, value: str) -> None:
    """Open the link as a person would, then post the form it shows."""
    match = LINK.match(link)
    assert match is not None
    fields = form_fields(http, link)
    assert fields["request_id"] == match[1]
    posted = http.post("/submit", data={**fields, "value": value})
    assert posted.status_code == 200, posted.text


def test_a_webhook_is_told_when_an_event_opens_and_its_link_answers_it(
    app_store: LocalStore, app_url: str, client: httpx.Client
) -> None:
    with webhook() as hook:
        event = ask(app_store, app_url, "add_to_x", prompt="What should I add to x?",
                    notify=[hook.url])  # fmt: skip
        [post] = hook.wait_for(event.request_id)
        assert post["title"] == "hitlkit: add_to_x is waiting for an answer"
        message = post["message"]
        assert "What should I add to x?" in message
        assert f"Answer: {event.form_url}" in message
        assert event.deadline.strftime("%Y-%m-%d %H:%M:%S UTC") in message
        assert "run-notify" in message
        assert event.request_id in message
        [link] = [m[0] for m in LINK.finditer(message)]
        answer_through_link(client, link, "5")
        assert event.wait() == 5


def test_mail_carries_the_prompt_and_a_link_that_answers(
    app_store: LocalStore, app_url: str, client: httpx.Client
) -> None:
    with mailbox() as box:
        event = ask(app_store, app_url, "approve", data_type=bool,
                    prompt="Ship **v2**? <script>alert(1)</script>",
                    prompt_type="markdown", notify=[box.url()])  # fmt: skip
        mail = box.wait_for(event.request_id)
        assert mail["Subject"] == "hitlkit: approve is waiting for an answer"
        assert mail["To"] == "ana@example.com"
        html, text = text_of(mail, "html"), text_of(mail, "plain")
        assert "<strong>v2</strong>" in html
        assert "<script>" not in html
        assert f'<a href="{event.form_url}">' in html
        assert event.deadline.strftime("%Y-%m-%d %H:%M:%S UTC") in html
        assert event.form_url in text
        assert "run-notify" in text
        link = LINK.search(text)
        assert link is not None
        answer_through_link(client, link[0], "yes")
        assert event.wait() is True


def test_finding_an_event_again_does_not_tell_anyone_again(
    app_store: LocalStore, app_url: str
) -> None:
    with webhook() as hook:
        first = ask(app_store, app_url, "once", notify=[hook.url])
        hook.wait_for(first.request_id)
        again = ask(app_store, app_url, "once", notify=[hook.url])  # a restarted workflow
        assert again.request_id == first.request_id
        assert drain(60)
        assert len(hook.about(first.request_id)) == 1


def test_a_receiver_failing_twice_gets_the_message_on_the_third_try(
    app_store: LocalStore, app_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hitlkit.notify")
    with webhook(fail_first=2) as hook:
        event = ask(app_store, app_url, "flaky", notify=[hook.url])
        [post] = hook.wait_for(event.request_id)
        assert event.form_url in post["message"]
        assert hook.tries == 3
    retries = [r for r in caplog.records if "trying again" in r.getMessage()]
    assert [r.levelno for r in retries] == [logging.WARNING, logging.WARNING]
    assert "try 1 of 5" in retries[0].getMessage()
    assert any("sent the message about 'flaky'" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_a_receiver_that_never_answers_holds_up_nothing(
    app_store: LocalStore, app_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with void() as port:
        url = f"json://hitl:s3cr3t-pw@127.0.0.1:{port}/hook?rto=30"
        event = ask(app_store, app_url, "nobody_listens", notify=[url])
        event.answer(7)
        assert event.wait() == 7
        assert pending() >= 1  # the message is still on its way, and nobody waited for it
    assert drain(60)
    failures = [r.getMessage() for r in caplog.records if r.name == "hitlkit.notify"]
    assert any("could not send the message about 'nobody_listens'" in m for m in failures)
    assert any("gave up sending the message about 'nobody_listens'" in m for m in failures)
    assert all("s3cr3t-pw" not in m for m in failures)


def test_the_reminder_goes_out_once_however_many_wait(app_store: LocalStore, app_url: str) -> None:
    with webhook() as hook:
        event = ask(app_store, app_url, "remind_me", timeout_seconds=60, remind_before=58.5,
                    notify=[hook.url])  # fmt: skip
        again = ask(app_store, app_url, "remind_me", timeout_seconds=60, remind_before=58.5,
                    notify=[hook.url])  # fmt: skip
        threads = [threading.Thread(target=e.wait, daemon=True) for e in (event, again)]
        for thread in threads:
            thread.start()
        posts = hook.wait_for(event.request_id, count=2)
        assert eventually(lambda: app_store.get(reminder_key(event.request_id)), what="the marker")
        event.answer(1)
        for thread in threads:
            thread.join(30)
        assert drain(60)
        posts = hook.about(event.request_id)
        titles = [post["title"] for post in posts]
        assert titles == [
            "hitlkit: remind_me is waiting for an answer",
            "hitlkit: remind_me is still waiting for an answer",
        ]
        assert posts[1]["message"].startswith("Reminder: the deadline is in ")
        assert event.form_url in posts[1]["message"]


def test_no_reminder_for_an_event_answered_before_it_is_due(
    app_store: LocalStore, app_url: str
) -> None:
    with webhook() as hook:
        event = ask(app_store, app_url, "answered_early", timeout_seconds=60, remind_before=59,
                    notify=[hook.url])  # fmt: skip
        event.answer(2)
        assert event.wait() == 2
        assert drain(60)
        assert [p["title"] for p in hook.about(event.request_id)] == [
            "hitlkit: answered_early is waiting for an answer"
        ]
        assert app_store.get(reminder_key(event.request_id)) is None


def test_hitl_remind_before_is_the_default_when_shorter_than_the_timeout(
    app_store: LocalStore, app_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_REMIND_BEFORE", "59")
    with webhook() as hook:
        event = ask(app_store, app_url, "configured_reminder", timeout_seconds=60,
                    notify=[hook.url])  # fmt: skip
        waiter = threading.Thread(target=event.wait, daemon=True)
        waiter.start()
        posts = hook.wait_for(event.request_id, count=2)
        assert posts[1]["title"] == "hitlkit: configured_reminder is still waiting for an answer"
        event.answer(1)
        waiter.join(30)
        short = ask(app_store, app_url, "too_short_to_remind", timeout_seconds=30,
                    notify=[hook.url])  # fmt: skip
        short.answer(1)
        short.wait()
        assert drain(60)
        assert len(hook.about(short.request_id)) == 1


def test_hitl_notify_is_the_default_and_an_empty_list_opts_out(
    app_store: LocalStore, app_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with webhook() as hook, webhook() as other:
        monkeypatch.setenv("HITL_NOTIFY", f"{hook.url}, {other.url}")
        told = ask(app_store, app_url, "configured")
        hook.wait_for(told.request_id)
        other.wait_for(told.request_id)
        quiet = ask(app_store, app_url, "quiet", notify=[])
        assert drain(60)
        assert hook.about(quiet.request_id) == []
        assert other.about(quiet.request_id) == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("slak://xoxb-secret-token", "'slak://…'"),
        ("mailto://ana:hunter2@127.0.0.1:25?from=", "'mailto://…@127.0.0.1:25?…'"),
        ("hooks.slack.com/services/T0/B0/secret", "'hooks.slack.com/…'"),
    ],
)
def test_a_bad_url_is_refused_by_name_without_its_secrets(
    app_store: LocalStore, app_url: str, url: str, shown: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ask(app_store, app_url, "never", notify=["json://127.0.0.1:9/ok", url])
    message = str(caught.value)
    assert shown in message
    assert "URL 2 of 2" in message
    assert "secret" not in message
    assert "hunter2" not in message
    assert app_store.list("events/") == []  # nothing was created


def test_a_bad_url_in_hitl_notify_is_refused_too(
    app_store: LocalStore, app_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_NOTIFY", "nope://token")
    with pytest.raises(ConfigurationError, match=r"'nope://…' \(HITL_NOTIFY\)"):
        ask(app_store, app_url, "never")


@pytest.mark.parametrize("remind_before", [0, -5, float("nan"), 3600, True])
def test_remind_before_must_be_a_positive_time_before_the_deadline(
    app_store: LocalStore, app_url: str, remind_before: float
) -> None:
    with pytest.raises(ValueError, match="remind_before must be"):
        ask(app_store, app_url, "never", notify=[], remind_before=remind_before)
