"""Teams cards posted to a local Workflows-like receiver; their buttons answer through the app."""

from __future__ import annotations

import asyncio
import html
import logging
import re
from typing import Any, Literal

import httpx
import pytest

import hitlkit
from hitlkit import ConfigurationError, LocalStore
from tests.receivers import HookServer, wait_until

_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


def ask(store: LocalStore, endpoint: str, data_type: Any = bool, **options: Any) -> Any:
    options.setdefault("run_id", "run-7")
    options.setdefault("prompt", "Deploy build 42 to prod?")
    return hitlkit.new_event(
        "deploy", data_type, store=store, endpoint=endpoint, serve=False, **options
    )


def card_of(post: dict[str, Any]) -> dict[str, Any]:
    assert post["type"] == "message"
    [attachment] = post["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.5")
    return card


def buttons(card: dict[str, Any]) -> dict[str, str]:
    assert all(a["type"] == "Action.OpenUrl" for a in card["actions"])
    return {a["title"]: a["url"] for a in card["actions"]}


def confirm(url: str) -> httpx.Response:
    """Open a choice link's confirmation page and press its button, as a browser does."""
    with httpx.Client(timeout=10, trust_env=False) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(page.text)}
        return browser.post(url.partition("?")[0], data=fields)


def test_a_card_reaches_the_webhook_and_its_button_answers_after_confirming(
    hook: HookServer, app_store: LocalStore, linking_app: str
) -> None:
    event = ask(app_store, linking_app, notify=[hook.teams_url])

    [post] = hook.wait_for(1)
    card = card_of(post)
    texts = [b.get("text") for b in card["body"] if b["type"] == "TextBlock"]
    assert texts == ["hitlkit: deploy is waiting for an answer", "Deploy build 42 to prod?"]
    [facts] = [b["facts"] for b in card["body"] if b["type"] == "FactSet"]
    assert {f["title"]: f["value"] for f in facts} == {
        "Deadline": event.deadline.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "Run": "run-7",
        "Event": f"deploy \\({event.request_id}\\)",
    }
    shown = buttons(card)
    assert list(shown) == ["Approve", "Reject", "Open the form"]
    assert shown["Reject"].startswith(f"{linking_app}/choose/{event.request_id}?token=")
    assert shown["Open the form"].startswith(f"{linking_app}/form/{event.request_id}?token=")
    assert event.outcome() is None  # posting the card and reading it answered nothing

    done = confirm(shown["Reject"])

    assert done.status_code == 200, done.text
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == (False, "link", "teams")


def test_a_card_for_an_assignee_lets_no_reader_answer_as_them(
    hook: HookServer, app_store: LocalStore, linking_app: str
) -> None:
    """Everyone in the channel reads the card: a link signed for ana would let each of
    them answer as ana. So the card links to the form, where people sign in."""
    event = ask(app_store, linking_app, notify=[hook.teams_url], assignees=["ana"])

    [post] = hook.wait_for(1)

    assert buttons(card_of(post)) == {"Open the form": f"{linking_app}/form/{event.request_id}"}


def test_choices_get_a_button_each_and_other_types_only_the_form(
    hook: HookServer, app_store: LocalStore, linking_app: str
) -> None:
    env = ask(app_store, linking_app, Literal["prod", "staging", "dev"], notify=[hook.teams_url])
    hook.wait_for(1)
    count = hitlkit.new_event(
        "count", int, store=app_store, endpoint=linking_app, serve=False, notify=[hook.teams_url]
    )
    posts = hook.wait_for(2)

    by_event = {
        next(u for u in buttons(card_of(p)).values() if "/form/" in u).split("/form/")[1][:24]: p
        for p in posts
    }
    assert list(buttons(card_of(by_event[env.request_id]))) == [
        "prod",
        "staging",
        "dev",
        "Open the form",
    ]
    assert list(buttons(card_of(by_event[count.request_id]))) == ["Open the form"]

    done = confirm(buttons(card_of(by_event[env.request_id]))["staging"])
    assert done.status_code == 200
    outcome = env.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == ("staging", "link", "teams")


def test_a_hostile_prompt_can_neither_style_itself_nor_add_a_button(
    hook: HookServer, app_store: LocalStore, linking_app: str
) -> None:
    hostile = "**Urgent** [Approve](https://evil.example/x) <b>hi</b>\n- item\n1. one"
    ask(app_store, linking_app, prompt=hostile, notify=[hook.teams_url])

    card = card_of(hook.wait_for(1)[0])

    prompt = card["body"][1]["text"]
    assert prompt == (
        "\\*\\*Urgent\\*\\* \\[Approve\\]\\(https://evil.example/x\\) \\<b\\>hi\\</b\\>\n"
        "\\- item\n1\\. one"
    )
    assert all(url.startswith(linking_app) for url in buttons(card).values())


def test_without_a_secret_the_card_opens_the_form_only(
    hook: HookServer, app_store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HITL_SECRET", raising=False)
    event = ask(app_store, "http://127.0.0.1:9", notify=[hook.teams_url])

    card = card_of(hook.wait_for(1)[0])

    assert buttons(card) == {"Open the form": event.form_url}


def test_several_assignees_get_the_form_only(
    hook: HookServer, app_store: LocalStore, linking_app: str
) -> None:
    ask(app_store, linking_app, notify=[hook.teams_url], assignees=["ana", "bo"])

    card = card_of(hook.wait_for(1)[0])

    assert list(buttons(card)) == ["Open the form"]


def test_a_failing_webhook_is_retried_and_its_url_never_logged(
    app_store: LocalStore, linking_app: str, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = HookServer(statuses=[500])
    try:
        with caplog.at_level(logging.DEBUG):
            ask(app_store, linking_app, notify=[flaky.teams_url])
            flaky.wait_for(1)
        assert flaky.arrived == 2
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "HTTP 500" in logged
        assert "workflows/hook" not in logged
        assert "s3cr3t" not in logged
    finally:
        flaky.close()


def test_a_webhook_that_refuses_the_card_is_not_asked_again(
    app_store: LocalStore, linking_app: str, caplog: pytest.LogCaptureFixture
) -> None:
    refusing = HookServer(statuses=[400])
    try:
        event = ask(app_store, linking_app, notify=[refusing.teams_url])

        def audited() -> bool:
            entries = hitlkit.Client(store=app_store).audit(event.request_id)
            return any(e.action == "notified" for e in entries)

        wait_until(audited, "the audit entry")
        assert refusing.arrived == 1
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "HTTP 400" in logged
        assert "check the teams-app+ URL" in logged
        assert "s3cr3t" not in logged
    finally:
        refusing.close()


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("teams-app+http://example.com/hook", "127.0.0.1 and localhost only"),
        ("teams-app+https://example.com", "no path"),
        ("teams-app+https:///workflows/x", "expected teams-app+https://"),
        ("teams-app+https://example.com:notaport/x", "expected teams-app+https://"),
    ],
)
def test_malformed_targets_are_refused_without_showing_the_url(
    app_store: LocalStore, target: str, why: str
) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(why)) as refused:
        hitlkit.new_event("x", bool, store=app_store, serve=False, notify=[target + "?sig=s3cr3t"])
    assert "s3cr3t" not in str(refused.value)


def test_a_real_looking_target_is_taken(app_store: LocalStore, hook: HookServer) -> None:
    from hitlkit._chat import check_target

    check_target(
        "teams-app+https://prod-00.westeurope.logic.azure.com:443/workflows/abc/triggers/"
        "manual/paths/invoke?api-version=2016-06-01&sig=xyz"
    )
    check_target(hook.teams_url)


def test_a_policy_counting_identities_gets_the_form_only(
    hook: HookServer, app_store: LocalStore, linking_app: str
) -> None:
    from hitlkit._policy import Policy, Quorum

    ask(
        app_store,
        linking_app,
        policy=Policy(quorum=Quorum(2, of=["ana", "bo"])),
        notify=[hook.teams_url],
    )

    card = card_of(hook.wait_for(1)[0])

    assert list(buttons(card)) == ["Open the form"]
    facts = {
        f["title"]: f["value"] for b in card["body"] if b["type"] == "FactSet" for f in b["facts"]
    }
    assert facts["Policy"] == "0 of 2 approved"


def test_a_choice_label_keeps_its_spelling_on_the_button(
    hook: HookServer, app_store: LocalStore, linking_app: str
) -> None:
    ask(app_store, linking_app, Literal["blue_green", "*canary*"], notify=[hook.teams_url])

    card = card_of(hook.wait_for(1)[0])

    assert list(buttons(card)) == ["blue_green", "*canary*", "Open the form"]


def test_a_reminder_posts_a_short_card_with_the_same_buttons(
    app_store: LocalStore, linking_app: str
) -> None:
    from hitlkit._chat._teams import card_for
    from hitlkit._notify import message_for
    from hitlkit._reading import load_event

    event = ask(app_store, linking_app)
    record = asyncio.run(load_event(app_store, event.request_id))

    card = card_for(
        record, message_for(record, linking_app, reminder=True), linking_app, kind="reminder"
    )

    [title] = [b["text"] for b in card["body"] if b["type"] == "TextBlock"]
    assert "still waits for an answer" in title
    assert list(buttons(card)) == ["Approve", "Reject", "Open the form"]
