"""One-click choice links: a signed answer chosen in advance, recorded only on a confirming POST."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import pytest

from hitlkit import ConfigurationError, InvalidLinkError
from hitlkit._choices import choices_for
from hitlkit._links import (
    choice_url,
    sign_answer_link,
    sign_choice_link,
    verify_answer_link,
    verify_choice_link,
)
from hitlkit._reading import load_event
from hitlkit._records import utcnow
from hitlkit._server import create_app
from tests.integration.conftest import serve_in_thread
from tests.security.conftest import SECRET, App

EVENT = "5f0c1a2b3c4d5e6f7a8b9c0d"
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


def _choice(
    request_id: str,
    value: Any,
    *,
    identity: str | None = "ana",
    expires_in: float = 600,
    secret: str = SECRET,
) -> str:
    expires_at = utcnow() + timedelta(seconds=expires_in)
    return sign_choice_link(
        secret, request_id, value, identity=identity, expires_at=expires_at, channel="email"
    )


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _confirm_fields(app: App, url: str) -> dict[str, str]:
    with app.client() as browser:
        page = browser.get(url)
    assert page.status_code == 200, page.text
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}


# Tokens


def test_a_choice_token_carries_event_identity_value_and_channel() -> None:
    token = _choice(EVENT, {"approved": True}, identity="ana")

    link = verify_choice_link(SECRET, token, request_id=EVENT)

    assert (link.request_id, link.identity, link.value, link.channel) == (
        EVENT,
        "ana",
        {"approved": True},
        "email",
    )
    assert choice_url("http://h/", EVENT, token) == f"http://h/choose/{EVENT}?token={token}"


def test_forged_and_altered_choice_tokens_are_invalid() -> None:
    good = _choice(EVENT, True)
    payload, _, signature = good.rpartition(".")
    other_value = _choice(EVENT, False)
    forged = [
        "not-a-link",
        good + "x",
        f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}",
        # The payload of a Reject link under the signature of an Approve link.
        f"{other_value.rpartition('.')[0]}.{signature}",
        _choice(EVENT, True, secret="another-secret-0123456789abcdef"),
    ]
    for token in forged:
        with pytest.raises(InvalidLinkError) as refused:
            verify_choice_link(SECRET, token, request_id=EVENT)
        assert refused.value.reason == "invalid", token


def test_expired_and_other_event_choice_tokens_say_so() -> None:
    with pytest.raises(InvalidLinkError) as expired:
        verify_choice_link(SECRET, _choice(EVENT, True, expires_in=-1), request_id=EVENT)
    with pytest.raises(InvalidLinkError) as other:
        verify_choice_link(SECRET, _choice(EVENT, True), request_id="0" * 24)

    assert expired.value.reason == "expired"
    assert other.value.reason == "other_event"


def test_answer_links_and_choice_links_are_never_each_other() -> None:
    answer = sign_answer_link(
        SECRET, EVENT, identity="ana", expires_at=utcnow() + timedelta(hours=1)
    )
    choice = _choice(EVENT, True)

    with pytest.raises(InvalidLinkError):
        verify_choice_link(SECRET, answer, request_id=EVENT)
    with pytest.raises(InvalidLinkError):
        verify_answer_link(SECRET, choice, request_id=EVENT)


def test_choice_links_survive_a_rotation_and_short_secrets_are_refused() -> None:
    old = _choice(EVENT, "ship")
    new_secret = "a-newer-secret-0123456789abcdef"

    assert verify_choice_link(new_secret, old, previous=[SECRET]).value == "ship"
    with pytest.raises(InvalidLinkError):
        verify_choice_link(new_secret, old)
    with pytest.raises(ConfigurationError):
        sign_choice_link("short", EVENT, True, identity=None, expires_at=utcnow(), channel="email")


def test_which_answers_get_a_link(open_app: App) -> None:
    flag = open_app.ask("flag", bool)
    env = open_app.ask("env", Literal["prod", "staging"])
    count = open_app.ask("count", int)

    def offered(request_id: str) -> list[tuple[str, Any]]:
        return choices_for(asyncio.run(load_event(open_app.store, request_id)))

    assert offered(flag.request_id) == [("Approve", True), ("Reject", False)]
    assert offered(env.request_id) == [("prod", "prod"), ("staging", "staging")]
    assert offered(count.request_id) == []


# The confirmation page


def test_opening_a_choice_link_writes_nothing(secured: App) -> None:
    event = secured.ask("deploy", bool, assignees=["ana"])
    url = choice_url(secured.url, event.request_id, _choice(event.request_id, True))
    before = _files(secured.store.root)

    with secured.client() as browser:  # no API token: the link is the credential
        page = browser.get(url)
        again = browser.get(url)

    assert page.status_code == 200, page.text
    assert again.status_code == 200
    assert "Confirm: Approve" in page.text
    assert 'id="recorded-as">ana<' in page.text
    assert _files(secured.store.root) == before
    assert event.outcome() is None


def test_confirming_records_the_answer_as_the_link_identity_with_its_channel(
    secured: App,
) -> None:
    event = secured.ask("deploy", bool, assignees=["ana"])
    url = choice_url(secured.url, event.request_id, _choice(event.request_id, False))
    fields = _confirm_fields(secured, url)

    with secured.client() as browser:
        done = browser.post(f"/choose/{event.request_id}", data=fields)

    assert done.status_code == 200, done.text
    assert "Answer recorded" in done.text
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == (False, "ana", "email")


def test_a_post_without_its_form_token_records_nothing(secured: App) -> None:
    event = secured.ask("deploy", bool)
    token = _choice(event.request_id, True, identity=None)
    fields = _confirm_fields(secured, choice_url(secured.url, event.request_id, token))

    with secured.client() as browser:
        missing = browser.post(f"/choose/{event.request_id}", data={"token": token})
        wrong = browser.post(f"/choose/{event.request_id}", data={"token": token, "csrf": "0" * 64})
        # A form token of another link does not carry over.
        other = _choice(event.request_id, False, identity=None)
        swapped = browser.post(
            f"/choose/{event.request_id}", data={"token": other, "csrf": fields["csrf"]}
        )
        cross_site = browser.post(
            f"/choose/{event.request_id}",
            data=fields,
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )

    assert [r.status_code for r in (missing, wrong, swapped, cross_site)] == [403] * 4
    assert event.outcome() is None


def test_bad_links_get_clear_pages_and_record_nothing(secured: App) -> None:
    event = secured.ask("deploy", bool)
    other = secured.ask("other", bool)
    rid = event.request_id
    cases = {
        "Link not valid": (403, "garbage"),
        "Link expired": (410, _choice(rid, True, identity=None, expires_in=-5)),
        "Link for another event": (403, _choice(other.request_id, True, identity=None)),
    }
    answer_link = sign_answer_link(
        SECRET, rid, identity=None, expires_at=utcnow() + timedelta(hours=1)
    )

    with secured.client() as browser:
        for title, (status, token) in cases.items():
            page = browser.get(choice_url(secured.url, rid, token))
            assert (page.status_code, title in page.text) == (status, True), title
            posted = browser.post(f"/choose/{rid}", data={"token": token, "csrf": "x"})
            assert posted.status_code == status, title
        as_choice = browser.get(choice_url(secured.url, rid, answer_link))

    assert as_choice.status_code == 403
    assert event.outcome() is None


def test_the_first_answer_wins_and_the_late_one_sees_who(open_app: App) -> None:
    event = open_app.ask("deploy", bool)
    approve = choice_url(open_app.url, event.request_id, _choice(event.request_id, True))
    reject = choice_url(
        open_app.url, event.request_id, _choice(event.request_id, False, identity="bo")
    )
    approve_fields = _confirm_fields(open_app, approve)
    reject_fields = _confirm_fields(open_app, reject)

    with open_app.client() as browser:
        first = browser.post(f"/choose/{event.request_id}", data=approve_fields)
        late = browser.post(f"/choose/{event.request_id}", data=reject_fields)
        repeat = browser.post(f"/choose/{event.request_id}", data=approve_fields)
        opened_late = browser.get(reject)

    assert first.status_code == 200
    assert late.status_code == 409
    assert "ana answered first" in late.text
    assert "Your choice (Reject) was not recorded" in late.text
    assert repeat.status_code == 200  # the same answer again: a retry
    assert "had already been recorded" in repeat.text
    assert opened_late.status_code == 409
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by) == (True, "ana")


def test_a_link_for_someone_not_assigned_answers_nothing(secured: App) -> None:
    event = secured.ask("deploy", bool, assignees=["ana"])
    token = _choice(event.request_id, True, identity="bo")
    url = choice_url(secured.url, event.request_id, token)
    # The confirmation page is refused, so compute the form token as the app would,
    # to check the POST refuses it on its own.
    key = hmac.new(SECRET.encode(), b"hitlkit.csrf.v1", hashlib.sha256).digest()
    csrf = hmac.new(key, f"choice:{token}".encode(), hashlib.sha256).hexdigest()

    with secured.client() as browser:
        page = browser.get(url)
        posted = browser.post(f"/choose/{event.request_id}", data={"token": token, "csrf": csrf})
        anyone = browser.get(
            choice_url(
                secured.url, event.request_id, _choice(event.request_id, True, identity=None)
            )
        )

    assert page.status_code == 403
    assert "Assigned to someone else" in page.text
    assert posted.status_code == 403
    assert anyone.status_code == 403
    assert event.outcome() is None


def test_a_closed_event_is_410(open_app: App) -> None:
    event = open_app.ask("deploy", bool)
    url = choice_url(open_app.url, event.request_id, _choice(event.request_id, True))
    fields = _confirm_fields(open_app, url)
    event.cancel(reason="not needed")

    with open_app.client() as browser:
        page = browser.get(url)
        posted = browser.post(f"/choose/{event.request_id}", data=fields)

    assert (page.status_code, posted.status_code) == (410, 410)
    assert "closed (cancelled)" in posted.text


def test_an_app_without_a_secret_says_choice_links_need_one(tmp_path: Path) -> None:
    from hitlkit import LocalStore

    store = LocalStore(tmp_path / "store")
    server, thread, port = serve_in_thread(create_app(store))
    try:
        import httpx

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
            page = http.get(f"/choose/{EVENT}", params={"token": _choice(EVENT, True)})
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()

    assert page.status_code == 503
    assert "HITL_SECRET" in page.text


# Under a policy


def _confirmed(app: App, request_id: str, value: Any, identity: str | None) -> Any:
    url = choice_url(app.url, request_id, _choice(request_id, value, identity=identity))
    fields = _confirm_fields(app, url)
    with app.client() as browser:
        return browser.post(f"/choose/{request_id}", data=fields)


def _quorum(app: App) -> Any:
    from hitlkit._policy import Policy, Quorum

    return app.ask(
        "deploy",
        bool,
        policy=Policy(quorum=Quorum(2, of=["ana", "bo", "cy"])),
        requested_by="dev",
    )


def test_a_vote_under_a_quorum_waits_with_202_then_decides(secured: App) -> None:
    event = _quorum(secured)

    first = _confirmed(secured, event.request_id, True, "ana")
    assert event.outcome() is None
    second = _confirmed(secured, event.request_id, True, "bo")

    assert first.status_code == 202, first.text
    assert "Vote recorded" in first.text
    assert "1 of 2 approved" in first.text
    assert second.status_code == 200, second.text
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.via) == (True, "email")


def test_a_policy_refuses_links_for_anyone_outsiders_and_the_requester(secured: App) -> None:
    event = _quorum(secured)

    anyone = _confirmed(secured, event.request_id, True, None)
    outsider = _confirmed(secured, event.request_id, True, "mallory")
    requester = _confirmed(secured, event.request_id, True, "dev")

    assert [r.status_code for r in (anyone, outsider, requester)] == [403, 403, 403]
    assert "Nothing was recorded" in anyone.text
    assert event.outcome() is None


def test_an_approval_is_approved_or_rejected_in_one_click(open_app: App) -> None:
    from hitlkit import Approval

    event = open_app.ask("send_email", Approval)
    offered = choices_for(asyncio.run(load_event(open_app.store, event.request_id)))

    done = _confirmed(open_app, event.request_id, offered[1][1], "ana")

    assert [label for label, _ in offered] == ["Approve", "Reject"]
    assert done.status_code == 200, done.text
    assert "Confirm" not in done.text
    outcome = event.outcome()
    assert outcome is not None
    assert outcome.value == {"approved": False}
