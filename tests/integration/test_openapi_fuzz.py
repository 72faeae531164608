"""Generated requests against the app's own OpenAPI document, over real HTTP: no 5xx, and
every response (status, headers, body) matches what the document promises."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.result import Ok

import hitlkit
from hitlkit import LocalStore
from hitlkit._server import create_app
from hitlkit._tokens import create_token
from tests.integration.conftest import serve_in_thread

SECRET = "fuzz-secret-0123456789abcdef"
# Typed as str on Python 3.10 by schemathesis's stubs, an enum at run time.
POSITIVE: Any = GenerationMode.POSITIVE
NEGATIVE: Any = GenerationMode.NEGATIVE


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, list[str]]]:
    """An app with a tokens file and a few events; yields (base URL, API token, event ids)."""
    root = tmp_path_factory.mktemp("fuzz")
    store = LocalStore(root / "store")
    tokens = root / "tokens.json"
    token = create_token(tokens, "fuzzer")
    ids = [
        hitlkit.new_event(name, data_type, store=store, serve=False, run_id="fuzz").request_id
        for name, data_type in (("n", int), ("x", float), ("t", str), ("ok", bool))
    ]
    server, thread, port = serve_in_thread(create_app(store, tokens_file=tokens, secret=SECRET))
    yield f"http://127.0.0.1:{port}", token, ids
    server.should_exit = True
    thread.join(10)
    store.close()


@pytest.fixture(scope="module")
def api_schema(served: tuple[str, str, list[str]]) -> schemathesis.BaseSchema:
    base_url, _, _ = served
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    # The change streams stay open until the client leaves or their time is up: nothing to
    # check in one response (tests/security/test_change_streams.py checks their refusals).
    return schema.exclude(path_regex=r"^/api/(inbox/)?changes$")


# A schema-valid answer can still be the wrong type for its event (`value` is any JSON):
# 422 `invalid_value` there is right, so "valid data is accepted" is not checked.
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def fuzz(
    schema: schemathesis.BaseSchema, headers: dict[str, str], known_ids: list[str]
) -> list[str]:
    """Send valid and invalid generated requests to every operation, with random ids and
    with ids of real events; return the operations tried."""
    tried = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        valid = operation.as_strategy(generation_mode=POSITIVE)
        invalid = operation.as_strategy(generation_mode=NEGATIVE)
        strategies = [(valid, True), (invalid, False)]
        if "{request_id}" in operation.path:
            strategies.append((st.tuples(valid, st.sampled_from(known_ids)).map(_with_id), True))
        for strategy, must_run in strategies:

            @SETTINGS
            @given(case=strategy)
            def check(case: schemathesis.Case[Any]) -> None:
                case.call_and_validate(
                    headers=headers, timeout=10, excluded_checks=[positive_data_acceptance]
                )

            try:
                check()
            except Unsatisfiable:
                # Nothing invalid to send where an operation takes no input (GET /health).
                if must_run:
                    raise
        tried.append(f"{operation.method.upper()} {operation.path}")
    return tried


def _with_id(pair: tuple[schemathesis.Case[Any], str]) -> schemathesis.Case[Any]:
    case, request_id = pair
    case.path_parameters = {**(case.path_parameters or {}), "request_id": request_id}
    return case


def test_the_api_keeps_its_documented_promises(
    api_schema: schemathesis.BaseSchema, served: tuple[str, str, list[str]]
) -> None:
    _, token, ids = served
    tried = fuzz(api_schema, {"Authorization": f"Bearer {token}"}, ids)
    assert "POST /api/events/{request_id}/answer" in tried
    assert "POST /submit/json" in tried


def test_the_api_without_a_token_refuses_as_documented(
    api_schema: schemathesis.BaseSchema, served: tuple[str, str, list[str]]
) -> None:
    tried = fuzz(api_schema, {}, served[2])
    assert "GET /api/events" in tried
