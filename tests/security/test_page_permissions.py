"""The pages offer each person only what the app then allows them: answering an event
assigned to others, approving from the inbox, cancelling (never through a link)."""

from __future__ import annotations

import httpx

from tests.forms import followed, form_fields
from tests.security.conftest import App
from tests.security.test_sign_in import sign_in


def quick_forms(inbox: str) -> int:
    return inbox.count('<form class="quick"')


def test_the_inbox_offers_approve_only_on_events_the_signed_in_person_may_answer(
    secured: App,
) -> None:
    mine = secured.ask("ana's", bool, assignees=["ana"])
    anyone = secured.ask("anyone's", bool)
    with secured.client() as browser:
        sign_in(browser, secured.tokens["bo"])
        as_bo = browser.get("/").text
    with secured.client() as browser:
        sign_in(browser, secured.tokens["ana"])
        as_ana = browser.get("/").text

    assert quick_forms(as_bo) == 1
    assert 'aria-label="Approve anyone&#39;s"' in as_bo
    assert "Approve ana&#39;s" not in as_bo
    assert "Assigned to ana" in as_bo
    assert quick_forms(as_ana) == 2
    assert "Assigned to" not in as_ana
    assert (mine.outcome(), anyone.outcome()) == (None, None)


def test_without_tokens_the_inbox_offers_every_action_as_before(open_app: App) -> None:
    open_app.ask("ana's", bool, assignees=["ana"])
    with open_app.client() as browser:
        inbox = browser.get("/").text

    assert quick_forms(inbox) == 1  # anyone may claim a name here: the app checks it
    assert "Assigned to" not in inbox


def test_the_event_page_offers_the_form_and_cancel_only_to_an_assignee(secured: App) -> None:
    event = secured.ask("deploy", bool, assignees=["ana"])
    with secured.client() as browser:
        sign_in(browser, secured.tokens["bo"])
        as_bo = browser.get(f"/form/{event.request_id}").text
        csrf = form_fields(browser, "/")["csrf"]  # the inbox's form token, same sign-in
        tried = browser.post("/cancel", data={"request_id": event.request_id, "csrf": csrf})
    with secured.client() as browser:
        sign_in(browser, secured.tokens["ana"])
        as_ana = browser.get(f"/form/{event.request_id}").text

    assert 'action="/submit"' not in as_bo
    assert 'action="/cancel"' not in as_bo
    assert "Only ana may answer this event; you are bo." in as_bo
    assert tried.status_code == 403  # and the app refuses it all the same
    assert "assigned to other people, so it was not cancelled" in tried.text
    assert 'action="/submit"' in as_ana
    assert 'action="/cancel"' in as_ana
    assert "<dt>Who may answer</dt><dd>ana</dd>" in as_ana
    assert event.outcome() is None


def test_a_signed_in_assignee_cancels_as_the_token(secured: App) -> None:
    event = secured.ask("deploy", bool, assignees=["ana"])
    with secured.client() as browser:
        sign_in(browser, secured.tokens["ana"])
        fields = form_fields(browser, f"/form/{event.request_id}")
        page = followed(
            browser, browser.post("/cancel", data={**fields, "reason": "no", "by": "mallory"})
        )

    assert "<h1>Cancelled</h1>" in page.text
    assert 'name="by"' not in page.text
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.status, outcome.by, outcome.reason) == ("cancelled", "ana", "no")


def test_an_answer_link_answers_but_never_cancels(secured: App) -> None:
    event = secured.ask("deploy", bool, assignees=["ana"])
    link = secured.link(event.request_id, "ana")
    with secured.client() as browser:
        page = browser.get(secured.link_url(event.request_id, link))
        fields = form_fields(browser, f"/form/{event.request_id}")
        cancel = browser.post("/cancel", data={**fields, "reason": "no"})
        answer = browser.post("/submit", data={**fields, "value": "true"})

    assert 'action="/submit"' in page.text
    assert 'action="/cancel"' not in page.text
    assert cancel.status_code == 403
    assert answer.status_code == 303
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.status, outcome.by) == ("answered", "ana")


def test_cancel_pages_refuse_without_a_sign_in(secured: App) -> None:
    event = secured.ask("deploy", bool)
    with httpx.Client(base_url=secured.url, trust_env=False) as stranger:
        refused = stranger.post("/cancel", data={"request_id": event.request_id})

    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("text/html")
    assert event.outcome() is None
