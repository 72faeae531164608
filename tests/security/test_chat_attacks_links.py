"""Attacks on one-click answers outside Slack: a message that many people read, or that a
recipient who may not answer reads, never carries a link signed for an assignee; and a
mistyped chat target never shows its credentials in the logs.

A link signed for `ana` records an answer as `ana` for whoever opens it
(`tests/security/test_links.py`), so who gets one is the whole of its security.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

import hitlkit
from hitlkit import ConfigurationError, LocalStore
from hitlkit._links import verify_answer_link, verify_choice_link
from hitlkit._notify import _apprise, _html_messages, message_for
from tests.integration.conftest import LINK_SECRET
from tests.integration.conftest import app_store as app_store  # a fixture
from tests.integration.conftest import linking_app as linking_app  # a fixture
from tests.integration.conftest import mail as mail  # a fixture
from tests.integration.test_email_choices import by_recipient, choices_in, token_of
from tests.receivers import MailServer, links_in, text_of

ENDPOINT = "http://127.0.0.1:9"


def ask(store: LocalStore, **options: Any) -> hitlkit.Event[bool]:
    """An approval for `ana` alone, in `store`."""
    return hitlkit.new_event(
        "deploy",
        bool,
        prompt="Ship it?",
        store=store,
        serve=False,
        assignees=["ana"],
        **options,
    )


def test_a_recipient_who_may_not_answer_never_gets_the_assignees_signed_links(
    mail: MailServer, app_store: LocalStore, linking_app: str
) -> None:
    to = "ana@example.org,eve@example.org"
    event = ask(
        app_store,
        endpoint=linking_app,
        notify=[mail.url(to) + "&bcc=mallory@other.example"],
    )

    messages = by_recipient(mail, 3)

    assert sorted(messages) == ["ana@example.org", "eve@example.org", "mallory@other.example"]
    form = f"{linking_app}/form/{event.request_id}"
    for address in ("eve@example.org", "mallory@other.example"):
        links = links_in(text_of(messages[address]))
        assert form in links
        assert [u for u in links if "token=" in u] == [], address
    ana = links_in(text_of(messages["ana@example.org"]))
    [answer] = {u for u in ana if "/form/" in u and "token=" in u}
    assert verify_answer_link(LINK_SECRET, token_of(answer)).identity == "ana"
    choices = [
        verify_choice_link(LINK_SECRET, token_of(u))
        for u in choices_in(text_of(messages["ana@example.org"]))
    ]
    assert {link.identity for link in choices} == {"ana"}
    assert event.outcome() is None


@pytest.mark.parametrize(
    "url",
    [
        "sendgrid://apikey:noreply@example.com/ana@example.com/bo@example.com/eve@other.example",
        "mailgun://noreply@example.com/apikey/ana@example.com/bo@example.com/eve@other.example",
        "sparkpost://noreply@example.com/apikey/ana@example.com/bo@example.com/eve@other.example",
        "resend://apikey:noreply@example.com/ana@example.com/bo@example.com/eve@other.example",
        "tgram://123456789:abcdefg_hijklmnop/-100123456",
    ],
    ids=["sendgrid", "mailgun", "sparkpost", "resend", "telegram-group"],
)
def test_a_message_for_many_that_cannot_be_split_carries_no_one_click_links(
    app_store: LocalStore, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """Apprise sends these (HTML) services one message for every recipient or group
    member: a one-click link in it would record the single assignee's answer for anyone.
    (Its link to the form is the notification's usual one, README "The link".)"""
    monkeypatch.setenv("HITL_SECRET", LINK_SECRET)
    event = ask(app_store, endpoint=ENDPOINT)
    service = _apprise().Apprise.instantiate(url)
    assert service is not None

    sent = _html_messages(event.record, url, service, message_for(event.record, ENDPOINT), ENDPOINT)

    [(recipient, _, html)] = sent
    assert recipient == ""  # one message for all
    assert f"{ENDPOINT}/form/{event.request_id}" in html
    assert "/choose/" not in html


@pytest.mark.parametrize(
    "url",
    [
        "teams-app+https:/prod-00.westeurope.logic.azure.com/workflows/abc/invoke?sp=x&sig=SECRETSIG",
        "teams-app+https//prod-00.westeurope.logic.azure.com/workflows/abc/invoke?sp=x&sig=SECRETSIG",
        "teams-app+ftp://prod-00.westeurope.logic.azure.com/workflows/abc/invoke?sp=x&sig=SECRETSIG",
    ],
    ids=["one-slash", "no-colon", "ftp"],
)
def test_a_mistyped_teams_target_is_refused_and_its_signature_never_logged(
    app_store: LocalStore, caplog: pytest.LogCaptureFixture, url: str
) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ConfigurationError) as refused:
        ask(app_store, endpoint=ENDPOINT, notify=[url])

    assert "SECRETSIG" not in str(refused.value)
    assert "SECRETSIG" not in caplog.text
    assert [r.getMessage() for r in caplog.records if "SECRETSIG" in r.getMessage()] == []


@pytest.mark.parametrize(
    "url",
    [
        "json:/127.0.0.1/hook?token=SECRETSIG",
        "discord//1234567890/SECRETSIG",
        "mailtos://bot:SECRETSIG@",
    ],
    ids=["one-slash", "no-colon", "no-host"],
)
def test_a_url_apprise_cannot_use_is_refused_and_its_credentials_never_logged(
    app_store: LocalStore, caplog: pytest.LogCaptureFixture, url: str
) -> None:
    """Apprise logs a URL it cannot use whole: hitlkit's filter on its logger redacts it."""
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ConfigurationError) as refused:
        ask(app_store, endpoint=ENDPOINT, notify=[url])

    assert "SECRETSIG" not in str(refused.value)
    assert [r.getMessage() for r in caplog.records if "SECRETSIG" in r.getMessage()] == []
