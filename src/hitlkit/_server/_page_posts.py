"""The event page's posts: `POST /submit` (an answer), `POST /cancel` (a cancel, with a
reason) and `POST /delegate` (hand one's place under a policy to another identity).

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

from hitlkit import _ops, _policy_ops, _reading
from hitlkit._exceptions import (
    DelegationError,
    EventNotFoundError,
    EventResolvedError,
    GrantError,
    IdentityRequiredError,
    InvalidValueError,
    NotAssignedError,
    SeparationOfDutiesError,
    VoteChangedError,
)
from hitlkit._options import MAX_REASON_LENGTH
from hitlkit._policy import MAX_COMMENT_LENGTH
from hitlkit._records import EventRecord, is_approval
from hitlkit._server._auth import Caller, auth_settings
from hitlkit._server._context import store_of
from hitlkit._server._csrf import FIELD, csrf_valid
from hitlkit._server._flash import Done, DoneKind, redirect_to_event
from hitlkit._server._pages import CancelForm, form_page, not_assigned, not_found, page_caller
from hitlkit._server._policy_view import GRANT_SECONDS, policy_view
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

    async def again(self, **options: Any) -> HTMLResponse:
        """The event's form again, for another try."""
        policy = None
        if self.record.policy is not None:
            policy = await policy_view(self.store, self.record, self.caller)
        return form_page(self.request, self.record, caller=self.caller, policy=policy, **options)

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
    return await _forged(post, needs)


async def _forged(post: _Post, needs: _Needs) -> Response:
    """A post without its form token while the event is open: the form again, to resend."""
    if needs == "all":
        cancel = CancelForm(reason=_reason(post.fields), error=_FORGED, by=post.by)
        return await post.again(cancel=cancel, by=post.by, status_code=403)
    return await post.again(error=_FORGED, posted=post.fields, by=post.by, status_code=403)


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
    comment = first_field(posted, "comment").strip()
    if len(comment) > MAX_COMMENT_LENGTH:
        error = (
            f"The comment is {len(comment)} characters long; at most {MAX_COMMENT_LENGTH} are kept."
        )
        return await post.again(error=error, posted=posted, by=post.by, status_code=422)
    try:
        _identity_needed(post, "answer")
        # Who may answer first: someone else never makes the app read and check a value.
        await _ops.refuse_unassigned(post.store, post.record, by=by, via="form", doing="answer")
        value = _ops.answers_of(post.record).parse_form(posted)
        answered = await _ops.answer_event(
            post.store,
            post.record.id,
            value,
            by=by,
            via="form",
            proof=post.caller.proof,
            **_vote_options(post.record, posted, value, comment),
        )
    except SeparationOfDutiesError as exc:
        return error_page(request, 403, "Separation of duties", str(exc))
    except NotAssignedError:
        return not_assigned(request)
    except IdentityRequiredError:
        return _identity_required(request)
    except GrantError as exc:
        return error_page(request, 403, "No standing approval", f"Nothing was recorded: {exc}.")
    except VoteChangedError as exc:
        return error_page(request, 409, "Your vote stands", f"{exc}.")
    except InvalidValueError as exc:
        return await post.again(posted=posted, invalid=exc, by=post.by, status_code=422)
    except EventResolvedError:
        return post.redirect(Done("late", attempted=shown(value)))
    if answered.outcome is None:  # a vote that decides nothing yet
        state = await _policy_ops.current_state(post.store, post.record)
        kind: DoneKind = "retry" if answered.already_recorded else "voted"
        return post.redirect(Done(kind, note=state.summary))
    # A retry (the same answer sent again, say after a lost reply) is a success too.
    return post.redirect(Done("retry" if answered.already_recorded else "recorded"))


def _identity_needed(post: _Post, doing: str) -> None:
    """`IdentityRequiredError` before anything is read, where the policy counts identities
    and this browser's is only a name it could type."""
    policy = post.record.policy
    if policy is not None and policy.needs_identity and post.caller.proof == "declared":
        raise IdentityRequiredError(f"a verified identity is needed to {doing}")


def _identity_required(request: Request) -> HTMLResponse:
    message = (
        "This event is decided by a policy that counts who answers (a quorum, separation "
        "of duties, delegation or standing approvals), so answers here need a signed-in "
        "identity. A name typed into a form proves nothing: the app must run with API "
        "tokens (hitl serve --tokens-file), and you sign in with yours, or open an answer "
        "link made for you. Nothing was recorded."
    )
    return error_page(request, 403, "A signed-in identity is needed", message)


def _vote_options(
    record: EventRecord, posted: dict[str, list[str]], value: Any, comment: str
) -> dict[str, Any]:
    """The comment and standing approval sent with a vote; none without a policy."""
    if record.policy is None:
        return {}
    if not comment and is_approval(record) and isinstance(value, dict):
        comment = str(value.get("reason") or "").strip()  # an approval's reason says why
    grant = first_field(posted, "grant_seconds")
    return {
        "comment": comment or None,
        "grant_seconds": float(GRANT_SECONDS) if grant else None,
    }


@router.post("/delegate", response_model=None)
async def delegate(request: Request) -> Response:
    """Hand the caller's place on the event to another identity, with a reason, and go to
    its page. Checked as an answer is (sign-in or link, form token), and by the policy."""
    post = await _read_post(request, needs="answer")
    if not isinstance(post, _Post):
        return post
    to = " ".join(first_field(post.fields, "to").split())
    reason = _reason(post.fields)
    if post.record.policy is None:
        return error_page(request, 422, "Cannot be handed on", "This event has no policy.")
    try:
        _identity_needed(post, "hand it on")
        await _policy_ops.delegate(
            post.store,
            post.record,
            by=post.caller.by(post.by),
            to=to,
            reason=reason,
            via="form",
            proof=post.caller.proof,
        )
    except SeparationOfDutiesError as exc:
        return error_page(request, 403, "Separation of duties", str(exc))
    except NotAssignedError:
        return not_assigned(request, doing="it was not handed on")
    except IdentityRequiredError:
        return _identity_required(request)
    except DelegationError as exc:
        return await post.again(error=f"Not handed on: {exc}.", status_code=422)
    except EventResolvedError:
        return post.redirect(Done("late"))
    return post.redirect(Done("delegated", note=to))


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
        return await post.again(cancel=cancel, by=post.by, status_code=422)
    try:
        await _ops.cancel_event(
            post.store,
            post.record.id,
            by=post.caller.by(post.by),
            via="form",
            reason=reason or None,
            assignees_only=True,
            proof=post.caller.proof,
        )
    except IdentityRequiredError:
        return _identity_required(request)
    except NotAssignedError:
        return not_assigned(request, doing="it was not cancelled")
    except EventResolvedError:
        return post.redirect(Done("late"))
    return post.redirect(Done("cancelled"))


def _reason(fields: dict[str, list[str]]) -> str:
    # Browsers send textarea line breaks as CRLF.
    return first_field(fields, "reason").replace("\r\n", "\n").strip()
