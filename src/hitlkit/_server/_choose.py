"""One-click choice links: `GET /choose/{id}?token=...` asks to confirm, `POST` records.

A choice link (`hitlkit._links.sign_choice_link`, sent by e-mail or Teams) names one
answer. Opening it only shows the event, the answer and who it will be recorded as,
with one button: mail and chat link scanners open links but never press buttons, so
they answer nothing. The button posts the token back with a form token bound to it
(`hitlkit._server._csrf`, binding `choice:<token>`), and only then is the answer
recorded, through the event's assignees and policy like any other, with the channel
the link was sent through.

The token is the credential: these routes take no API token or sign-in, exactly as
answer links need none. Without `HITL_SECRET` no link can be verified (503).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from hitlkit import _ops, _policy_ops, _reading
from hitlkit._choices import choices_for
from hitlkit._exceptions import (
    AlreadyAnsweredError,
    EventClosedError,
    EventNotFoundError,
    EventResolvedError,
    GrantError,
    IdentityRequiredError,
    InvalidLinkError,
    InvalidValueError,
    NotAssignedError,
    SeparationOfDutiesError,
    VoteChangedError,
)
from hitlkit._links import ChoiceLink, verify_choice_link
from hitlkit._reading import EventState
from hitlkit._records import EventRecord, Outcome
from hitlkit._server._auth import LINK_IDENTITY, auth_settings
from hitlkit._server._context import store_of
from hitlkit._server._csrf import FIELD, csrf_field, csrf_valid
from hitlkit._server._pages import not_assigned, not_found
from hitlkit._server._posts import BadForm, error_page, first_field, form_fields
from hitlkit._server._templates import render, shown

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_UNSIGNED = (
    "Choice links need HITL_SECRET: this app has none, so it cannot tell a real link "
    "from a forged one. Nothing was recorded; open the event's form instead."
)
_FORGED = "This confirmation expired or was not sent from this page. Press the button again."


class _Refused(Exception):
    """A choice link that cannot be used: the page saying why."""

    def __init__(self, response: HTMLResponse) -> None:
        super().__init__()
        self.response = response


def _verify(request: Request, request_id: str, token: str) -> ChoiceLink:
    """The choice link `token` for `request_id`, or `_Refused` with the page saying why."""
    settings = auth_settings(request)
    if settings.secret is None:
        raise _Refused(error_page(request, 503, "Choice links are off", _UNSIGNED))
    try:
        return verify_choice_link(
            settings.secret, token, request_id=request_id, previous=settings.previous_secrets
        )
    except InvalidLinkError as exc:
        if exc.reason == "expired":
            page = error_page(
                request, 410, "Link expired", f"{_sentence(exc)} Nothing was recorded."
            )
        elif exc.reason == "other_event":
            page = error_page(request, 403, "Link for another event", f"{_sentence(exc)}.")
        else:
            page = error_page(request, 403, "Link not valid", f"{_sentence(exc)}.")
        raise _Refused(page) from None


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:]


def _label(record: EventRecord, value: Any) -> str:
    """How the page names the chosen answer: Approve, Reject, or the choice."""
    for label, offered in choices_for(record):
        if offered == value:
            return label
    return shown(value)


def _by(link: ChoiceLink) -> str:
    return link.identity or LINK_IDENTITY


@router.get("/choose/{request_id}", response_class=HTMLResponse)
async def confirm(request: Request, request_id: str) -> HTMLResponse:
    """The confirmation page of a choice link: what will be recorded, and one button.
    Reading it records nothing."""
    token = request.query_params.get("token") or ""
    try:
        link = _verify(request, request_id, token)
        state = await _reading.get_event_state(store_of(request), request_id)
    except _Refused as refused:
        return refused.response
    except EventNotFoundError:
        return not_found(request)
    if state.status != "pending":
        return _ended(request, state)
    record = state.record
    unassigned = record.assignees is not None and link.identity not in record.assignees
    if record.policy is None and unassigned:
        return not_assigned(request, doing="this link cannot answer it")
    return _confirm_page(request, record, link, token)


def _confirm_page(
    request: Request,
    record: EventRecord,
    link: ChoiceLink,
    token: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    label = _label(record, link.value)
    _, csrf = csrf_field(request, auth_settings(request).csrf_key, f"choice:{token}")
    return render(
        request,
        "choose.html",
        status_code=status_code,
        stage="confirm",
        headline=f"Confirm: {label}",
        record=record,
        label=label,
        by=_by(link),
        token=token,
        csrf=csrf,
        error=error,
    )


@router.post("/choose/{request_id}", response_model=None)
async def choose(request: Request, request_id: str) -> Response:
    """Record the answer a confirmed choice link names, and show how it went."""
    store = store_of(request)
    try:
        fields = await form_fields(request)
    except BadForm as exc:
        return error_page(request, exc.status_code, exc.title, str(exc))
    token = first_field(fields, "token")
    try:
        link = _verify(request, request_id, token)
        record = await _reading.load_event(store, request_id)
    except _Refused as refused:
        return refused.response
    except EventNotFoundError:
        return not_found(request)
    keys = auth_settings(request).keys
    if not csrf_valid(request, keys, f"choice:{token}", first_field(fields, FIELD)):
        return _confirm_page(request, record, link, token, error=_FORGED, status_code=403)
    return await _record(request, record, link)


async def _record(request: Request, record: EventRecord, link: ChoiceLink) -> HTMLResponse:
    store = store_of(request)
    label = _label(record, link.value)
    try:
        answered = await _ops.answer_event(
            store,
            record.id,
            link.value,
            by=_by(link),
            via=link.channel,
            proof="link" if link.identity else "declared",
        )
    except NotAssignedError:
        return not_assigned(request)
    except (SeparationOfDutiesError, IdentityRequiredError, GrantError) as exc:
        return error_page(request, 403, "Not recorded", f"{_sentence(exc)}. Nothing was recorded.")
    except VoteChangedError as exc:
        return error_page(request, 409, "Your vote stands", f"{_sentence(exc)}.")
    except InvalidValueError as exc:
        return error_page(request, 422, "Answer does not fit", f"{_sentence(exc)}.")
    except (AlreadyAnsweredError, EventClosedError, EventResolvedError):
        state = await _reading.get_event_state(store, record.id)
        return _ended(request, state, attempted=label)
    if answered.outcome is None:  # a vote that decides nothing yet
        summary = (await _policy_ops.current_state(store, record)).summary
        lead = f"Your vote ({label}) is recorded; waiting for others: {summary}."
        if answered.already_recorded:
            lead = f"Your vote ({label}) had already been recorded; {summary}."
        return _result(request, record, None, 202, "Vote recorded", lead, tone="ok")
    lead = f"{label}, recorded as {answered.outcome.by or _by(link)}."
    if answered.already_recorded:
        lead = f"{label} had already been recorded as {answered.outcome.by or _by(link)}."
    return _result(request, record, answered.outcome, 200, "Answer recorded", lead, tone="ok")


def _ended(request: Request, state: EventState, *, attempted: str | None = None) -> HTMLResponse:
    """The page for an event that takes no more answers: 409 with who answered, else 410."""
    outcome = state.outcome
    mine = f" Your choice ({attempted}) was not recorded." if attempted else ""
    if outcome is not None and outcome.status == "answered":
        lead = f"{outcome.by or 'Someone'} answered first: {shown(outcome.value)}.{mine}"
        return _result(request, state.record, outcome, 409, "Already answered", lead)
    lead = f"This event is closed ({state.status.replace('_', ' ')}).{mine}"
    return _result(request, state.record, outcome, 410, "Closed", lead)


def _result(
    request: Request,
    record: EventRecord,
    outcome: Outcome | None,
    status_code: int,
    headline: str,
    lead: str,
    *,
    tone: str = "warn",
) -> HTMLResponse:
    return render(
        request,
        "choose.html",
        status_code=status_code,
        stage="result",
        headline=headline,
        lead=lead,
        tone=tone,
        record=record,
        outcome=outcome,
        event_status=outcome.status if outcome else ("pending" if status_code < 300 else "expired"),
    )
