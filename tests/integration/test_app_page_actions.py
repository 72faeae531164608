"""What a page's post leads to: a redirect to the event's page (post/redirect/get), and the
cancel button with its reason, over real HTTP."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

import hitlkit
from hitlkit import LocalStore
from hitlkit._options import MAX_REASON_LENGTH
from tests.forms import followed, form_fields


def ask(store: LocalStore, name: str, data_type: type[Any], **options: Any) -> hitlkit.Event[Any]:
    options.setdefault("run_id", "run-1")
    return hitlkit.new_event(name, data_type, store=store, serve=False, **options)


def test_an_answer_redirects_to_a_page_that_a_reload_shows_again_without_posting(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "replicas", int, prompt="How many?")
    fields = form_fields(client, f"/form/{event.request_id}")

    posted = client.post("/submit", data={**fields, "value": "5", "by": "ana"})
    shown = followed(client, posted)
    reloaded = client.get(posted.headers["location"])
    later = client.get(f"/form/{event.request_id}")

    assert posted.status_code == 303
    assert posted.headers["location"] == f"/form/{event.request_id}?done"
    assert posted.text == ""
    for page in (shown, reloaded):
        assert page.status_code == 200
        assert "<h1>Recorded: 5</h1>" in page.text
        assert "Thank you" in page.text
        assert "<dd>ana</dd>" in page.text
        assert 'action="/submit"' not in page.text
    assert "<h1>Answered</h1>" in later.text  # the event's own address: the outcome alone
    assert "<dd>ana</dd>" in later.text
    assert event.wait() == 5
    audit = client.get(f"/api/events/{event.request_id}/audit").json()["entries"]
    assert [entry["action"] for entry in audit] == ["answered"]  # the reloads posted nothing


def test_a_second_answer_is_redirected_to_the_first_with_what_was_not_recorded(
    client: httpx.Client, app_url: str, app_store: LocalStore
) -> None:
    event = ask(app_store, "replicas", int)
    with httpx.Client(base_url=app_url, trust_env=False) as other:
        late_fields = form_fields(other, f"/form/{event.request_id}")
        first = client.post(
            "/submit", data={**form_fields(client, f"/form/{event.request_id}"), "value": "3"}
        )
        late = other.post("/submit", data={**late_fields, "value": "4", "by": "bo"})
        page = followed(other, late)
        reloaded = other.get(late.headers["location"])

    assert first.status_code == late.status_code == 303
    for shown in (page, reloaded):
        assert "<h1>Already answered</h1>" in shown.text
        assert "Yours was not recorded" in shown.text
        assert '<dd class="value">3</dd>' in shown.text  # the first answer, which counts
        assert "<dd>anonymous</dd>" in shown.text  # who gave it
        assert "4 <span" in shown.text  # what this browser tried
    assert event.wait() == 3


def test_a_value_that_does_not_fit_shows_the_form_again_without_a_redirect(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "replicas", int)
    fields = form_fields(client, f"/form/{event.request_id}")

    page = client.post("/submit", data={**fields, "value": "many", "by": "ana"})

    assert page.status_code == 422
    assert "location" not in page.headers
    assert 'value="many"' in page.text
    assert 'value="ana"' in page.text
    assert event.outcome() is None


def test_the_cancel_button_calls_the_event_off_and_the_waiting_program_gets_the_reason(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "deploy", bool, prompt="Deploy?")
    raised: list[BaseException] = []
    waiter = threading.Thread(target=lambda: _wait_into(event, raised))
    waiter.start()
    page = client.get(f"/form/{event.request_id}")
    fields = form_fields(client, f"/form/{event.request_id}")

    posted = client.post("/cancel", data={**fields, "reason": "wrong build\r\nuse 8", "by": "ana"})
    shown = followed(client, posted)
    waiter.join(30)

    assert 'action="/cancel"' in page.text
    assert '<label for="reason">Reason' in page.text
    assert f'maxlength="{MAX_REASON_LENGTH}"' in page.text
    assert posted.status_code == 303
    assert "<h1>Cancelled</h1>" in shown.text
    assert "You called this event off" in shown.text
    assert "wrong build\nuse 8" in shown.text
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.status, outcome.by, outcome.via, outcome.reason) == (
        "cancelled",
        "ana",
        "form",
        "wrong build\nuse 8",
    )
    [error] = raised
    assert isinstance(error, hitlkit.EventCancelledError)
    assert "wrong build" in str(error)


def _wait_into(event: hitlkit.Event[Any], raised: list[BaseException]) -> None:
    try:
        event.wait()
    except BaseException as exc:  # the test looks at what the waiting program got
        raised.append(exc)


def test_a_reason_too_long_shows_the_cancel_form_again_with_it(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "deploy", bool)
    fields = form_fields(client, f"/form/{event.request_id}")
    reason = "x" * (MAX_REASON_LENGTH + 1)

    page = client.post("/cancel", data={**fields, "reason": reason})

    assert page.status_code == 422
    assert f"at most {MAX_REASON_LENGTH} are kept" in page.text
    assert f">{reason}</textarea>" in page.text
    assert '<details class="cancel" open>' in page.text
    assert event.outcome() is None


def test_a_cancel_needs_its_page_form_token(
    client: httpx.Client, app_url: str, app_store: LocalStore
) -> None:
    event = ask(app_store, "deploy", bool)
    with httpx.Client(base_url=app_url, trust_env=False) as stranger:
        no_token = stranger.post("/cancel", data={"request_id": event.request_id, "reason": "r"})
    cross_site = client.post(
        "/cancel",
        data={**form_fields(client, f"/form/{event.request_id}"), "reason": "r"},
        headers={"sec-fetch-site": "cross-site"},
    )

    assert no_token.status_code == 403
    assert "Please submit it again" in no_token.text
    assert cross_site.status_code == 403
    assert cross_site.json()["error"] == "cross_site"
    assert event.outcome() is None


@pytest.mark.parametrize("first", ["answer", "cancel"])
def test_a_cancel_after_the_event_was_resolved_changes_nothing(
    client: httpx.Client, app_store: LocalStore, first: str
) -> None:
    event = ask(app_store, "deploy", bool)
    fields = form_fields(client, f"/form/{event.request_id}")
    if first == "answer":
        event.answer(True)
    else:
        event.cancel("first")

    page = followed(client, client.post("/cancel", data={**fields, "reason": "second"}))

    assert "resolved before your cancel arrived; nothing changed" in page.text
    outcome = event.outcome()
    assert outcome is not None
    assert outcome.reason == (None if first == "answer" else "first")


def test_an_approval_that_does_not_fit_is_shown_again_with_why_and_the_reason_kept(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = hitlkit.ask_approval("deploy", {"service": "api"}, store=app_store, serve=False)
    fields = form_fields(client, f"/form/{event.request_id}")
    too_long = "because " * 300

    posted = client.post(
        "/submit", data={**fields, "value.approved": "false", "value.reason": too_long}
    )

    assert posted.status_code == 422
    assert 'role="alert"' in posted.text
    assert "2000" in posted.text
    assert too_long.strip() in posted.text  # kept, to shorten rather than type again
    assert posted.text.count('id="approval-reason"') == 1
    assert event.outcome() is None
