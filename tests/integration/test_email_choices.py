"""E-mail with one-click answers: one signed link per choice, in the HTML and the plain text,
sent one message per recipient when the links name who answers."""

from __future__ import annotations

import html
import re
from email.message import EmailMessage
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

import hitlkit
from hitlkit import ConfigurationError, LocalStore
from hitlkit._links import verify_answer_link, verify_choice_link
from tests.integration.conftest import LINK_SECRET
from tests.receivers import MailServer, links_in, wait_until

_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


def ask(store: LocalStore, endpoint: str, data_type: Any = bool, **options: Any) -> Any:
    options.setdefault("run_id", "run-7")
    return hitlkit.new_event(
        "deploy",
        data_type,
        prompt="Ship it?",
        store=store,
        endpoint=endpoint,
        serve=False,
        **options,
    )


def part(message: EmailMessage, subtype: str) -> str:
    [found] = [p for p in message.walk() if p.get_content_type() == f"text/{subtype}"]
    return str(found.get_content())


def choices_in(text: str) -> list[str]:
    return [url for url in links_in(text) if "/choose/" in url]


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def by_recipient(mail: MailServer, count: int) -> dict[str, EmailMessage]:
    messages = mail.wait_for(count)
    assert all(len(rcpt) == 1 for rcpt in mail.recipients), mail.recipients
    return {rcpt[0].lower(): m for rcpt, m in zip(mail.recipients, messages, strict=True)}


def test_each_recipient_gets_links_signed_for_them_and_others_the_form_only(
    mail: MailServer, app_store: LocalStore, linking_app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_EMAIL_IDENTITIES", "bo@example.com=bob")
    event = ask(
        app_store,
        linking_app,
        assignees=["ana", "bob"],
        notify=[mail.url("ana@example.com,Bo@Example.com,cy@example.com")],
    )

    messages = by_recipient(mail, 3)

    assert sorted(messages) == ["ana@example.com", "bo@example.com", "cy@example.com"]
    for address, identity in (("ana@example.com", "ana"), ("bo@example.com", "bob")):
        text = part(messages[address], "plain")
        links = choices_in(text)
        assert len(links) == 2, text
        verified = [
            verify_choice_link(LINK_SECRET, token_of(u), request_id=event.request_id) for u in links
        ]
        assert [(v.identity, v.value, v.channel) for v in verified] == [
            (identity, True, "email"),
            (identity, False, "email"),
        ]
        assert "Approve" in text
        assert "Reject" in text
        # The HTML part has the same links, as buttons.
        assert [html.unescape(u) for u in choices_in(part(messages[address], "html"))][::2] == links
    cy = part(messages["cy@example.com"], "plain")
    assert choices_in(cy) == []
    # Nor a link to answer as someone else: the plain form, where cy signs in.
    assert [u for u in links_in(cy) if "/form/" in u] == [f"{linking_app}/form/{event.request_id}"]
    ana_form = [u for u in links_in(part(messages["ana@example.com"], "plain")) if "/form/" in u]
    [ana_link] = [verify_answer_link(LINK_SECRET, token_of(u)) for u in ana_form]
    assert (ana_link.request_id, ana_link.identity) == (event.request_id, "ana")
    assert event.outcome() is None


def test_opening_a_mailed_link_then_confirming_answers_as_the_recipient(
    mail: MailServer, app_store: LocalStore, linking_app: str
) -> None:
    event = ask(app_store, linking_app, assignees=["ana"], notify=[mail.url("ana@example.com")])
    [message] = mail.wait_for(1)
    reject = choices_in(part(message, "plain"))[1]

    with httpx.Client(timeout=10, trust_env=False) as browser:
        page = browser.get(reject)
        assert event.outcome() is None  # a scanner that opens the link answers nothing
        fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(page.text)}
        done = browser.post(reject.partition("?")[0], data=fields)

    assert page.status_code == 200
    assert "Confirm: Reject" in page.text
    assert done.status_code == 200, done.text
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == (False, "ana", "email")


def test_without_assignees_every_recipient_gets_the_same_links_for_anyone(
    mail: MailServer, app_store: LocalStore, linking_app: str
) -> None:
    event = ask(
        app_store,
        linking_app,
        Literal["prod", "staging"],
        notify=[mail.url("ana@example.com,bo@example.com")],
    )

    messages = by_recipient(mail, 2)

    links = [choices_in(part(m, "plain")) for m in messages.values()]
    assert links[0] == links[1]
    verified = [
        verify_choice_link(LINK_SECRET, token_of(u), request_id=event.request_id) for u in links[0]
    ]
    assert [(v.identity, v.value) for v in verified] == [(None, "prod"), (None, "staging")]


def test_types_without_choices_and_apps_without_a_secret_send_the_form_link_only(
    mail: MailServer, app_store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_SECRET", LINK_SECRET)
    ask(app_store, "http://127.0.0.1:9", int, notify=[mail.url("ana@example.com")])
    [counted] = mail.wait_for(1)
    monkeypatch.delenv("HITL_SECRET")
    hitlkit.new_event(
        "flag",
        bool,
        store=app_store,
        endpoint="http://127.0.0.1:9",
        serve=False,
        notify=[mail.url("bo@example.com")],
    )
    flagged = mail.wait_for(2)[1]

    for message in (counted, flagged):
        text = part(message, "plain")
        assert choices_in(text) == []
        assert any("/form/" in u for u in links_in(text))


def test_a_hostile_choice_is_escaped_in_the_mail(
    mail: MailServer, app_store: LocalStore, linking_app: str
) -> None:
    ask(app_store, linking_app, Literal["<b>x</b>", "ok"], notify=[mail.url("ana@example.com")])

    [message] = mail.wait_for(1)

    body = part(message, "html")
    assert "<b>x</b>" not in body
    assert "&lt;b&gt;x&lt;/b&gt;" in body


def test_under_a_quorum_each_recipient_gets_links_for_their_own_vote(
    mail: MailServer, app_store: LocalStore, linking_app: str
) -> None:
    from hitlkit._policy import Policy, Quorum

    event = ask(
        app_store,
        linking_app,
        policy=Policy(quorum=Quorum(2, of=["ana", "bo"])),
        notify=[mail.url("ana@example.com,bo@example.com")],
    )

    messages = by_recipient(mail, 2)

    for address, identity in (("ana@example.com", "ana"), ("bo@example.com", "bo")):
        [approve, _] = choices_in(part(messages[address], "plain"))
        link = verify_choice_link(LINK_SECRET, token_of(approve), request_id=event.request_id)
        assert (link.identity, link.value) == (identity, True)


def test_a_bad_email_identities_setting_is_refused_when_the_event_is_made(
    mail: MailServer, app_store: LocalStore, linking_app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_EMAIL_IDENTITIES", "ana@example.org=ana bo")

    with pytest.raises(ConfigurationError, match="address=identity pairs"):
        ask(app_store, linking_app, notify=[mail.url("ana@example.org")])


def test_a_retry_sends_only_to_the_recipients_the_first_attempt_missed(
    app_store: LocalStore, linking_app: str
) -> None:
    busy = MailServer(refuse_once=frozenset({"bo@example.com"}))
    try:
        ask(
            app_store,
            linking_app,
            assignees=["ana", "bo"],
            notify=[busy.url("ana@example.com,bo@example.com")],
        )
        wait_until(lambda: ["bo@example.com"] in busy.recipients, "bo's mail, on the retry")

        assert sorted(busy.recipients) == [["ana@example.com"], ["bo@example.com"]]
    finally:
        busy.close()
