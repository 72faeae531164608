"""The same answer through the form and through the JSON API records the same stored value."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings

import hitlkit
from hitlkit import LocalStore
from hitlkit._values import ValueAdapter, adapter_for
from tests.forms import form_fields
from tests.values import posted, types_and_values

FORM = {"content-type": "application/x-www-form-urlencoded", "accept": "text/html"}
_names = itertools.count()


def ask(store: LocalStore, data_type: Any) -> hitlkit.Event[Any]:
    return hitlkit.new_event(f"q{next(_names)}", data_type, store=store, serve=False, run_id="rv")


def answer_by_form(client: httpx.Client, event: hitlkit.Event[Any], pairs: list[Any]) -> Any:
    csrf = form_fields(client, f"/form/{event.request_id}")["csrf"]
    body = httpx.QueryParams([("request_id", event.request_id), ("csrf", csrf), *pairs])
    return client.post("/submit", content=str(body), headers=FORM)


def _formable(adapter: ValueAdapter[Any], value: object) -> bool:
    """Whether a form can say `value`: browsers send line breaks as CRLF; an empty optional
    field is no answer (None), not empty text; no box ticked is no choice, not None; boxes
    are ticked in the order of the choices."""
    if isinstance(value, list):
        return value == [o for o in adapter.shape.options if o in value]
    if isinstance(value, str):
        return "\r" not in value and (value != "" or not adapter.shape.nullable)
    return value is not None or adapter.shape.structure != "multi"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(types_and_values)
def test_a_form_and_a_json_answer_record_the_same_value(
    client: httpx.Client, app_store: LocalStore, typed: tuple[Any, Any]
) -> None:
    data_type, value = typed
    adapter = adapter_for(data_type)
    stored = adapter.dump(value)
    if not _formable(adapter, stored):
        return
    by_form, by_json = ask(app_store, data_type), ask(app_store, data_type)
    pairs = posted(adapter.form(data=stored))
    page = answer_by_form(client, by_form, pairs)
    assert page.status_code == 303, (pairs, page.text[-2000:])
    response = client.post(f"/api/events/{by_json.request_id}/answer", json={"value": stored})
    assert response.status_code == 200, response.text
    form_outcome, json_outcome = by_form.outcome(), by_json.outcome()
    assert form_outcome is not None
    assert json_outcome is not None
    assert form_outcome.value == json_outcome.value == stored
    assert by_form.wait() == by_json.wait() == value
