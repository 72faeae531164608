"""The pages people use: the inbox, the form for each type, and what a post shows."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

import hitlkit
from hitlkit import LocalStore
from tests.forms import followed, form_fields

HTML = {"accept": "text/html"}


def ask(store: LocalStore, name: str, data_type: type[Any], **options: Any) -> hitlkit.Event[Any]:
    options.setdefault("run_id", "run-1")
    return hitlkit.new_event(name, data_type, store=store, serve=False, **options)


def test_inbox_lists_pending_events_newest_first_with_links(
    client: httpx.Client, app_store: LocalStore
) -> None:
    first = ask(app_store, "first question", int, prompt="How many replicas?")
    second = ask(app_store, "second question", bool, run_id="nightly-42")
    done = ask(app_store, "done question", str)
    done.answer("ok")

    page = client.get("/")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.index("second question") < page.text.index("first question")
    assert f'href="/form/{first.request_id}"' in page.text
    assert f'href="/form/{second.request_id}"' in page.text
    assert "How many replicas?" in page.text
    assert "nightly-42" in page.text
    assert "an integer" in page.text
    assert "done question" not in page.text


def test_inbox_shows_resolved_events_on_request(
    client: httpx.Client, app_store: LocalStore
) -> None:
    ask(app_store, "open question", int)
    ask(app_store, "done question", str).answer("ok")

    page = client.get("/", params={"status": "resolved"})

    assert "done question" in page.text
    assert "Answered" in page.text
    assert "open question" not in page.text


def test_inbox_has_an_empty_state(client: httpx.Client) -> None:
    page = client.get("/")

    assert page.status_code == 200
    assert "Nothing is waiting for an answer" in page.text


@pytest.mark.parametrize(
    ("data_type", "expected_input"),
    [
        (int, 'type="number" step="1" inputmode="numeric"'),
        (float, 'type="number" step="any" inputmode="decimal"'),
        (str, "<textarea"),
        (bool, 'name="value" value="true"'),
    ],
)
def test_form_fits_its_input_to_the_type(
    client: httpx.Client, app_store: LocalStore, data_type: type[Any], expected_input: str
) -> None:
    event = ask(app_store, "question", data_type, prompt="Line one\n  indented line two")

    page = client.get(f"/form/{event.request_id}")

    assert page.status_code == 200
    assert expected_input in page.text
    assert "Line one\n  indented line two" in page.text
    assert "run-1" in page.text
    assert f'name="request_id" value="{event.request_id}"' in page.text
    assert 'action="/submit"' in page.text
    assert '<label for="value">' in page.text or "<legend>" in page.text


def test_text_form_allows_an_empty_answer(client: httpx.Client, app_store: LocalStore) -> None:
    event = ask(app_store, "note", str)

    form = client.get(f"/form/{event.request_id}")
    posted = client.post("/submit", data={**form_fields(client, form.url.path), "value": ""})

    assert "<textarea" in form.text
    assert "required" not in form.text.split("<textarea", 1)[1].split(">", 1)[0]
    assert followed(client, posted).status_code == 200
    assert event.wait() == ""


def test_yes_no_form_has_two_buttons(client: httpx.Client, app_store: LocalStore) -> None:
    event = ask(app_store, "deploy", bool, prompt="Deploy now?")

    form = client.get(f"/form/{event.request_id}")
    posted = client.post("/submit", data={**form_fields(client, form.url.path), "value": "false"})

    assert ">Yes</button>" in form.text
    assert ">No</button>" in form.text
    assert "Recorded: no" in followed(client, posted).text
    assert event.wait() is False


def test_form_flow_invalid_then_valid_then_repeated(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "replicas", int, prompt="How many?")
    form = {**form_fields(client, f"/form/{event.request_id}"), "value": "1.5", "by": "ana"}

    invalid = client.post("/submit", data=form)
    valid = followed(client, client.post("/submit", data={**form, "value": " 3 "}))
    repeated = followed(client, client.post("/submit", data={**form, "value": "4", "by": "bo"}))

    assert invalid.status_code == 422
    assert "expected an integer" in invalid.text
    assert 'value="1.5"' in invalid.text
    assert 'value="ana"' in invalid.text
    assert 'aria-invalid="true"' in invalid.text
    assert valid.status_code == 200
    assert "Recorded: 3" in valid.text
    assert "ana" in valid.text
    assert repeated.status_code == 200
    assert "Already answered" in repeated.text
    assert "Recorded" not in repeated.text
    assert ">3<" in repeated.text
    assert "4 <span" in repeated.text  # the answer that was not recorded
    assert event.wait() == 3
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.by, outcome.via) == ("ana", "form")


def test_form_keeps_line_breaks_as_typed(client: httpx.Client, app_store: LocalStore) -> None:
    event = ask(app_store, "note", str)

    fields = form_fields(client, f"/form/{event.request_id}")
    client.post("/submit", data={**fields, "value": "one\r\ntwo"})

    assert event.wait() == "one\ntwo"


def test_form_post_without_a_value_shows_the_form_again(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "deploy", bool)

    page = client.post("/submit", data=form_fields(client, f"/form/{event.request_id}"))

    assert page.status_code == 422
    assert "got no answer" in page.text
    assert event.outcome() is None


def test_answered_form_shows_the_outcome_instead(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "ratio", float)
    event.answer(0.25)

    page = client.get(f"/form/{event.request_id}")

    assert page.status_code == 200
    assert "<form" not in page.text
    assert "Answered" in page.text
    assert "0.25" in page.text
    assert "tester" in page.text
    assert "python" in page.text


def test_expired_and_cancelled_forms_explain_why_they_are_closed(
    client: httpx.Client, app_store: LocalStore
) -> None:
    expired = ask(app_store, "late", int, timeout_seconds=0.2, default=7)
    cancelled = ask(app_store, "off", int)
    csrf = form_fields(client, f"/form/{cancelled.request_id}")["csrf"]
    cancelled.cancel()
    time.sleep(0.3)

    expired_page = client.get(f"/form/{expired.request_id}")
    late_post = followed(
        client,
        client.post("/submit", data={"request_id": expired.request_id, "value": "1", "csrf": csrf}),
    )
    cancelled_page = client.get(f"/form/{cancelled.request_id}")

    assert "<form" not in expired_page.text
    assert "deadline passed" in expired_page.text
    assert "default, 7" in expired_page.text
    assert late_post.status_code == 200
    assert "Default used" in late_post.text
    assert "not recorded" in late_post.text
    assert "<form" not in cancelled_page.text
    assert "Cancelled" in cancelled_page.text


def test_unknown_event_page_is_404_html(client: httpx.Client) -> None:
    page = client.get(f"/form/{'0' * 24}")
    posted = client.post("/submit", data={"request_id": "0" * 24, "value": "1"})
    unknown_route = client.get("/no/such/page", headers=HTML)

    for response in (page, posted, unknown_route):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
    assert "Event not found" in page.text
    assert "Page not found" in unknown_route.text


def test_stylesheet_is_served(client: httpx.Client) -> None:
    response = client.get("/static/hitlkit.css")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert ".card" in response.text
