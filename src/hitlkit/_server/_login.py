"""Signing a browser in with an API token, and out: `/login` and `/logout`.

Both posts carry the page's form token (`_csrf`); a sign-in starts a new session id
and drops any form token from before, so nothing planted earlier carries over.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hitlkit._server._auth import auth_settings
from hitlkit._server._context import delete_cookie, root_of
from hitlkit._server._csrf import COOKIE, FIELD, csrf_field, csrf_valid, set_csrf_cookie
from hitlkit._server._posts import BadForm, error_page, first_field, form_fields
from hitlkit._server._session import end_session, read_session, start_session
from hitlkit._server._templates import render
from hitlkit._tokens import TOKEN_PREFIX, token_hash

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> HTMLResponse:
    """Sign in with an API token, for the inbox and forms in a browser."""
    return _login_page(request)


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    """Check the token; sign the browser in and go to the inbox, or ask again."""
    try:
        fields = await form_fields(request)
    except BadForm as exc:
        return error_page(request, exc.status_code, exc.title, str(exc))
    settings = auth_settings(request)
    if not csrf_valid(request, settings.keys, None, first_field(fields, FIELD)):
        error = "This form expired or was not sent from this page. Please sign in again."
        return _login_page(request, error=error, status_code=403)
    token = first_field(fields, "token").strip()
    tokens = settings.tokens if token.startswith(TOKEN_PREFIX) else None  # the cheap check first
    if tokens is None or tokens.identify(token) is None:
        return _login_page(request, error="That token is not valid.", status_code=401)
    response = RedirectResponse(f"{root_of(request)}/", status_code=303)
    # A new session id, and no form token from before: nothing planted earlier carries over.
    start_session(request, response, settings.keys, token_hash(token))
    delete_cookie(request, response, COOKIE)
    return response


@router.post("/logout", response_model=None)
async def logout(request: Request) -> Response:
    """Sign the browser out (the page's form token needed), and go to the sign-in page."""
    try:
        fields = await form_fields(request)
    except BadForm as exc:
        return error_page(request, exc.status_code, exc.title, str(exc))
    settings = auth_settings(request)
    session = read_session(request, settings.keys)
    if session is not None and not csrf_valid(
        request, settings.keys, session.binding, first_field(fields, FIELD)
    ):
        message = "This form expired or was not sent from this page. Sign out from the page again."
        return error_page(request, 403, "Still signed in", message)
    page = "/login" if settings.required else "/"
    response = RedirectResponse(f"{root_of(request)}{page}", status_code=303)
    end_session(request, response)
    return response


def _login_page(
    request: Request, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    cookie, csrf = csrf_field(request, auth_settings(request).csrf_key, None)
    response = render(request, "login.html", status_code=status_code, csrf=csrf, error=error)
    set_csrf_cookie(request, response, cookie)
    return response
