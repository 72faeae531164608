"""Rich answer types over real HTTP: the JSON API, the form post, and what `wait()` returns."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any, Literal

import httpx
import pytest
from pydantic import BaseModel

import hitlkit
from hitlkit import LocalStore
from tests.forms import followed, form_fields
from tests.models import Deploy, Env, Limits

FORM = {"content-type": "application/x-www-form-urlencoded", "accept": "text/html"}


def ask(store: LocalStore, data_type: Any, **options: Any) -> hitlkit.Event[Any]:
    options.setdefault("run_id", "run-types")
    return hitlkit.new_event("q", data_type, store=store, serve=False, **options)


def post_form(client: httpx.Client, event: hitlkit.Event[Any], pairs: list[tuple[str, str]]) -> Any:
    csrf = form_fields(client, f"/form/{event.request_id}")["csrf"]
    body = httpx.QueryParams([("request_id", event.request_id), ("csrf", csrf), *pairs])
    return client.post("/submit", content=str(body), headers=FORM)


def field_error(page: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{field_id}-error" role="alert">([^<]*)</p>', page)
    assert match, f"no error shown for {field_id}"
    return match.group(1)  # as in the page: escaped


CASES: list[tuple[Any, Any, list[tuple[str, str]], Any]] = [
    (Literal["ship", "hold"], "hold", [("value", "hold")], "hold"),
    (Literal[1, 2, 3], 2, [("value", "2")], 2),
    (Env, "staging", [("value", "staging")], Env.STAGING),
    (
        list[Env],
        ["prod", "staging"],
        [("value", "prod"), ("value", "staging")],
        [Env.PROD, Env.STAGING],
    ),
    (set[Literal["a", "b", "c"]], ["a", "c"], [("value", "a"), ("value", "c")], {"a", "c"}),
    (int | None, None, [("value", "")], None),
    (int | None, 4, [("value", "4")], 4),
    (date, "2025-01-31", [("value", "2025-01-31")], date(2025, 1, 31)),
    (
        datetime,
        "2025-01-31T10:30:00+00:00",
        [("value", "2025-01-31T10:30")],
        datetime(2025, 1, 31, 10, 30, tzinfo=timezone.utc),
    ),
    (
        Deploy,
        {"version": "v2", "env": "prod", "limits": {"cpu": 4}, "flags": ["canary"]},
        [
            ("value.version", "v2"),
            ("value.env", "prod"),
            ("value.replicas", "3"),
            ("value.flags", "canary"),
            ("value.limits.cpu", "4"),
        ],
        Deploy(version="v2", env=Env.PROD, limits=Limits(cpu=4), flags={"canary"}),
    ),
]


@pytest.mark.parametrize(("data_type", "json_value", "pairs", "expected"), CASES)
def test_each_type_through_the_json_api(
    client: httpx.Client,
    app_store: LocalStore,
    data_type: Any,
    json_value: Any,
    pairs: list[tuple[str, str]],
    expected: Any,
) -> None:
    event = ask(app_store, data_type)
    info = client.get(f"/api/events/{event.request_id}").json()
    assert info["validation"] == "schema"
    response = client.post(f"/api/events/{event.request_id}/answer", json={"value": json_value})
    assert response.status_code == 200, response.text
    assert event.wait() == expected


@pytest.mark.parametrize(("data_type", "json_value", "pairs", "expected"), CASES)
def test_each_type_through_the_form(
    client: httpx.Client,
    app_store: LocalStore,
    data_type: Any,
    json_value: Any,
    pairs: list[tuple[str, str]],
    expected: Any,
) -> None:
    event = ask(app_store, data_type)
    page = client.get(f"/form/{event.request_id}").text
    for name, _ in pairs:
        input_id = "f-" + name.replace(".", "-")
        assert f'id="{input_id}' in page
    # Every input has a label pointing at it.
    ids = re.findall(r'<(?:input|select|textarea) id="([^"]+)"', page)
    assert ids
    for input_id in ids:
        assert f'<label for="{input_id}"' in page, input_id
    response = followed(client, post_form(client, event, [*pairs, ("by", "ana")]))
    assert response.status_code == 200, response.text
    assert "Recorded" in response.text
    assert event.wait() == expected
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.by, outcome.via) == ("ana", "form")


BAD: list[tuple[Any, Any, list[Any], str]] = [
    (Literal["ship", "hold"], "sink", ["value"], 'one of "ship", "hold"'),
    (Env, "dev", ["value"], "one of"),
    (list[Env], ["prod", "dev"], ["value", 1], "one of"),
    (date, "2025-02-30", ["value"], "a date (YYYY-MM-DD)"),
    (datetime, "31/01/2025", ["value"], "a date and time"),
    (int | None, "lots", ["value"], "whole number"),
    (Deploy, {"version": "v2", "env": "prod"}, ["value", "limits"], "required"),
    (Deploy, {"version": "2", "env": "prod", "limits": {}}, ["value", "version"], "pattern"),
    (
        Deploy,
        {"version": "v2", "env": "prod", "limits": {}, "replicas": 11},
        ["value", "replicas"],
        "at most 10",
    ),
    (
        Deploy,
        {"version": "v1234567890", "env": "prod", "limits": {}},
        ["value", "version"],
        "at most 10 characters",
    ),
]


@pytest.mark.parametrize(("data_type", "bad", "loc", "message"), BAD)
def test_bad_api_answers_get_field_errors_and_leave_the_event_open(
    client: httpx.Client,
    app_store: LocalStore,
    data_type: Any,
    bad: Any,
    loc: list[Any],
    message: str,
) -> None:
    event = ask(app_store, data_type)
    for path in (f"/api/events/{event.request_id}/answer", "/submit/json"):
        body = {"value": bad, "request_id": event.request_id}
        response = client.post(path, json=body)
        assert response.status_code == 422
        error = response.json()
        assert error["error"] == "invalid_value"
        assert any(e["loc"] == loc and message in e["msg"] for e in error["errors"]), error
    assert event.outcome() is None
    good = CASES[[c[0] for c in CASES].index(data_type)][1]
    assert client.post(
        "/submit/json", json={"request_id": event.request_id, "value": good}
    ).is_success
    assert event.outcome() is not None


def test_a_bad_form_is_shown_again_with_each_error_by_its_field(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, Deploy)
    pairs = [
        ("value.version", "2.0"),
        ("value.env", "dev"),
        ("value.replicas", "11"),
        ("value.flags", "canary"),
        ("value.limits.cpu", "lots"),
        ("value.notify", "true"),
    ]
    page = post_form(client, event, pairs)
    assert page.status_code == 422
    assert "must match the pattern" in field_error(page.text, "f-value-version")
    env = html.unescape(field_error(page.text, "f-value-env"))
    assert env == """expected one of "prod", "staging", got 'dev'"""  # the choices said once
    assert "at most 10" in field_error(page.text, "f-value-replicas")
    assert "whole number" in field_error(page.text, "f-value-limits-cpu")
    # What was typed is kept.
    assert 'value="2.0"' in page.text
    assert 'value="lots"' in page.text
    assert re.search(r'value="canary" checked', page.text)
    assert re.search(r'id="f-value-notify" name="value.notify" value="true" checked', page.text)
    assert event.outcome() is None
    missing = post_form(client, event, [("value.env", "prod")])
    assert missing.status_code == 422
    assert "required" in field_error(missing.text, "f-value-version")
    fixed = [("value.version", "v3"), ("value.env", "staging"), ("value.limits.cpu", "")]
    assert post_form(client, event, fixed).status_code == 303
    assert event.wait() == Deploy(version="v3", env=Env.STAGING, limits=Limits())


def test_the_form_shows_constraints_defaults_initial_values_and_help(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, Deploy, initial={"env": "staging"}, description="Check the release.")
    page = client.get(f"/form/{event.request_id}").text
    assert "Check the release." in page
    assert "What to deploy, where." not in page  # the event's description wins
    assert "a tag like v2" in page
    assert "CPU cores per replica" in page
    assert 'maxlength="10"' in page
    assert 'pattern="v[0-9]+"' in page
    assert "Between 1 and 10." in page
    assert "Deploy: version (text), env (prod or staging), replicas (integer, optional)" in page
    assert re.search(r'id="f-value-replicas"[^>]*value="3"[^>]*min="1" max="10"', page)
    assert re.search(r'value="staging" checked', page)
    assert '<fieldset class="field fieldset" id="f-value-limits"' in page


def test_datetime_form_says_naive_times_are_utc(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, datetime)
    page = client.get(f"/form/{event.request_id}").text
    assert 'type="datetime-local"' in page
    assert "UTC" in page


def test_markdown_prompt_is_rendered_and_sanitized(
    client: httpx.Client, app_store: LocalStore
) -> None:
    prompt = (
        "Deploy **v2**?\n\n| env | replicas |\n|---|---|\n| prod | 3 |\n\n"
        "```\nkubectl get pods\n```\n\n[runbook](https://example.com/run)\n\n"
        '<script>alert("x")</script>\n\n<img src=x onerror=alert(1)>'
    )
    event = ask(app_store, bool, prompt=prompt, prompt_type="markdown")
    page = client.get(f"/form/{event.request_id}").text
    assert "<strong>v2</strong>" in page
    assert "<table>" in page
    assert "<pre><code>kubectl get pods" in page
    assert 'href="https://example.com/run" rel="noopener noreferrer nofollow"' in page
    assert "<script>alert" not in page
    assert "<img" not in page
    assert "&lt;script&gt;" in page
    plain = hitlkit.new_event(
        "plain", bool, prompt="**not bold**", store=app_store, serve=False, run_id="run-types"
    )
    assert "**not bold**" in client.get(f"/form/{plain.request_id}").text


def test_old_types_keep_their_form_and_strict_parsing(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, int)
    assert event.record.validation == "named"
    page = post_form(client, event, [("value", "1.5")])
    assert page.status_code == 422
    assert "expected an integer" in page.text
    assert post_form(client, event, [("value", " 42 ")]).status_code == 303
    assert event.wait() == 42


class Window(BaseModel):
    start: date
    limits: Limits | None = None


def test_an_optional_nested_model_left_empty_is_none(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, Window)
    page = post_form(client, event, [("value.start", "2025-05-01"), ("value.limits.cpu", "")])
    assert page.status_code == 303, page.text
    assert event.wait() == Window(start=date(2025, 5, 1), limits=None)


def test_the_http_client_sends_models_enums_and_dates(app_url: str, app_store: LocalStore) -> None:
    remote = hitlkit.Client(endpoint=app_url)
    model = ask(app_store, Deploy)
    with pytest.raises(hitlkit.InvalidValueError) as info:
        remote.answer(model.request_id, {"version": "v2", "env": Env.PROD})
    assert info.value.errors == [{"loc": ["value", "limits"], "msg": "this field is required"}]
    answer = Deploy(version="v9", env=Env.STAGING, limits=Limits(cpu=1))
    remote.answer(model.request_id, answer)
    assert model.wait() == answer
    status = httpx.get(f"{app_url}/status/{model.request_id}").json()
    assert status["status"] == "completed"
    assert status["request"]["data_type"] == "Deploy"
    choice = hitlkit.new_event("env", Env, store=app_store, serve=False, run_id="run-types")
    remote.answer(choice.request_id, Env.STAGING)
    assert choice.wait() is Env.STAGING
    day = hitlkit.new_event("day", date, store=app_store, serve=False, run_id="run-types")
    remote.answer(day.request_id, date(2025, 12, 24))
    assert day.wait() == date(2025, 12, 24)


def test_a_time_and_a_decimal_are_asked_in_their_inputs_and_read_back(
    client: httpx.Client, app_store: LocalStore
) -> None:
    at = hitlkit.new_event("at", time, store=app_store, serve=False, run_id="run-types")
    price = hitlkit.new_event("price", Decimal, store=app_store, serve=False, run_id="run-types")
    assert 'type="time"' in client.get(f"/form/{at.request_id}").text
    assert 'inputmode="decimal"' in client.get(f"/form/{price.request_id}").text
    bad = post_form(client, price, [("value", "12,50")])
    assert bad.status_code == 422
    assert "expected a decimal number" in field_error(bad.text, "f-value")
    assert post_form(client, at, [("value", "09:05")]).status_code == 303
    assert post_form(client, price, [("value", " 12.50 ")]).status_code == 303
    assert at.wait() == time(9, 5)
    assert str(price.wait()) == "12.50"
    assert client.get(f"/api/events/{price.request_id}").json()["data_type"] == "Decimal"


class Tagged(BaseModel):
    tag: Literal["<b>bold</b>", "plain"]


def test_a_models_type_line_is_escaped_on_the_page_and_in_the_inbox(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, Tagged)
    told = "Tagged: tag (&lt;b&gt;bold&lt;/b&gt; or plain)"
    assert told in client.get(f"/form/{event.request_id}").text
    inbox = client.get("/").text
    assert told in inbox
    assert "<b>bold</b>" not in inbox
