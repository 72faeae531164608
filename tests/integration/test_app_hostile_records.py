"""Records written to be slow, over real HTTP: the app answers at once, whatever they hold.

A record is written by whoever can create events; its schema and prompt reach the app's
checks and pages. Each test here took the app minutes (or hours, or a 500) before.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Annotated, Any

import httpx
import pytest
from pydantic import BaseModel, ConfigDict, Field

import hitlkit
from hitlkit import LocalStore, UnsupportedTypeError
from hitlkit._records import event_key
from tests.forms import form_fields

FORM = {"content-type": "application/x-www-form-urlencoded", "accept": "text/html"}
QUICK = 5.0
"""Seconds a request may take here: each took minutes or more before."""


class Ticket(BaseModel):
    ref: Annotated[str, Field(pattern=r"^([a-z0-9]+)+$", max_length=64)]


class Price(BaseModel):
    amount: Annotated[float, Field(ge=1e11, multiple_of=1e-20)]


class Amount(BaseModel):
    amount: Annotated[Decimal, Field(ge=Decimal(1))]


@pytest.fixture
def quick(app_url: str) -> Any:
    """A client that gives up after `QUICK` seconds, so a regression fails, not hangs."""
    with httpx.Client(base_url=app_url, timeout=QUICK, trust_env=False) as http:
        yield http


def ask(
    store: LocalStore, data_type: Any, prompt: str = "q", name: str = "q", **options: Any
) -> str:
    event = hitlkit.new_event(
        name, data_type, prompt=prompt, store=store, serve=False, run_id="r", **options
    )
    return event.request_id


def rewrite(store: LocalStore, request_id: str, change: Any) -> None:
    """The event's record changed in the store, as a store writer may."""
    path = store.root / event_key(request_id)
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def timed(send: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


def test_a_backtracking_pattern_is_checked_in_linear_time(
    app_store: LocalStore, quick: httpx.Client
) -> None:
    request_id = ask(app_store, Ticket)
    bad = {"value": {"ref": "a" * 48 + "!"}}  # Python's re: hours
    response, took = timed(lambda: quick.post(f"/api/events/{request_id}/answer", json=bad))
    assert response.status_code == 422, response.text
    assert "must match the pattern" in response.text
    assert took < QUICK
    assert quick.get("/healthz").status_code == 200
    good = {"value": {"ref": "abc123"}}
    assert quick.post(f"/api/events/{request_id}/answer", json=good).status_code == 200


def test_a_pattern_without_a_linear_time_match_is_not_asked(
    app_store: LocalStore, quick: httpx.Client
) -> None:
    class Lookahead(BaseModel):
        model_config = ConfigDict(regex_engine="python-re")
        ref: Annotated[str, Field(pattern=r"^(?=[a-z])([a-z0-9]+)+$")]

    with pytest.raises(UnsupportedTypeError, match="cannot be checked in linear time"):
        ask(app_store, Lookahead)
    # Written into a record anyway: the app says it cannot be answered, and checks nothing.
    request_id = ask(app_store, Ticket)

    def lookahead(record: dict[str, Any]) -> None:
        record["json_schema"]["properties"]["ref"]["pattern"] = r"^(?=[a-z])([a-z0-9]+)+$"

    rewrite(app_store, request_id, lookahead)
    bad = {"value": {"ref": "a" * 48 + "!"}}
    response, took = timed(lambda: quick.post(f"/api/events/{request_id}/answer", json=bad))
    assert response.status_code in (400, 422), response.text
    assert "cannot be checked in linear time" in response.text
    assert took < QUICK
    page = quick.get(f"/form/{request_id}")
    assert page.status_code == 422
    assert "cannot be checked in linear time" in page.text


def test_someone_not_assigned_is_refused_before_their_answer_is_read(
    app_store: LocalStore, client: httpx.Client
) -> None:
    request_id = ask(app_store, Ticket, assignees=["ana"])
    csrf = form_fields(client, f"/form/{request_id}")["csrf"]
    pairs: list[tuple[str, str | int | float | bool | None]] = [
        ("request_id", request_id),
        ("csrf", csrf),
        ("by", "bob"),
        ("value.ref", "!"),
    ]
    response = client.post("/submit", content=str(httpx.QueryParams(pairs)), headers=FORM)
    assert response.status_code == 403, response.text  # not 422: the value was never read
    assert "Assigned to someone else" in response.text
    assert "must match the pattern" not in response.text


def test_a_decimal_bound_far_from_one_is_shown_with_its_exponent(
    app_store: LocalStore, quick: httpx.Client
) -> None:
    request_id = ask(app_store, Amount)

    def huge(record: dict[str, Any]) -> None:
        record["json_schema"]["properties"]["amount"]["minimum"] = "1E+300000000"

    rewrite(app_store, request_id, huge)
    page, took = timed(lambda: quick.get(f"/form/{request_id}"))
    assert page.status_code == 200
    assert "At least 1e+300000000." in page.text
    assert len(page.content) < 100_000  # written out, 300 MB
    assert took < QUICK
    answer = {"value": {"amount": "5"}}
    refused = quick.post(f"/api/events/{request_id}/answer", json=answer)
    assert refused.status_code == 422
    assert "must be at least 1e+300000000" in refused.text


def test_a_float_step_finer_than_decimal_precision_still_gives_a_form(
    app_store: LocalStore, client: httpx.Client
) -> None:
    request_id = ask(app_store, Price)
    page = client.get(f"/form/{request_id}")
    assert page.status_code == 200, page.text
    assert "a multiple of 1e-20" in page.text
    assert 'step="1e-20"' in page.text  # 1e11 is a multiple of 1e-20, worked out exactly


def test_the_inbox_of_slow_markdown_prompts_comes_at_once(
    app_store: LocalStore, quick: httpx.Client
) -> None:
    for i in range(60):
        ask(
            app_store, int, "[" * (20000 - i), f"q{i}", prompt_type="markdown"
        )  # each ~0.2 s to parse
    inbox, took = timed(lambda: quick.get("/"))
    assert inbox.status_code == 200
    assert inbox.text.count("[" * 100) == 60  # each summary: the prompt's start
    assert took < QUICK


def test_a_markdown_prompt_longer_than_hitlkit_writes_is_shown_as_text(
    app_store: LocalStore, quick: httpx.Client
) -> None:
    request_id = ask(app_store, int, "x", prompt_type="markdown")
    slow = "![" * 400_000  # about 15 s to render as Markdown

    def long_prompt(record: dict[str, Any]) -> None:
        record["prompt"] = slow

    rewrite(app_store, request_id, long_prompt)
    page, took = timed(lambda: quick.get(f"/form/{request_id}"))
    assert page.status_code == 200
    assert slow in page.text
    assert took < QUICK
    inbox, took = timed(lambda: quick.get("/"))
    assert inbox.status_code == 200
    assert took < QUICK
