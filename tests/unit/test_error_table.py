"""The error table (hitlkit._errors) is what the app answers, what `Client` raises, what
`hitl` exits with, and what the README says."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
import typer
from starlette.requests import Request

import hitlkit
from hitlkit import _errors
from hitlkit._cli_base import _reporting_errors
from hitlkit._client_backends import _error_from
from hitlkit._errors import ERRORS, LOCAL_ERRORS, ErrorCode
from hitlkit._exceptions import HitlError
from hitlkit._records import Outcome
from hitlkit._server._auth import AuthFailure
from hitlkit._server._errors import auth_failure_response, hitl_error_response

README = Path(__file__).parents[2] / "README.md"
EVENT_ID = "5f0c1a2b3c4d5e6f7a8b9c0d"
OUTCOME = Outcome(
    request_id=EVENT_ID,
    status="answered",
    value=3,
    by="ana",
    via="api",
    at=datetime(2025, 1, 31, tzinfo=timezone.utc),
)


def sample(exception: type[HitlError]) -> HitlError:
    """An instance of each exception, made as hitlkit makes it."""
    made: dict[type[HitlError], HitlError] = {
        hitlkit.EventNotFoundError: hitlkit.EventNotFoundError(EVENT_ID),
        hitlkit.InvalidValueError: hitlkit.InvalidValueError(
            "expected an integer, got 'x'", expected="an integer", got="x"
        ),
        hitlkit.AlreadyAnsweredError: hitlkit.AlreadyAnsweredError("answered first", OUTCOME),
        hitlkit.EventClosedError: hitlkit.EventClosedError("timed out", OUTCOME),
        hitlkit.EventCancelledError: hitlkit.EventCancelledError("cancelled", OUTCOME),
        hitlkit.CorruptRecordError: hitlkit.CorruptRecordError("events/x.json", "not JSON"),
        hitlkit.StoreUnavailableError: hitlkit.StoreUnavailableError("s3://b", "timed out"),
        hitlkit.InvalidLinkError: hitlkit.InvalidLinkError("expired", reason="expired"),
    }
    return made.get(exception) or exception(f"a {exception.__name__}")


def markdown_table() -> str:
    """The README's table, made from the error table."""
    lines = [
        "| `error` | HTTP | `Client` raises | `hitl` exits | meaning |",
        "|---|---|---|---|---|",
    ]
    for row in ERRORS:
        name = row.exception.__name__
        lines.append(
            f"| `{row.code}` | {row.status} | `{name}` | {row.exit_code} | {row.meaning} |"
        )
    for exception in LOCAL_ERRORS:
        doc = (exception.__doc__ or "").strip().splitlines()[0].rstrip(".")
        meaning = doc[0].lower() + doc[1:]
        exit_code = _errors.exit_code_of(exception)
        lines.append(f"| | | `{exception.__name__}` | {exit_code} | {meaning} |")
    return "\n".join(lines) + "\n"


def test_the_readme_shows_the_error_table() -> None:
    assert markdown_table() in README.read_text(), (
        "README.md's error table differs from hitlkit._errors; paste this in:\n" + markdown_table()
    )


def test_every_public_error_is_in_the_table() -> None:
    public = {
        getattr(hitlkit, name)
        for name in hitlkit.__all__
        if name.endswith("Error") and name not in ("HitlError", "EventResolvedError")
    }
    tabled = {row.exception for row in ERRORS} | set(LOCAL_ERRORS)
    assert public == tabled
    assert len({row.code for row in ERRORS}) == len(ERRORS)


def app_response(row: ErrorCode) -> tuple[int, dict[str, object]]:
    """What the app answers with when a check refuses with `row`."""
    if row.exception in (hitlkit.AccessDeniedError, hitlkit.InvalidLinkError):
        request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
        response = auth_failure_response(request, AuthFailure(row, "refused", html=False))
    elif row.exception is not hitlkit.TransportError:
        response = hitl_error_response(sample(row.exception))
    else:
        return row.status, {"error": row.code, "message": "refused"}
    return response.status_code, json.loads(bytes(response.body))


@pytest.mark.parametrize("row", ERRORS, ids=lambda row: row.code)
def test_the_app_answers_a_code_that_the_client_raises_again(row: ErrorCode) -> None:
    status, body = app_response(row)
    assert (status, body["error"]) == (row.status, row.code)

    raised = _error_from(status, body, f"/api/events/{EVENT_ID}/answer", endpoint="http://app")

    assert type(raised) is row.exception
    if isinstance(raised, hitlkit.EventResolvedError):
        assert raised.outcome == OUTCOME
    if isinstance(raised, hitlkit.InvalidLinkError):
        assert raised.reason == ("expired" if row is _errors.LINK_EXPIRED else "other_event")


@pytest.mark.parametrize(
    "exception", [hitlkit.ConfigurationError, hitlkit.EventTimeoutError, hitlkit.TransportError]
)
def test_an_error_without_a_code_of_its_own_is_the_apps_fault(
    exception: type[HitlError],
) -> None:
    response = hitl_error_response(sample(exception))
    assert response.status_code == 500
    assert json.loads(bytes(response.body))["error"] == "internal_error"


def test_a_code_at_another_status_is_not_believed() -> None:
    raised = _error_from(200, {"error": "not_found", "message": "odd"}, f"/api/events/{EVENT_ID}")
    assert type(raised) is hitlkit.TransportError
    assert re.search(r"odd \(HTTP 200\)", str(raised))


TABLED = sorted({row.exception for row in ERRORS} | set(LOCAL_ERRORS), key=lambda e: e.__name__)


@pytest.mark.parametrize("exception", TABLED, ids=[e.__name__ for e in TABLED])
def test_the_cli_exits_with_the_tables_code(
    exception: type[HitlError], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as exited, _reporting_errors():
        raise sample(exception)
    assert exited.value.exit_code == _errors.exit_code_of(exception) == _errors.EXIT_ERROR
    assert capsys.readouterr().err.startswith("error: ")


def test_ctrl_c_exits_130(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as exited, _reporting_errors():
        raise KeyboardInterrupt
    assert exited.value.exit_code == _errors.EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == "error: interrupted\n"
