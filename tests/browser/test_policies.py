"""Decision policies in a real browser, on a real `hitl serve` with a tokens file: each
person signs in with their own API token and is offered only what the policy lets them do.

Events are asked from this process (the Python API, over the served store folder) and
never waited on: what moves with time (escalation steps) is the app's policy driver.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

import hitlkit
from hitlkit import LocalStore, Policy, Quorum, Step
from hitlkit._tokens import create_token
from tests.browser.support import Served, assert_accessible, hitl_serve

pytestmark = pytest.mark.browser

PEOPLE = ("ana", "bo", "cy", "dan", "dev", "oncall")
SECRET = "browser-test-secret-0123456789"


@dataclass
class Board:
    """An app with a token for each of `PEOPLE`, its store, and a browser."""

    served: Served
    tokens: dict[str, str]
    store: LocalStore
    browser: Browser
    tmp: Path

    def ask(self, name: str, policy: Any, **options: Any) -> hitlkit.Event[Any]:
        options.setdefault("requested_by", "dev")
        options.setdefault("timeout_seconds", 300)
        return hitlkit.new_event(
            name, options.pop("type", bool), store=self.store, serve=False, policy=policy, **options
        )

    def signed_in(self, who: str) -> Page:
        """A browser of its own, signed in as `who`."""
        context = self.browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.goto(self.served.url + "/login")
        page.locator("#token").fill(self.tokens[who])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
        return page

    def open(self, page: Page, event: hitlkit.Event[Any]) -> Page:
        page.goto(f"{self.served.url}/form/{event.request_id}")
        return page

    def screenshot(self, page: Page, name: str) -> Path:
        path = self.tmp / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def board(browser: Browser, tmp_path: Path) -> Iterator[Board]:
    tokens_file = tmp_path / "tokens.json"
    tokens = {who: create_token(tokens_file, who) for who in PEOPLE}
    options = ("--tokens-file", str(tokens_file), "--secret", SECRET)
    settings = {"HITL_POLICY_EVERY": "0.3", "HITL_GRANTORS": "ana"}
    with hitl_serve(tmp_path / "store", tmp_path / "serve.log", *options, env=settings) as app:
        store = LocalStore(app.store)
        try:
            yield Board(app, tokens, store, browser, tmp_path)
        finally:
            for context in browser.contexts:
                context.close()
            store.close()


def _summary(page: Page) -> Any:
    return expect(page.locator("[data-policy-summary]"))


def test_a_quorum_counts_each_identity_once_and_refuses_a_changed_vote(board: Board) -> None:
    event = board.ask("deploy", Quorum(2, of=["ana", "bo", "cy"]), prompt="Deploy v2 to prod?")
    ana = board.open(board.signed_in("ana"), event)
    expect(ana.get_by_text("2 of 3 (ana, bo, cy), any member may veto")).to_be_visible()
    _summary(ana).to_have_text("0 of 2 approved")
    expect(ana.get_by_text("Asked by")).to_be_visible()
    stale = ana.context.new_page()  # the same form, opened before ana votes
    board.open(stale, event)

    ana.get_by_label("Comment").fill("Canary is green")
    ana.get_by_role("button", name="Approve").click()
    expect(ana.locator("#done-notice")).to_have_text("Your vote is recorded; 1 of 2 approved.")
    _summary(ana).to_have_text("1 of 2 approved")
    expect(ana.locator("#not-yours")).to_contain_text("You voted approve at")
    expect(ana.get_by_role("button", name="Approve")).to_have_count(0)
    expect(ana.locator(".votes")).to_contain_text("Canary is green")
    board.screenshot(ana, "quorum")
    assert_accessible(ana)

    stale.get_by_role("button", name="Reject").click()  # ana again, otherwise
    expect(stale.get_by_role("heading", level=1)).to_have_text("Your vote stands")
    expect(stale.get_by_text("a vote cannot be changed")).to_be_visible()

    bo = board.open(board.signed_in("bo"), event)
    _summary(bo).to_have_text("1 of 2 approved")
    bo.get_by_role("button", name="Approve").click()
    expect(bo.get_by_role("heading", level=1)).to_have_text("Approved")
    expect(bo.get_by_text("Your vote is recorded, and it decided this event.")).to_be_visible()
    expect(bo.locator(".votes li")).to_have_count(2)
    outcome = event.outcome()
    assert outcome is not None
    assert outcome.decision == "approved"
    assert [(v.by, v.value, v.comment) for v in outcome.votes or ()] == [
        ("ana", True, "Canary is green"),
        ("bo", True, None),
    ]


def test_one_members_rejection_vetoes(board: Board) -> None:
    event = board.ask("drop_table", Quorum(2, of=["ana", "bo", "cy"]))
    ana = board.open(board.signed_in("ana"), event)
    ana.get_by_role("button", name="Approve").click()
    cy = board.open(board.signed_in("cy"), event)
    cy.get_by_label("Comment").fill("No backup since Monday")
    cy.get_by_role("button", name="Reject").click()
    expect(cy.get_by_role("heading", level=1)).to_have_text("Vetoed by cy")
    expect(cy.get_by_text("cy: No backup since Monday").first).to_be_visible()
    board.screenshot(cy, "vetoed")
    assert event.wait() is False
    assert event.outcome().decision == "vetoed"  # type: ignore[union-attr]


def test_the_requester_is_offered_no_answer_under_separation_of_duties(board: Board) -> None:
    event = board.ask(
        "payout", Policy(separate_duties=True), assignees=["dev", "bo"], requested_by="dev"
    )
    dev = board.open(board.signed_in("dev"), event)
    expect(dev.locator("#not-yours")).to_have_text(
        "Separation of duties: you (dev) asked for this, so you may not answer it."
    )
    expect(dev.get_by_role("button", name="Approve")).to_have_count(0)
    expect(dev.get_by_text("the requester may not answer")).to_be_visible()

    bo = board.open(board.signed_in("bo"), event)
    bo.get_by_role("button", name="Approve").click()
    expect(bo.get_by_role("heading", level=1)).to_have_text("Recorded: yes")
    assert event.outcome().by == "bo"  # type: ignore[union-attr]


def test_the_driver_escalates_with_no_waiter_and_the_next_step_may_answer(board: Board) -> None:
    policy = Policy(escalation=(Step(["ana"], 4), Step(["oncall"])))
    event = board.ask("page_oncall", policy, timeout_seconds=120)
    oncall = board.open(board.signed_in("oncall"), event)
    expect(oncall.locator("#not-yours")).to_contain_text(
        "Not yours to answer yet: oncall may answer from escalation step 2"
    )
    expect(oncall.get_by_role("button", name="Approve")).to_have_count(0)

    # Nobody waits on the event and nobody votes: only the app's driver takes the step.
    deadline = time.monotonic() + 30
    while not (event.policy_state().steps):  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the app's driver took no step"
        time.sleep(0.2)
    (step,) = event.policy_state().steps  # type: ignore[union-attr]
    assert (step.step, step.assignees) == (1, ("oncall",))

    oncall.reload()
    expect(oncall.get_by_text("Step 2 at")).to_be_visible()
    oncall.get_by_role("button", name="Approve").click()
    expect(oncall.get_by_role("heading", level=1)).to_have_text("Recorded: yes")
    assert event.outcome().by == "oncall"  # type: ignore[union-attr]


def test_a_member_hands_the_question_on_and_the_delegate_answers(board: Board) -> None:
    policy = Policy(quorum=Quorum(2, of=["ana", "bo"]), delegation=True)
    event = board.ask("rotate_keys", policy)
    ana = board.open(board.signed_in("ana"), event)
    ana.get_by_text("Hand to…").click()
    assert_accessible(ana)
    ana.get_by_label("Hand to", exact=True).fill("dan")
    ana.get_by_label("Reason for handing it on").fill("On leave this week")
    ana.get_by_role("button", name="Hand over").click()
    expect(ana.locator("#done-notice")).to_contain_text("Handed to dan")
    expect(ana.locator("#not-yours")).to_contain_text("You handed this question to dan")
    expect(ana.get_by_text("On leave this week")).to_be_visible()

    dan = board.open(board.signed_in("dan"), event)
    expect(dan.locator(".answering-as")).to_have_text("Answering as dan in the place of ana")
    dan.get_by_role("button", name="Approve").click()
    expect(dan.locator("#done-notice")).to_have_text("Your vote is recorded; 1 of 2 approved.")
    votes = event.policy_state().votes  # type: ignore[union-attr]
    assert [(v.by, v.seat) for v in votes] == [("dan", "ana")]


def test_a_grantors_standing_approval_decides_the_next_identical_request(board: Board) -> None:
    policy = Policy(grant_scope="db:prod")
    first = board.ask("migrate", policy, assignees=["ana", "bo"], run_id="night-1")
    bo = board.open(board.signed_in("bo"), first)
    expect(bo.get_by_role("button", name="Approve")).to_be_visible()
    expect(bo.get_by_label("Also decide identical requests")).to_have_count(0)  # no grantor

    ana = board.open(board.signed_in("ana"), first)
    assert_accessible(ana)
    ana.get_by_label("Also decide identical requests").check()
    ana.get_by_role("button", name="Approve").click()
    expect(ana.get_by_role("heading", level=1)).to_have_text("Recorded: yes")

    second = board.ask("migrate", policy, assignees=["ana", "bo"], run_id="night-2")
    outcome = second.outcome()
    assert outcome is not None
    assert outcome.decision == "granted"
    board.open(bo, second)
    expect(bo.get_by_role("heading", level=1)).to_have_text("Approved by a standing approval")
    expect(bo.locator(".notice")).to_contain_text("of ana, until")
    expect(bo.get_by_role("link", name=first.request_id)).to_be_visible()


def test_a_revised_question_shows_why_the_earlier_one_was_rejected(board: Board) -> None:
    first = board.ask("release", Quorum(1, of=["ana"]), prompt="Release 3.0 today?")
    ana = board.open(board.signed_in("ana"), first)
    ana.get_by_label("Comment").fill("The changelog is missing the breaking changes")
    ana.get_by_role("button", name="Reject").click()
    expect(ana.get_by_role("heading", level=1)).to_have_text("Vetoed by ana")

    second = first.ask_again("Release 3.0 today? The changelog now lists the breaking changes.")
    board.open(ana, second)
    rounds = ana.locator(".rounds")
    expect(rounds.get_by_role("heading", name="Earlier rounds")).to_be_visible()
    expect(rounds).to_contain_text("Version 1 · vetoed by ana")
    expect(rounds).to_contain_text("Release 3.0 today?")
    expect(rounds.locator(".votes")).to_contain_text(
        "The changelog is missing the breaking changes"
    )
    board.screenshot(ana, "revision")
    ana.get_by_role("button", name="Approve").click()
    expect(ana.get_by_role("heading", level=1)).to_have_text("Approved")
    assert second.wait() is True


def test_an_app_without_tokens_takes_no_answers_under_identity_policies(
    browser: Browser, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    with hitl_serve(tmp_path / "store", log) as app:
        store = LocalStore(app.store)
        try:
            event = hitlkit.new_event(
                "deploy", bool, store=store, serve=False, policy=Quorum(2, of=["ana", "bo"])
            )
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{app.url}/form/{event.request_id}")
            expect(page.locator("#identity-needed")).to_contain_text(
                "Answers here need a signed-in identity."
            )
            expect(page.locator("#identity-needed")).to_contain_text("--tokens-file")
            expect(page.get_by_role("button", name="Approve")).to_have_count(0)
            context.close()
            assert event.policy_state().votes == ()  # type: ignore[union-attr]
        finally:
            store.close()
    text = log.read_text()
    assert text.count("this app has no API tokens") == 1
    assert "--tokens-file" in text
