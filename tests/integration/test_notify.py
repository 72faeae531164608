"""Notifications through Apprise, to real receivers on 127.0.0.1: a webhook and an SMTP server.

The links they carry answer the event through a real app with `HITL_SECRET` set.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

import hitlkit
from hitlkit import ConfigurationError, LocalStore
from hitlkit._links import verify_answer_link
from tests.forms import followed, form_fields
from tests.integration.conftest import LINK_SECRET
from tests.receivers import HookServer, MailServer, links_in, text_of, wait_until


def ask(store: LocalStore, endpoint: str, name: str = "deploy", **options: Any) -> Any:
    options.setdefault("run_id", "run-7")
    return hitlkit.new_event(
        name,
        int,
        prompt="How many replicas?",
        store=store,
        endpoint=endpoint,
        serve=False,
        **options,
    )


def notices_of(event: Any) -> list[hitlkit.AuditEntry]:
    return [
        e
        for e in hitlkit.Client(store=event.store).audit(event.request_id)
        if e.action == "notified"
    ]


def test_a_webhook_gets_the_prompt_and_a_signed_link_that_answers_as_the_assignee(
    hook: HookServer, app_store: LocalStore, linking_app: str
) -> None:
    event = ask(app_store, linking_app, notify=[hook.url], assignees=["ana"])

    [post] = hook.wait_for(1)
    message = post["message"]
    assert post["title"] == "hitlkit: deploy is waiting for an answer"
    assert "How many replicas?" in message
    assert event.deadline.strftime("%Y-%m-%d %H:%M:%S UTC") in message
    assert "run-7" in message
    [link] = links_in(message)
    assert link.startswith(f"{linking_app}/form/{event.request_id}?token=")

    with httpx.Client(base_url=linking_app, timeout=10, trust_env=False) as browser:
        fields = form_fields(browser, link)
        posted = followed(browser, browser.post("/submit", data={**fields, "value": "4"}))
    assert posted.status_code == 200, posted.text
    assert "Recorded: 4" in posted.text
    assert event.wait() == 4
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.by, outcome.via) == ("ana", "form")
    wait_until(lambda: bool(notices_of(event)), "the audit entry of the notification")
    [entry] = notices_of(event)
    assert entry.via == "json"
    assert entry.detail == f"opened ok: {hook.url.removesuffix('/hook')}/…"


def test_an_email_carries_a_link_that_answers_through_the_api(
    mail: MailServer, app_store: LocalStore, linking_app: str
) -> None:
    event = ask(app_store, linking_app, notify=[mail.url("ana@example.com")])

    [message] = mail.wait_for(1)
    assert message["Subject"] == "hitlkit: deploy is waiting for an answer"
    assert mail.recipients == [["ana@example.com"]]
    text = text_of(message)
    assert "How many replicas?" in text
    assert event.deadline.strftime("%Y-%m-%d %H:%M:%S UTC") in text
    assert "run-7" in text
    link = links_in(text)[0]
    token = parse_qs(urlsplit(link).query)["token"][0]

    answered = httpx.post(
        f"{linking_app}/api/events/{event.request_id}/answer",
        json={"value": 6},
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
    )
    assert answered.status_code == 200, answered.text
    assert event.wait() == 6


def test_without_a_secret_the_message_links_to_the_form(
    hook: HookServer, app_store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HITL_SECRET", raising=False)
    event = ask(app_store, "http://127.0.0.1:9", notify=[hook.url])

    [post] = hook.wait_for(1)
    assert links_in(post["message"]) == [event.form_url]


def test_a_receiver_failing_twice_gets_the_message_on_the_third_attempt(
    app_store: LocalStore, linking_app: str, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = HookServer(statuses=[500, 500])
    try:
        with caplog.at_level(logging.WARNING, logger="hitlkit.notify"):
            event = ask(app_store, linking_app, notify=[flaky.url])
            [post] = flaky.wait_for(1)
        assert flaky.arrived == 3
        assert post["title"] == "hitlkit: deploy is waiting for an answer"
        label = flaky.url.removesuffix("/hook")
        failures = [r.getMessage() for r in caplog.records if label in r.getMessage()]
        assert len(failures) == 2
        assert "failed (attempt 1 of" in failures[0]
        wait_until(lambda: bool(notices_of(event)), "the audit entry of the notification")
        assert [e.detail for e in notices_of(event)] == [f"opened ok: {label}/…"]
    finally:
        flaky.close()


def test_a_receiver_that_never_answers_blocks_neither_new_event_nor_wait(
    app_store: LocalStore, linking_app: str
) -> None:
    stuck = HookServer(hold=True)
    try:
        event = ask(app_store, linking_app, notify=[stuck.url])
        wait_until(lambda: stuck.arrived >= 1, "the notification to reach the receiver")
        event.answer(2)
        assert event.wait() == 2
        assert stuck.posts == []  # still held: nothing was answered while wait() returned
    finally:
        stuck.close()


def test_an_unreachable_receiver_is_logged_and_does_not_block_wait(
    app_store: LocalStore, linking_app: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="hitlkit.notify"):
        event = ask(app_store, linking_app, notify=["json://127.0.0.1:9/hook"])
        event.answer(1)
        assert event.wait() == 1
        wait_until(
            lambda: any("json://127.0.0.1:9/…" in r.getMessage() for r in caplog.records),
            "the failed attempt in the log",
        )


def test_finding_the_event_again_sends_nothing(
    hook: HookServer, app_store: LocalStore, linking_app: str
) -> None:
    first = ask(app_store, linking_app, notify=[hook.url])
    hook.wait_for(1)
    again = ask(app_store, linking_app, notify=[hook.url])
    assert again.request_id == first.request_id
    other = ask(app_store, linking_app, "other", notify=[hook.url])  # sent after the re-attach

    posts = hook.wait_for(2)
    assert [p["title"] for p in posts].count("hitlkit: deploy is waiting for an answer") == 1
    assert other.request_id in posts[1]["message"]
    wait_until(lambda: bool(notices_of(other)), "the second event's audit entry")
    assert len(notices_of(first)) == 1


def test_the_reminder_is_sent_once_by_several_waiters(
    hook: HookServer, app_store: LocalStore, linking_app: str
) -> None:
    waiters = [
        ask(app_store, linking_app, notify=[hook.url], timeout_seconds=4, remind_before=3)
        for _ in range(3)
    ]
    results: list[int] = []
    threads = [threading.Thread(target=lambda e=e: results.append(e.wait())) for e in waiters]
    for thread in threads:
        thread.start()

    opened, reminder = hook.wait_for(2)
    waiters[0].answer(9)
    for thread in threads:
        thread.join(30)
    ask(app_store, linking_app, "barrier", notify=[hook.url])
    posts = hook.wait_for(3)

    assert results == [9, 9, 9]
    assert opened["title"] == "hitlkit: deploy is waiting for an answer"
    assert reminder["title"].startswith("hitlkit: deploy still waits for an answer (")
    assert reminder["title"].endswith(" s left)")
    assert links_in(reminder["message"]) == links_in(opened["message"])
    assert [p["title"] for p in posts].count(reminder["title"]) == 1


def test_bad_urls_are_refused_with_their_credentials_hidden(
    app_store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError) as unknown:
        ask(app_store, "http://127.0.0.1:9", notify=["nosuch://xoxb-verysecrettoken@team"])
    with pytest.raises(ConfigurationError) as malformed:
        ask(app_store, "http://127.0.0.1:9", notify=["json://ana:hunter2hunter2@bad host/x"])
    monkeypatch.setenv("HITL_NOTIFY", "slack://")
    with pytest.raises(ConfigurationError) as configured:
        ask(app_store, "http://127.0.0.1:9")

    assert "'nosuch://xo…@team'" in str(unknown.value)
    assert "no service 'nosuch://'" in str(unknown.value)
    assert "verysecrettoken" not in str(unknown.value)
    assert "hunter2" not in str(malformed.value)
    assert "json://ana:****@" in str(malformed.value)
    assert "slack://" in str(configured.value)
    assert hitlkit.list_events(store=app_store) == []  # refused before anything was created


def test_hitl_notify_is_the_default_and_notify_empty_turns_it_off(
    hook: HookServer, mail: MailServer, app_store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_NOTIFY", f"{hook.url}, {mail.url('bo@example.com,cy@example.com')}")
    ask(app_store, "http://127.0.0.1:9", "quiet", notify=[])
    ask(app_store, "http://127.0.0.1:9", "loud")

    [post] = hook.wait_for(1)
    messages = mail.wait_for(2)  # Apprise sends one mail per recipient
    assert post["title"] == "hitlkit: loud is waiting for an answer"
    assert {m["Subject"] for m in messages} == {post["title"]}
    assert sorted(mail.recipients) == [["bo@example.com"], ["cy@example.com"]]


def test_options_that_do_not_fit_are_refused(hook: HookServer, app_store: LocalStore) -> None:
    with pytest.raises(ValueError, match="less than timeout_seconds"):
        ask(
            app_store, "http://127.0.0.1:9", notify=[hook.url], timeout_seconds=60, remind_before=60
        )
    with pytest.raises(ValueError, match="pass notify= or set HITL_NOTIFY"):
        ask(app_store, "http://127.0.0.1:9", remind_before=30)
    with pytest.raises(TypeError, match="list of Apprise URLs"):
        ask(app_store, "http://127.0.0.1:9", notify=hook.url)


def _run(script: str, tmp_path: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HITL_STORE": str(tmp_path / "store"), "HITL_AUTOSTART": "0"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_without_apprise_notify_names_the_extra_to_install(tmp_path: Path) -> None:
    done = _run(
        """
        import sys
        sys.modules["apprise"] = None   # as if it were not installed
        import hitlkit
        hitlkit.new_event("x", int, notify=["json://127.0.0.1:9/"])
        """,
        tmp_path,
    )
    assert done.returncode == 1
    assert 'pip install "hitlkit[notify]"' in done.stderr


def test_an_exiting_process_does_not_hang_on_a_receiver_that_never_answers(
    tmp_path: Path,
) -> None:
    stuck = HookServer(hold=True)
    try:
        done = _run(
            f"""
            import hitlkit
            event = hitlkit.new_event("x", int, notify=["{stuck.url}"])
            print(event.request_id)
            """,
            tmp_path,
        )
        assert stuck.arrived >= 1
    finally:
        stuck.close()
    assert done.returncode == 0, done.stderr
    assert "notification(s) left undelivered at exit" in done.stderr


def test_a_workflow_that_ends_at_once_still_sends_its_message(
    hook: HookServer, tmp_path: Path
) -> None:
    done = _run(
        f"""
        import hitlkit
        event = hitlkit.new_event("x", int, notify=["{hook.url}"])
        event.answer(1)
        print(event.wait())
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    [post] = hook.posts  # delivered while the process was exiting, not lost with it
    assert post["title"] == "hitlkit: x is waiting for an answer"


def test_with_several_assignees_the_link_names_nobody(
    hook: HookServer, app_store: LocalStore, linking_app: str
) -> None:
    ask(app_store, linking_app, notify=[hook.url], assignees=["ana", "bo"])
    [post] = hook.wait_for(1)
    [link] = links_in(post["message"])
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert verify_answer_link(LINK_SECRET, token).identity is None


def test_a_secret_too_short_to_sign_links_fails_new_event(
    app_store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_SECRET", "short")
    with pytest.raises(ConfigurationError, match="HITL_SECRET must be at least"):
        ask(app_store, "http://127.0.0.1:9", notify=["json://127.0.0.1:9/hook"])
    assert app_store.list("events/") == []


@pytest.mark.parametrize("prompt_type", ["text", "markdown"])
def test_markup_in_a_prompt_never_reaches_an_email_as_markup(
    mail: MailServer, app_store: LocalStore, prompt_type: str
) -> None:
    prompt = "Ship **v2**? <img src=x onerror=alert(1)><script>alert(2)</script>"
    event = hitlkit.new_event(
        "deploy", bool, prompt=prompt, prompt_type=prompt_type,  # type: ignore[arg-type]
        store=app_store, endpoint="http://127.0.0.1:9", serve=False, notify=[mail.url("ana@x.org")],
    )  # fmt: skip
    [message] = mail.wait_for(1)
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    html = str(part.get_content())
    assert "<script" not in html
    assert "<img" not in html
    assert f'<a href="{event.form_url}">' in html
    if prompt_type == "markdown":
        assert "<strong>v2</strong>" in html
    else:
        assert "&lt;script&gt;" in html


def test_a_bad_endpoint_fails_before_the_event_is_created(
    hook: HookServer, app_store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_ENDPOINT", "ftp://nowhere")
    with pytest.raises(ConfigurationError, match="HITL_ENDPOINT"):
        hitlkit.new_event("late", int, store=app_store, serve=False, notify=[hook.url])
    monkeypatch.delenv("HITL_ENDPOINT")
    event = hitlkit.new_event("late", int, store=app_store, serve=False, notify=[hook.url])
    [post] = hook.wait_for(1)  # the retry created it, so the retry told them
    assert event.request_id in post["message"]


def test_an_escalation_step_and_the_deadline_tell_their_urls_once_each(
    app_store: LocalStore, linking_app: str
) -> None:
    opened, step, deadline = HookServer(), HookServer(), HookServer()
    try:
        policy = hitlkit.Policy(
            escalation=[
                hitlkit.Step(["ana"], 0.5),
                hitlkit.Step(["oncall"], notify=[step.url]),
            ],
            on_timeout="escalate",
            escalate_to=[deadline.url],
        )
        event = ask(app_store, linking_app, notify=[opened.url], timeout_seconds=2, policy=policy)
        stored = event.record.policy
        assert stored is not None
        assert stored.escalate_to != (deadline.url,)  # kept redacted, never as given

        with pytest.raises(hitlkit.EventTimeoutError):
            event.wait()

        [escalated] = step.wait_for(1)
        [told] = deadline.wait_for(1)
        assert escalated["title"].startswith("Escalated (step 2): ")
        assert told["title"].startswith("No decision by the deadline: ")
        outcome = event.outcome()
        assert outcome is not None
        assert outcome.action == "escalate"
        assert [s.assignees for s in outcome.steps or ()] == [("oncall",)]
        # A second waiter (a restarted program) tells no one again.
        again = ask(app_store, linking_app, notify=[opened.url], timeout_seconds=2, policy=policy)
        with pytest.raises(hitlkit.EventTimeoutError):
            again.wait()
        ask(app_store, linking_app, "barrier", notify=[step.url, deadline.url])
        assert len(step.wait_for(2)) == 2  # the step's message and the barrier's
        assert len(deadline.wait_for(2)) == 2
    finally:
        for server in (opened, step, deadline):
            server.close()
