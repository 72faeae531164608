"""The event page's posts: `POST /submit` (an answer) and `POST /cancel` (a cancel, with a reason).

Both check the sign-in or answer link (`hitlkit._server._pages.page_caller`) and the
form token (`hitlkit._server._csrf`), as every page post does. A post that did
something, or found the event resolved, is answered with 303 See Other to the
event's page (post/redirect/get): a reload shows that page again instead of posting
again, and the page says how the post fared (`hitlkit._server._flash`). A post that
needs another try (a value that does not fit, a reason too long, a form token missing
while the event is still open) shows the form again at once, with what was typed and
what was wrong (422, or 403).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from hitlkit import _ops, _reading
from hitlkit._exceptions import (
    EventNotFoundError,
    EventResolvedError,
    InvalidValueError,
    NotAssignedError,
)
from hitlkit._options import MAX_REASON_LENGTH
from hitlkit._records import EventRecord
from hitlkit._server._auth import Caller, auth_settings
from hitlkit._server._context import store_of
from hitlkit._server._csrf import FIELD, csrf_valid
from hitlkit._server._flash import Done, redirect_to_event
from hitlkit._server._pages import CancelForm, form_page, not_assigned, not_found, page_caller
from hitlkit._server._posts import BadForm, error_page, first_field, form_fields
from hitlkit._server._templates import shown
from hitlkit._server._views import MAX_BY_LENGTH
from hitlkit._store import Store

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_FORGED = "This form expired or was not sent from this page. Please submit it again."


@dataclass(frozen=True)
class _Post:
    """A page's post: who sent it, about which event, and its fields."""

    request: Request
    store: Store
    record: EventRecord
    caller: Caller
    fields: dict[str, list[str]]

    @property
    def by(self) -> str:
        """The name typed (without a credential), on one line and cut to size."""
        return " ".join(first_field(self.fields, "by").split())[:MAX_BY_LENGTH]

    def again(self, **options: Any) -> HTMLResponse:
        """The event's form again, for another try."""
        return form_page(self.request, self.record, caller=self.caller, **options)

    def redirect(self, done: Done | None = None) -> Response:
        """To the event's page, which says how this post fared (`done`)."""
        keys = auth_settings(self.request).keys
        return redirect_to_event(self.request, keys, self.record.id, done)

    async def resolved(self) -> bool:
        """Whether the event takes no more answers (an outcome, or its deadline passed)."""
        outcome = await _reading.load_outcome(self.store, self.record.id)
        return outcome is not None or self.record.is_expired()


_Needs = Literal["answer", "all"]


async def _read_post(request: Request, *, needs: _Needs) -> _Post | Response:
    """The post, checked for its sign-in or link and its form token; else the page to answer."""
    store = store_of(request)
    try:
        fields = await form_fields(request)
    except BadForm as exc:
        return error_page(request, exc.status_code, exc.title, str(exc))
    request_id = first_field(fields, "request_id")
    caller = page_caller(request, request_id, needs=needs)
    try:
        record = await _reading.load_event(store, request_id)
    except EventNotFoundError:
        return not_found(request)
    post = _Post(request, store, record, caller, fields)
    if csrf_valid(request, auth_settings(request).keys, caller.binding, first_field(fields, FIELD)):
        return post
    if await post.resolved():  # nothing to send again: show how it ended
        return post.redirect()
    return _forged(post, needs)


def _forged(post: _Post, needs: _Needs) -> Response:
    """A post without its form token while the event is open: the form again, to resend."""
    if needs == "all":
        cancel = CancelForm(reason=_reason(post.fields), error=_FORGED, by=post.by)
        return post.again(cancel=cancel, by=post.by, status_code=403)
    return post.again(error=_FORGED, posted=post.fields, by=post.by, status_code=403)


@router.post("/submit", response_model=None)
async def submit(request: Request) -> Response:
    """Record the form's answer and go to the event's page, or show the form again."""
    post = await _read_post(request, needs="answer")
    if not isinstance(post, _Post):
        return post
    # Browsers send textarea line breaks as CRLF.
    posted = {k: [v.replace("\r\n", "\n") for v in vs] for k, vs in post.fields.items()}
    value: Any = None
    by = post.caller.by(post.by)
    try:
        # Who may answer first: someone else never makes the app read and check a value.
        await _ops.refuse_unassigned(post.store, post.record, by=by, via="form", doing="answer")
        value = _ops.answers_of(post.record).parse_form(posted)
        answered = await _ops.answer_event(post.store, post.record.id, value, by=by, via="form")
    except NotAssignedError:
        return not_assigned(request)
    except InvalidValueError as exc:
        return post.again(posted=posted, invalid=exc, by=post.by, status_code=422)
    except EventResolvedError:
        return post.redirect(Done("late", attempted=shown(value)))
    # A retry (the same answer sent again, say after a lost reply) is a success too.
    return post.redirect(Done("retry" if answered.already_recorded else "recorded"))


@router.post("/cancel", response_model=None)
async def cancel(request: Request) -> Response:
    """Call the event off with the reason given and go to its page, or show the form again.

    Allowed to whoever `POST /api/events/{id}/cancel` allows (an API token or a
    sign-in with one, or anyone where the app has no tokens; an event's assignees
    only), never through an answer link.
    """
    post = await _read_post(request, needs="all")
    if not isinstance(post, _Post):
        return post
    reason = _reason(post.fields)
    if len(reason) > MAX_REASON_LENGTH:
        error = (
            f"The reason is {len(reason)} characters long; at most {MAX_REASON_LENGTH} are kept."
        )
        cancel = CancelForm(reason=reason, error=error, by=post.by)
        return post.again(cancel=cancel, by=post.by, status_code=422)
    try:
        await _ops.cancel_event(
            post.store,
            post.record.id,
            by=post.caller.by(post.by),
            via="form",
            reason=reason or None,
            assignees_only=True,
        )
    except NotAssignedError:
        return not_assigned(request, doing="it was not cancelled")
    except EventResolvedError:
        return post.redirect(Done("late"))
    return post.redirect(Done("cancelled"))


def _reason(fields: dict[str, list[str]]) -> str:
    # Browsers send textarea line breaks as CRLF.
    return first_field(fields, "reason").replace("\r\n", "\n").strip()
