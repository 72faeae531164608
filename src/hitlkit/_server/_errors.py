"""Errors as responses: `{"error": code, "message": sentence, ...}` for every JSON error."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hitlkit import _errors
from hitlkit._errors import ErrorCode
from hitlkit._exceptions import (
    CorruptRecordError,
    EventNotFoundError,
    EventResolvedError,
    HitlError,
    InvalidValueError,
    StoreUnavailableError,
)
from hitlkit._server._auth import AuthFailure, auth_settings
from hitlkit._server._templates import render

__all__ = [
    "auth_failure_response",
    "corrupt_record_response",
    "error_response",
    "hitl_error_reply",
    "hitl_error_response",
    "install_error_handlers",
    "short",
    "store_unavailable_response",
]

log = logging.getLogger("hitlkit")

_HTTP_CODES = {
    row.status: row
    for row in (
        _errors.BAD_REQUEST,
        _errors.NOT_FOUND,
        _errors.METHOD_NOT_ALLOWED,
        _errors.PAYLOAD_TOO_LARGE,
        _errors.UNSUPPORTED_MEDIA_TYPE,
    )
}

RETRY_AFTER_SECONDS = 5
"""What a 503 for a store that does not answer tells clients to wait before trying again."""

_HTTP_MESSAGES = {
    400: "the request body could not be read",
    405: "this address does not accept {method} requests; see /docs",
}


def error_response(
    error: ErrorCode,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A JSON error in the app's one shape, with the status of its code."""
    return JSONResponse({"error": error.code, "message": message, **extra}, error.status, headers)


def short(text: str, length: int = 80) -> str:
    """`repr(text)`, cut to `length` characters, for echoing client input in a message."""
    shown = repr(text)
    return shown if len(shown) <= length else shown[: length - 3] + "..."


def hitl_error_response(exc: HitlError) -> JSONResponse:
    """The JSON response for an error raised by `hitlkit._ops`: its code in the error table."""
    error = _errors.code_of(exc)
    if isinstance(exc, StoreUnavailableError):
        return store_unavailable_response(exc)
    if isinstance(exc, CorruptRecordError):
        return corrupt_record_response(exc)
    if error is _errors.INTERNAL_ERROR:
        # A fault on this side; its text may name the store, so keep it in the log.
        log.error("hitlkit app: %s", exc)
        return error_response(error, "the app failed to handle this request")
    if isinstance(exc, EventNotFoundError):
        return error_response(error, f"no event with id {short(exc.request_id)}")
    if isinstance(exc, InvalidValueError):
        return error_response(error, str(exc), expected=exc.expected, errors=exc.errors)
    if isinstance(exc, EventResolvedError):
        return error_response(error, str(exc), outcome=exc.outcome.model_dump(mode="json"))
    return error_response(error, str(exc))


_RETRY_AFTER = {"Retry-After": str(RETRY_AFTER_SECONDS)}


def store_unavailable_response(exc: StoreUnavailableError) -> JSONResponse:
    """503 with `Retry-After`: the store did not answer, nothing was recorded."""
    log.error("hitlkit app: %s", exc)
    return error_response(
        _errors.STORE_UNAVAILABLE, _unavailable(exc), headers=_RETRY_AFTER, cause=exc.cause
    )


def corrupt_record_response(exc: CorruptRecordError) -> JSONResponse:
    """500 naming the bad record by its store key (never a server path)."""
    log.error("hitlkit app: %s", exc)
    return error_response(_errors.CORRUPT_RECORD, _corrupt(exc), key=exc.key, reason=exc.reason)


def _unavailable(exc: StoreUnavailableError) -> str:
    # The cause names no path or address; the store's URL may be a server path: not shown.
    return f"the store did not answer ({exc.cause}); nothing was recorded, try again later"


def _corrupt(exc: CorruptRecordError) -> str:
    return f"the stored record {exc.key} cannot be read: {exc.reason}; run `hitl doctor`"


def install_error_handlers(app: FastAPI) -> None:
    """Answer errors in the app's JSON shape (HTML for browsers at unknown addresses)."""
    app.add_exception_handler(HitlError, _on_hitl_error)
    app.add_exception_handler(AuthFailure, _on_auth_failure)
    app.add_exception_handler(RequestValidationError, _on_invalid_request)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)


async def _on_hitl_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HitlError)
    return hitl_error_reply(request, exc)


def hitl_error_reply(request: Request, exc: HitlError) -> Response:
    """The app's reply to a hitlkit error: JSON, or a page for a person's browser where
    the store failed (every route and `/submit/json`'s fast lane answer alike)."""
    if _wants_html(request):  # a person at a page (the inbox, a form): the same words, as a page
        if isinstance(exc, StoreUnavailableError):
            log.error("hitlkit app: %s", exc)
            page = render(
                request,
                "error.html",
                status_code=_errors.STORE_UNAVAILABLE.status,
                title="Storage unavailable",
                message=_unavailable(exc),
            )
            page.headers.update(_RETRY_AFTER)
            return page
        if isinstance(exc, CorruptRecordError):
            log.error("hitlkit app: %s", exc)
            return render(
                request,
                "error.html",
                status_code=_errors.CORRUPT_RECORD.status,
                title="Unreadable record",
                message=_corrupt(exc),
            )
    return hitl_error_response(exc)


async def _on_auth_failure(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuthFailure)
    return auth_failure_response(request, exc)


def auth_failure_response(request: Request, exc: AuthFailure) -> Response:
    """The response to a refused credential: a page where one was asked for, else JSON."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    if exc.html:
        title = "Sign-in needed" if exc.status_code == 401 else "Not allowed"
        sign_in = exc.status_code == 401 and auth_settings(request).required
        response = render(
            request,
            "error.html",
            status_code=exc.status_code,
            title=title,
            message=exc.for_people,
            sign_in=sign_in,
        )
        response.headers.update(headers or {})
        return response
    return error_response(exc.error, str(exc), headers=headers)


async def _on_invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [_detail(e) for e in exc.errors()]
    summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:3])
    hint = "see /docs"
    if any(e["loc"] == ["body"] for e in errors) and "json" not in request.headers.get(
        "content-type", ""
    ):
        hint = "send a JSON object with Content-Type: application/json"
    return error_response(
        _errors.INVALID_REQUEST,
        f"the request does not have the expected shape ({summary}); {hint}",
        errors=errors,
    )


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        if _wants_html(request):
            return render(
                request,
                "error.html",
                status_code=404,
                title="Page not found",
                message="There is nothing at this address.",
            )
        return error_response(_errors.NOT_FOUND, "there is nothing at this address; see /docs")
    template = _HTTP_MESSAGES.get(exc.status_code)
    message = template.format(method=request.method) if template else str(exc.detail)
    row = _HTTP_CODES.get(exc.status_code)
    if row is None:  # a status no route of this app raises: the one code off the table
        return JSONResponse(
            {"error": "http_error", "message": message}, exc.status_code, exc.headers
        )
    return error_response(row, message, headers=exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    return error_response(_errors.INTERNAL_ERROR, "the app failed to handle this request")


def _detail(error: Any) -> dict[str, Any]:
    # Only where and what: the rejected input is the client's own, and may be large.
    msg = str(error.get("msg", ""))
    if error.get("type") == "json_invalid" and "error" in error.get("ctx", {}):
        msg = f"{msg}: {error['ctx']['error']}"
    return {"loc": list(error.get("loc", ())), "msg": msg}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")
