"""Notifications carry signed answer links when a secret is configured."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from hitlkit import ConfigurationError
from hitlkit._delivery import drain
from hitlkit._links import verify_answer_link
from tests.forms import form_fields
from tests.receivers import webhook
from tests.security.conftest import SECRET, App

SIGNED = re.compile(r"http://127\.0\.0\.1:[0-9]+/form/([0-9a-f]{24})\?token=(\S+)")


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HITL_SECRET", SECRET)
    yield
    drain(60)


def test_the_link_answers_as_the_one_assignee_until_the_deadline(secured: App) -> None:
    with webhook() as hook:
        event = secured.ask("approve", bool, prompt="Ship?", endpoint=secured.url,
                            assignees=["ana"], notify=[hook.url])  # fmt: skip
        [post] = hook.wait_for(event.request_id)
    match = SIGNED.search(post["message"])
    assert match is not None
    assert match[1] == event.request_id
    link = verify_answer_link(SECRET, match[2], request_id=event.request_id)
    assert link.identity == "ana"
    assert int(link.expires_at.timestamp()) == int(event.deadline.timestamp())

    with secured.client() as browser:  # no API token: the link is the only credential
        fields = form_fields(browser, match[0])
        posted = browser.post("/submit", data={**fields, "value": "yes"})
    assert posted.status_code == 200, posted.text
    assert event.wait() is True
    outcome = event.outcome()
    assert outcome is not None
    assert outcome.by == "ana"


def test_with_several_assignees_the_link_names_nobody(secured: App) -> None:
    with webhook() as hook:
        event = secured.ask("pick", endpoint=secured.url, assignees=["ana", "bo"],
                            notify=[hook.url])  # fmt: skip
        [post] = hook.wait_for(event.request_id)
    match = SIGNED.search(post["message"])
    assert match is not None
    assert verify_answer_link(SECRET, match[2]).identity is None


def test_a_secret_too_short_to_sign_fails_new_event(
    secured: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_SECRET", "short")
    with pytest.raises(ConfigurationError, match="HITL_SECRET must be at least"):
        secured.ask("never", notify=["json://127.0.0.1:9/hook"])
    assert secured.store.list("events/") == []
