"""HTML routes: the answer form, the form's post, and the static files.

An answer link opened in a browser (`/form/{id}?token=...`) is kept in a cookie of
that event (`hitl_link_<id>`, HttpOnly, SameSite=Strict, until the link expires):
the form posts with the link's authority without the link ever being written into
the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from hitlkit import _audit, _ops, _reading
from hitlkit._exceptions import (
    AlreadyAnsweredError,
    EventNotFoundError,
    EventResolvedError,
    InvalidValueError,
    NotAssignedError,
)
from hitlkit._ops import Answered
from hitlkit._records import EventRecord, Outcome, is_event_id, utcnow
from hitlkit._server._auth import AuthFailure, Caller, auth_settings, authenticate, signed_in
from hitlkit._server._context import (
    LINK_COOKIE,
    get_cookie,
    set_cookie,
    store_of,
)
from hitlkit._server._csrf import FIELD, csrf_field, csrf_valid, set_csrf_cookie
from hitlkit._server._posts import BadForm, error_page, first_field, form_fields
from hitlkit._server._templates import SCRIPT, STYLESHEET, render, shown
from hitlkit._server._views import MAX_BY_LENGTH
from hitlkit._store import Store
from hitlkit._tokens import TOKEN_PREFIX
from hitlkit._values import FormField, adapter_of, error_names

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

FOLLOW_MARGIN = timedelta(seconds=5)

_RESOLVED_LEADS = {
    "answered": "This event has been answered; the first answer counts.",
    "timed_out": "The deadline passed with no answer.",
    "defaulted": "The deadline passed with no answer, so the default was used.",
    "cancelled": "This event was called off.",
}


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
    caller = _page_caller(request, request_id, needs="read", link=link)
    try:
        state = await _reading.get_event_state(store, request_id)
    except EventNotFoundError:
        return _not_found(request)
    if state.status != "pending":
        audit = await _audit.read_audit(store, request_id)
        response = _resolved_page(request, state.record, state.outcome, audit=audit)
    else:
        response = _form_page(request, state.record, caller=caller)
    if link is not None and caller.kind == "link":
        _keep_link(request, response, state.record.id, caller)
    return response


def _page_caller(
    request: Request,
    request_id: str,
    *,
    needs: Literal["read", "answer"],
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


@router.post("/submit", response_class=HTMLResponse)
async def submit(request: Request) -> HTMLResponse:
    """Record the form's answer, or show the form again with what was wrong."""
    store = store_of(request)
    try:
        fields = await form_fields(request)
    except BadForm as exc:
        return error_page(request, exc.status_code, exc.title, str(exc))
    by = " ".join(first_field(fields, "by").split())[:MAX_BY_LENGTH]
    request_id = first_field(fields, "request_id")
    caller = _page_caller(request, request_id, needs="answer")
    try:
        record = await _reading.load_event(store, request_id)
    except EventNotFoundError:
        return _not_found(request)
    form = _Form(request, record, caller, by)
    if not csrf_valid(
        request, auth_settings(request).keys, caller.binding, first_field(fields, FIELD)
    ):
        return await _forged(form, store, fields)
    return await _submit_fields(form, store, fields)


@dataclass(frozen=True)
class _Form:
    """What it takes to show a posted form again: the event, and who posts."""

    request: Request
    record: EventRecord
    caller: Caller
    by: str

    def again(self, **options: Any) -> HTMLResponse:
        return _form_page(self.request, self.record, caller=self.caller, by=self.by, **options)


async def _forged(form: _Form, store: Store, fields: dict[str, list[str]]) -> HTMLResponse:
    """A post without its form token: how the event ended, or the form again to resubmit."""
    record = form.record
    outcome = await _reading.load_outcome(store, record.id)
    if outcome is not None or record.is_expired():  # nothing to submit again
        audit = await _audit.read_audit(store, record.id)
        return _resolved_page(form.request, record, outcome, audit=audit)
    error = "This form expired or was not sent from this page. Please submit it again."
    return form.again(error=error, posted=fields, status_code=403)


async def _submit_fields(form: _Form, store: Store, fields: dict[str, list[str]]) -> HTMLResponse:
    """Answer an event from its form fields, or show them again with what was wrong."""
    request, record = form.request, form.record
    # Browsers send textarea line breaks as CRLF.
    posted = {k: [v.replace("\r\n", "\n") for v in vs] for k, vs in fields.items()}
    value: Any = None
    try:
        value = adapter_of(record).parse_form(posted)
        answered = await _ops.answer_event(
            store, record.id, value, by=form.caller.by(form.by), via="form"
        )
    except NotAssignedError:
        return _not_assigned(request)
    except InvalidValueError as exc:
        return form.again(posted=posted, invalid=exc, status_code=422)
    except EventResolvedError as exc:
        return _late_page(request, record, exc, shown(value))
    return _recorded_page(request, record, answered)


def _recorded_page(request: Request, record: EventRecord, answered: Answered) -> HTMLResponse:
    # A retry (the same answer sent again, say after a lost reply) is a success too.
    outcome = answered.outcome
    lead = "Thank you. The workflow can continue."
    if answered.already_recorded:
        lead = "Your answer had already been recorded. The workflow can continue."
    return _outcome_page(
        request,
        record,
        outcome,
        headline=f"Recorded: {_cut(shown(outcome.value))}",
        lead=lead,
        tone="ok",
    )


def _form_page(
    request: Request,
    record: EventRecord,
    *,
    caller: Caller,
    error: str | None = None,
    posted: Mapping[str, Sequence[str]] | None = None,
    invalid: InvalidValueError | None = None,
    by: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    # int, float, str and bool are asked in one input (yes and no buttons for bool),
    # other types in the fields of their form; both are read by `parse_form`.
    adapter = adapter_of(record)
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
        by=by,
        default_shown=shown(record.default) if record.has_default else None,
        csrf=csrf,
        answering_as=None if caller.kind == "nobody" else caller.by(None),
        # The page's stream starts with what was recorded since just before the page read
        # the event: an answer landing before the stream opens is not missed.
        follow_since=f"{(utcnow() - FOLLOW_MARGIN).timestamp():.3f}",
    )
    set_csrf_cookie(request, response, cookie)
    return response


def _resolved_page(
    request: Request,
    record: EventRecord,
    outcome: Outcome | None,
    *,
    audit: list[_audit.AuditEntry],
) -> HTMLResponse:
    if outcome is None:  # past the deadline, nothing recorded yet
        lead = "The deadline passed; this event takes no more answers."
        if record.has_default:
            lead += f" Its default, {_cut(shown(record.default))}, will be used."
        return _outcome_page(
            request, record, None, headline="Closed", lead=lead, tone="muted", audit=audit
        )
    headline = {"answered": "Answered", "timed_out": "Timed out", "cancelled": "Cancelled"}.get(
        outcome.status, "Default used"
    )
    tone = "ok" if outcome.status == "answered" else "muted"
    lead = _RESOLVED_LEADS[outcome.status]
    return _outcome_page(
        request, record, outcome, headline=headline, lead=lead, tone=tone, audit=audit
    )


def _late_page(
    request: Request, record: EventRecord, exc: EventResolvedError, value: str
) -> HTMLResponse:
    if isinstance(exc, AlreadyAnsweredError):
        headline, status_code = "Already answered", 409
        lead = "Someone answered first, and the first answer counts. Yours was not recorded."
    else:
        headline, status_code = "Closed", 410
        lead = "This event stopped taking answers before yours arrived. Yours was not recorded."
    return _outcome_page(
        request,
        record,
        exc.outcome,
        status_code=status_code,
        headline=headline,
        lead=lead,
        tone="warn",
        attempted=value,
    )


def _outcome_page(
    request: Request,
    record: EventRecord,
    outcome: Outcome | None,
    *,
    headline: str,
    lead: str,
    tone: str,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    context = {"attempted": None, "audit": [], **extra}
    return render(
        request,
        "outcome.html",
        status_code=status_code,
        record=record,
        outcome=outcome,
        headline=headline,
        lead=lead,
        tone=tone,
        **context,
    )


def _not_found(request: Request) -> HTMLResponse:
    message = (
        "No event has this address. It may belong to another store, or the link is incomplete."
    )
    return error_page(request, 404, "Event not found", message)


def _not_assigned(request: Request) -> HTMLResponse:
    message = "This event is assigned to other people, so your answer was not recorded."
    return error_page(request, 403, "Assigned to someone else", message)


def _cut(text: str, length: int = 60) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
