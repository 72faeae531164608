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

from hitlkit._exceptions import (
    AlreadyAnsweredError,
    CorruptRecordError,
    EventClosedError,
    EventNotFoundError,
    HitlError,
    InvalidValueError,
    NotAssignedError,
)
from hitlkit._server._auth import AuthFailure, auth_settings
from hitlkit._server._templates import render

__all__ = [
    "auth_failure_response",
    "error_response",
    "hitl_error_response",
    "install_error_handlers",
    "short",
]

log = logging.getLogger("hitlkit")

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}

_HTTP_MESSAGES = {
    400: "the request body could not be read",
    405: "this address does not accept {method} requests; see /docs",
}


def error_response(
    status_code: int,
    error: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A JSON error in the app's one shape."""
    return JSONResponse({"error": error, "message": message, **extra}, status_code, headers)


def short(text: str, length: int = 80) -> str:
    """`repr(text)`, cut to `length` characters, for echoing client input in a message."""
    shown = repr(text)
    return shown if len(shown) <= length else shown[: length - 3] + "..."


def hitl_error_response(exc: HitlError) -> JSONResponse:
    """The JSON response for an error raised by `hitlkit._ops`."""
    if isinstance(exc, EventNotFoundError):
        return error_response(404, "not_found", f"no event with id {short(exc.request_id)}")
    if isinstance(exc, NotAssignedError):
        return error_response(403, "not_assigned", str(exc))
    if isinstance(exc, InvalidValueError):
        return error_response(
            422, "invalid_value", str(exc), expected=exc.expected, errors=exc.errors
        )
    if isinstance(exc, AlreadyAnsweredError):
        outcome = exc.outcome.model_dump(mode="json")
        return error_response(409, "already_answered", str(exc), outcome=outcome)
    if isinstance(exc, EventClosedError):
        return error_response(410, "closed", str(exc), outcome=exc.outcome.model_dump(mode="json"))
    if isinstance(exc, CorruptRecordError):
        # The store's key and what is wrong, not the store's URL (a server path, for a folder).
        log.error("hitlkit app: %s", exc)
        message = f"the stored record {exc.key!r} cannot be read: {exc.reason}"
        return error_response(500, "corrupt_record", message, key=exc.key)
    # Anything else is a fault on this side; its text may name the store, so keep it in the log.
    log.error("hitlkit app: %s", exc)
    return error_response(500, "internal_error", "the app failed to handle this request")


def install_error_handlers(app: FastAPI) -> None:
    """Answer errors in the app's JSON shape (HTML for browsers at unknown addresses)."""
    app.add_exception_handler(HitlError, _on_hitl_error)
    app.add_exception_handler(AuthFailure, _on_auth_failure)
    app.add_exception_handler(RequestValidationError, _on_invalid_request)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)


async def _on_hitl_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HitlError)
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
            message=str(exc),
            sign_in=sign_in,
        )
        response.headers.update(headers or {})
        return response
    return error_response(exc.status_code, exc.error, str(exc), headers=headers)


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
        422,
        "invalid_request",
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
        return error_response(404, "not_found", "there is nothing at this address; see /docs")
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    template = _HTTP_MESSAGES.get(exc.status_code)
    message = template.format(method=request.method) if template else str(exc.detail)
    return error_response(exc.status_code, code, message, headers=exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    return error_response(500, "internal_error", "the app failed to handle this request")


def _detail(error: Any) -> dict[str, Any]:
    # Only where and what: the rejected input is the client's own, and may be large.
    msg = str(error.get("msg", ""))
    if error.get("type") == "json_invalid" and "error" in error.get("ctx", {}):
        msg = f"{msg}: {error['ctx']['error']}"
    return {"loc": list(error.get("loc", ())), "msg": msg}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")
