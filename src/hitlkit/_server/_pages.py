"""HTML routes: an event's page (its answer form, or how it ended) and the static files.

An answer link opened in a browser (`/form/{id}?token=...`) is kept in a cookie of
that event (`hitl_link_<id>`, HttpOnly, SameSite=Strict, until the link expires):
the form posts with the link's authority without the link ever being written into
the page. The form's posts are `hitlkit._server._page_posts`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from hitlkit import _audit, _policy_ops, _reading
from hitlkit._exceptions import EventNotFoundError, InvalidValueError, UnsupportedTypeError
from hitlkit._options import MAX_REASON_LENGTH
from hitlkit._records import EventRecord, is_approval, is_event_id, utcnow
from hitlkit._server._allowed import may_answer, may_cancel
from hitlkit._server._auth import AuthFailure, Caller, auth_settings, authenticate, signed_in
from hitlkit._server._context import LINK_COOKIE, get_cookie, set_cookie, store_of
from hitlkit._server._csrf import csrf_field, set_csrf_cookie
from hitlkit._server._flash import Done, read_done
from hitlkit._server._outcome_pages import Ended, resolved_page
from hitlkit._server._policy_view import GRANT_SECONDS, PolicyView, earlier_rounds, policy_view
from hitlkit._server._posts import error_page, first_field
from hitlkit._server._templates import SCRIPT, STYLESHEET, render, shown
from hitlkit._store import Store
from hitlkit._tokens import TOKEN_PREFIX
from hitlkit._values import FormField, adapter_of, error_names

__all__ = ["CancelForm", "form_page", "not_assigned", "not_found", "page_caller", "router"]


router = APIRouter(include_in_schema=False)

FOLLOW_MARGIN = timedelta(seconds=5)

_STATIC_HEADERS = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}


@router.get("/static/hitlkit.css")
async def stylesheet() -> Response:
    """The one stylesheet; pages have no inline styles or scripts."""
    return Response(STYLESHEET, media_type="text/css", headers=_STATIC_HEADERS)


@router.get("/static/hitlkit.js")
async def script() -> Response:
    """The one script: live updates of the inbox. Every page works without it."""
    return Response(SCRIPT, media_type="text/javascript", headers=_STATIC_HEADERS)


@router.get("/form/{request_id}", response_class=HTMLResponse)
async def form(request: Request, request_id: str) -> HTMLResponse:
    """The answer form, or how the event ended. `?token=` carries an answer link."""
    store = store_of(request)
    link = request.query_params.get("token") or None
    caller = page_caller(request, request_id, needs="read", link=link)
    try:
        state = await _reading.get_event_state(store, request_id)
    except EventNotFoundError:
        return not_found(request)
    done = read_done(request, auth_settings(request).keys, state.record.id)
    if state.status != "pending":
        audit, ended = await asyncio.gather(
            _audit.read_audit(store, request_id), _ended_under_policy(store, state.record)
        )
        response = resolved_page(
            request, state.record, state.outcome, audit=audit, done=done, policy=ended
        )
    else:
        view = await policy_view(store, state.record, caller) if state.record.policy else None
        response = form_page(request, state.record, caller=caller, policy=view, done=done)
    if link is not None and caller.kind == "link":
        _keep_link(request, response, state.record.id, caller)
    return response


async def _ended_under_policy(store: Store, record: EventRecord) -> Ended | None:
    """How a resolved event stands under its policy, with the rounds before it."""
    if record.policy is None:
        return None
    state, rounds = await asyncio.gather(
        _policy_ops.current_state(store, record), earlier_rounds(store, record)
    )
    return Ended(state, rounds)


def page_caller(
    request: Request,
    request_id: str,
    *,
    needs: Literal["read", "answer", "all"],
    link: str | None = None,
) -> Caller:
    """Who asks about `request_id` from a browser: its sign-in, else the answer link.

    A signed-in browser is always its session. Any other site can send the browser
    to a link of its own (`/form/{id}?token=...`, whose link the page then keeps in
    the event's cookie) but cannot sign it in: a link must not take the place of the
    person signed in, who would answer as its identity, or be refused as not assigned.
    Without a sign-in: `link` (from the URL), else the event's link cookie. A link
    cookie that no longer counts (expired, signed with a retired secret) does not hide
    the app's answer without one; when that fails too, its refusal says why.
    """
    session = signed_in(request)
    if link is not None and (session is None or link.startswith(TOKEN_PREFIX)):
        # An API token in the URL is refused even so: it must not be left in histories.
        return authenticate(request, request_id=request_id, link=link, needs=needs, html=True)
    if session is not None:
        return authenticate(request, request_id=request_id, needs=needs, html=True)
    cookie = get_cookie(request, LINK_COOKIE + request_id) if is_event_id(request_id) else None
    if not cookie:
        return authenticate(request, request_id=request_id, needs=needs, html=True)
    try:
        return authenticate(request, request_id=request_id, link=cookie, needs=needs, html=True)
    except AuthFailure as refused:
        try:
            return authenticate(request, request_id=request_id, needs=needs, html=True)
        except AuthFailure:
            raise refused from None


def _keep_link(request: Request, response: Response, request_id: str, caller: Caller) -> None:
    """Keep the link the form was opened with in a cookie of its event, until it expires."""
    link = caller.binding.removeprefix("link:") if caller.kind == "link" and caller.binding else ""
    if not link or caller.expires_at is None:
        return
    seconds = int((caller.expires_at - utcnow()).total_seconds())
    if seconds > 0:
        set_cookie(request, response, LINK_COOKIE + request_id, link, max_age=seconds)


def form_page(
    request: Request,
    record: EventRecord,
    *,
    caller: Caller,
    error: str | None = None,
    posted: Mapping[str, Sequence[str]] | None = None,
    invalid: InvalidValueError | None = None,
    by: str = "",
    status_code: int = 200,
    cancel: CancelForm | None = None,
    policy: PolicyView | None = None,
    done: Done | None = None,
) -> HTMLResponse:
    """The answer form of a pending event, as `caller` may use it (`hitlkit._server._allowed`).

    Shown again after a post that needs another try: with the posted fields and what
    was wrong (`error`, `invalid`), or with the cancel form's reason and error (`cancel`).
    Under a policy (`policy`), the page shows where the event stands and offers only what
    this caller may do; `done` says how this browser's last post fared (a vote recorded).
    """
    # int, float, str and bool are asked in one input (yes and no buttons for bool),
    # other types in the fields of their form; both are read by `parse_form`.
    try:
        adapter = adapter_of(record)
    except UnsupportedTypeError as exc:  # a record written by hand: say why, and stop
        message = f"This event cannot be answered: its {exc}."
        return error_page(request, 422, "Cannot be answered", message)
    fields: FormField | None = None
    if adapter.plain:
        error = str(invalid) if invalid is not None else error
    else:
        errors = error_names(invalid.errors) if invalid is not None else None
        fields = adapter.form(data=record.initial, posted=posted, errors=errors)
        fields.description = record.description or fields.description
    cookie, csrf = csrf_field(request, auth_settings(request).csrf_key, caller.binding)
    response = render(
        request,
        "form.html",
        status_code=status_code,
        record=record,
        fields=fields,
        error=error,
        kept=first_field(posted or {}, "value"),
        # An approval's page has its own two fields: what was wrong, and the reason typed.
        approval_error=str(invalid) if invalid is not None and is_approval(record) else None,
        kept_reason=first_field(posted or {}, "value.reason"),
        kept_comment=first_field(posted or {}, "comment"),
        by=by,
        default_shown=shown(record.default) if record.has_default else None,
        csrf=csrf,
        answering_as=None if caller.kind == "nobody" else caller.by(None),
        identity=caller.identity,
        may_answer=may_answer(caller, record) if policy is None else policy.role in _ANSWERING,
        policy=policy,
        done=done,
        app_has_tokens=auth_settings(request).required,
        grant_seconds=GRANT_SECONDS,
        may_cancel=may_cancel(caller, record),
        cancel=cancel or CancelForm(),
        max_reason=MAX_REASON_LENGTH,
        # The page's stream starts with what was recorded since just before the page read
        # the event: an answer landing before the stream opens is not missed.
        follow_since=f"{(utcnow() - FOLLOW_MARGIN).timestamp():.3f}",
    )
    set_csrf_cookie(request, response, cookie)
    return response


_ANSWERING = ("answer", "anyone")


@dataclass(frozen=True)
class CancelForm:
    """The cancel form as posted: the reason typed, what was wrong, and the name given."""

    reason: str = ""
    error: str | None = None
    by: str = ""


def not_found(request: Request) -> HTMLResponse:
    message = (
        "No event has this address. It may belong to another store, or the link is incomplete."
    )
    return error_page(request, 404, "Event not found", message)


def not_assigned(request: Request, doing: str = "your answer was not recorded") -> HTMLResponse:
    message = f"This event is assigned to other people, so {doing}."
    return error_page(request, 403, "Assigned to someone else", message)
