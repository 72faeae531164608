"""JSON routes: events for programs, and the routes of flyteplugins-hitl."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from hitlkit import _audit, _listing, _ops, _policy_ops, _reading
from hitlkit._errors import INVALID_REQUEST
from hitlkit._exceptions import HitlError
from hitlkit._index import is_entry_name
from hitlkit._policy import PolicyState
from hitlkit._reading import EventInfo, EventState, StatusFilter
from hitlkit._server._auth import AuthFailure, authenticate
from hitlkit._server._context import app_version, store_fingerprint, store_of
from hitlkit._server._errors import auth_failure_response, error_response, hitl_error_reply
from hitlkit._server._guards import replay
from hitlkit._server._views import (
    IDEMPOTENCY_KEY_PATTERN,
    REFUSED,
    AnswerBody,
    AuditList,
    CancelBody,
    ErrorBody,
    EventList,
    Health,
    OutcomeBody,
    StatusView,
    SubmitJsonBody,
    SubmitJsonResult,
)
from hitlkit._store import Store

__all__ = ["ANSWER_ERRORS", "NOT_FOUND_ERRORS", "SubmitJsonLane", "router"]

router = APIRouter()

MAX_LIST_LIMIT = 10_000
"""The most events `GET /api/events?limit=` returns in one response."""

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Any 1 to 255 visible ASCII characters, the same on every retry of one "
        "answer: a retry whose first reply was lost gets 200 with `already_recorded`; the "
        "same key with another value gets 409",
    ),
]
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)

_INVALID: dict[int | str, dict[str, Any]] = {
    **REFUSED,
    403: {
        "model": ErrorBody,
        "description": "`forbidden` (a link used beyond its event), `wrong_event`, "
        "`not_assigned`, `cross_site`",
    },
    422: {"model": ErrorBody, "description": "`invalid_request`: see `errors`"},
    500: {"model": ErrorBody, "description": "`corrupt_record`: a stored record cannot be read"},
    503: {
        "model": ErrorBody,
        "description": "`store_unavailable`: the store did not answer; see `Retry-After`",
    },
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **_INVALID,
    404: {"model": ErrorBody, "description": "no event with this id"},
}
_ANSWER_ERRORS: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    202: {
        "description": "under a policy, a vote that decides nothing yet: the body as for 200, "
        "with a null `outcome`; `vote` and `policy_state` say what was recorded and where "
        "the event stands",
    },
    403: {
        "model": ErrorBody,
        "description": "`not_assigned`, `forbidden`, `wrong_event`, `cross_site`; under a "
        "policy: `identity_required` (no verified identity), `separation_of_duties` (who "
        "asked may not answer), `grant_refused` (grant_seconds from a non-grantor)",
    },
    409: {
        "model": ErrorBody,
        "description": "`already_answered` otherwise; `outcome` holds the first answer: its "
        "`value`, `by`, `at` and `via`. Under a policy, `vote_changed`: this identity voted "
        "otherwise before",
    },
    410: {"model": ErrorBody, "description": "timed out or cancelled; `outcome` says how"},
    413: {"model": ErrorBody, "description": "the body is too large"},
    400: {"model": ErrorBody, "description": "`bad_request`: the body could not be read"},
    422: {
        "model": ErrorBody,
        "description": "`invalid_value`, or `invalid_request` (also for a body that is not "
        "a JSON object of the expected shape)",
    },
}


@router.get("/health", response_model=Health, tags=["app"])
async def health(request: Request) -> Health:
    """Which app answers here, and a fingerprint of the store it serves."""
    store = store_of(request)
    return Health(version=app_version(), store=store_fingerprint(store))


@router.get("/api/events", response_model=EventList, responses=_INVALID, tags=["events"])
async def list_events(
    request: Request,
    status: StatusFilter = "pending",
    run_id: str | None = None,
    name: str | None = None,
    assignee: Annotated[
        str | None, Query(description="only events assigned to this identity")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_LIST_LIMIT)] = None,
    cursor: Annotated[
        str | None, Query(description="the `next_cursor` of the page before", max_length=64)
    ] = None,
) -> EventList | Response:
    """Events, newest first: `pending` (open, before the deadline), `resolved` or `all`.

    With `limit` (or `cursor`), one page: at most `limit` events (default 500), and
    `next_cursor` to pass as `cursor` for the next page (null on the last). A page reads
    only the records it shows, and its `total` is null unless it holds every match.
    Without either, every event comes at once, and `total` says how many.
    Records that cannot be read are left out and counted in `skipped`.
    """
    store = store_of(request)
    authenticate(request, needs="all")
    base = str(request.base_url)
    if limit is None and cursor is None:
        states = await _listing.list_event_states(
            store, status=status, run_id=run_id, name=name, assignee=assignee
        )
        return EventList(
            events=[_info(s, base) for s in states], total=len(states), skipped=states.skipped
        )
    if cursor is not None and not is_entry_name(cursor):
        return error_response(
            INVALID_REQUEST, "cursor: expected the next_cursor of a page, as given"
        )
    page = await _listing.list_page(
        store,
        status=status,
        run_id=run_id,
        name=name,
        assignee=assignee,
        limit=limit or _listing.PAGE_SIZE,
        cursor=cursor,
    )
    whole = cursor is None and page.next_cursor is None
    return EventList(
        events=[_info(s, base) for s in page.states],
        total=len(page.states) if whole else None,
        skipped=page.skipped,
        next_cursor=page.next_cursor,
    )


@router.get(
    "/api/events/{request_id}", response_model=EventInfo, responses=_NOT_FOUND, tags=["events"]
)
async def get_event(request: Request, request_id: str) -> EventInfo:
    """One event, with its outcome once it has one, and under a policy, `policy_state`:
    the votes, delegations and steps so far, and who may answer now."""
    store = store_of(request)
    authenticate(request, request_id=request_id, needs="read")
    return await _reading.read_event_info(
        store, request_id, form_url=f"{request.base_url}form/{request_id}"
    )


@router.post(
    "/api/events/{request_id}/answer",
    response_model=OutcomeBody,
    responses=_ANSWER_ERRORS,
    tags=["events"],
)
async def answer(
    request: Request,
    request_id: str,
    body: AnswerBody,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> OutcomeBody:
    """Answer the event. The first answer wins; other answers get 409 with the winner.

    The same answer again (the same value from the same identity, or with the same
    `Idempotency-Key`) is a retry: 200 with the recorded outcome and `already_recorded`.
    With a credential (API token or answer link), its identity is recorded and `by` is ignored.

    Under a policy the answer is the caller's vote, with `comment`; a vote that decides
    nothing yet gets **202** with a null `outcome`, the `vote` and the `policy_state`.
    A policy that counts identities needs a verified one (a token, or a link made for
    it): **403** `identity_required` otherwise. The same vote again is a retry; another
    vote from the same identity is **409** `vote_changed`.
    """
    store = store_of(request)
    caller = authenticate(request, request_id=request_id, needs="answer")
    answered = await _ops.answer_event(
        store,
        request_id,
        body.value,
        by=caller.by(body.by),
        via=body.via,
        idempotency_key=idempotency_key,
        proof=caller.proof,
        comment=body.comment,
        grant_seconds=body.grant_seconds,
    )
    state = await _state_after(store, request_id, answered)
    if answered.outcome is None:
        response.status_code = 202
    return OutcomeBody(
        outcome=answered.outcome,
        already_recorded=answered.already_recorded,
        vote=answered.vote,
        policy_state=state,
    )


async def _state_after(
    store: Store, request_id: str, answered: _ops.Answered
) -> PolicyState | None:
    """Where an event under a policy stands after a vote; `None` without a policy."""
    if answered.vote is None:
        return None
    record = await _reading.load_event(store, request_id)
    return await _policy_ops.current_state(store, record)


@router.post(
    "/api/events/{request_id}/cancel",
    response_model=OutcomeBody,
    responses=_ANSWER_ERRORS,
    tags=["events"],
)
async def cancel(request: Request, request_id: str, body: CancelBody) -> OutcomeBody:
    """Call the event off; its waiter gets `EventCancelledError`. Needs an API token if any.

    The body is required (`{}` will do): a bodyless POST, which any web page can send
    without asking, cancels nothing. An event with assignees is cancelled by them only.
    """
    store = store_of(request)
    caller = authenticate(request, request_id=request_id, needs="all")
    outcome = await _ops.cancel_event(
        store,
        request_id,
        by=caller.by(body.by),
        via=body.via,
        reason=body.reason,
        assignees_only=True,
        proof=caller.proof,
    )
    return OutcomeBody(outcome=outcome)


@router.get(
    "/api/events/{request_id}/audit",
    response_model=AuditList,
    responses=_NOT_FOUND,
    tags=["events"],
)
async def audit(request: Request, request_id: str) -> AuditList:
    """The event's audit trail, oldest first: resolutions and refused attempts."""
    store = store_of(request)
    authenticate(request, request_id=request_id, needs="all")
    record = await _reading.load_event(store, request_id)
    return AuditList(entries=await _audit.read_audit(store, record.id))


@router.post(
    "/submit/json", response_model=SubmitJsonResult, responses=_ANSWER_ERRORS, tags=["seed"]
)
async def submit_json(
    request: Request,
    body: SubmitJsonBody,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SubmitJsonResult:
    """flyteplugins-hitl's answer route. `data_type` and `response_path` are ignored.

    A retry of the same answer gets 200 with `already_recorded`, as on `/api/events/…/answer`;
    under a policy, a vote that decides nothing yet gets 202 with a null `outcome`.
    """
    result = await _submit(request, body, idempotency_key)
    if result.outcome is None:
        response.status_code = 202
    return result


async def _submit(
    request: Request, body: SubmitJsonBody, idempotency_key: str | None
) -> SubmitJsonResult:
    store = store_of(request)
    caller = authenticate(request, request_id=body.request_id, needs="answer")
    # Read before answering: once the answer is in, the waiting process may exit at once,
    # and with it the worker threads this app's store reads run on.
    record = await _reading.load_event(store, body.request_id)
    answered = await _ops.answer_event(
        store,
        record.id,
        body.value,
        by=caller.by(None),
        via="api",
        idempotency_key=idempotency_key,
        proof=caller.proof,
        comment=body.comment,
        grant_seconds=body.grant_seconds,
    )
    outcome = answered.outcome
    result = SubmitJsonResult(
        request_id=record.id,
        value=outcome.value if outcome is not None else body.value,
        data_type=record.data_type,
        already_recorded=answered.already_recorded,
        outcome=outcome,
        vote=answered.vote,
        policy_state=await _state_after(store, record.id, answered),
    )
    if outcome is None:
        result.message = "Vote recorded. The event waits for more votes."
    elif answered.already_recorded:
        result.message = "Input was already recorded. The workflow will continue."
    return result


class SubmitJsonLane:
    """Serve `POST /submit/json` with a JSON body directly, ahead of FastAPI's routing.

    Programs answer through this route in bulk, and FastAPI's routing, dependency
    solving and response validation cost more than the answer itself. This does the
    same as `submit_json`: the same body model, authentication and rules, and the
    app's handlers for their errors. A body or `Idempotency-Key` that is not valid
    goes on to `submit_json`, whose 422 says what was wrong; nothing has happened by then.
    It sits inside the app's guards, which have read the body and checked the request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != scope.get("root_path", "") + "/submit/json"
            or scope["method"] != "POST"
            or not _is_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        message = await receive()  # the guards hand the body on whole, in one message
        body = message.get("body", b"")
        key = _header(scope, b"idempotency-key")
        try:
            parsed = SubmitJsonBody.model_validate_json(body)
        except ValidationError:
            parsed = None
        if parsed is None or (key is not None and not _IDEMPOTENCY_KEY.fullmatch(key)):
            await self.app(scope, replay(body, receive), send)
            return
        request = Request(scope, receive)
        response: Response
        try:
            result = await _submit(request, parsed, key)
        except HitlError as exc:
            response = hitl_error_reply(request, exc)
        except AuthFailure as exc:
            response = auth_failure_response(request, exc)
        else:
            status = 200 if result.outcome is not None else 202
            response = Response(result.model_dump_json(), status, media_type="application/json")
        await response(scope, receive, send)


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type: bytes = value.partition(b";")[0].strip().lower()
            return media_type == b"application/json"
    return False


def _header(scope: Scope, name: bytes) -> str | None:
    """The first header `name` (lowercase), as Starlette reads it."""
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


@router.get("/status/{request_id}", response_model=StatusView, responses=_NOT_FOUND, tags=["seed"])
async def status(request: Request, request_id: str) -> StatusView:
    """flyteplugins-hitl's status route: "completed" means answered."""
    store = store_of(request)
    authenticate(request, request_id=request_id, needs="read")
    state = await _reading.get_event_state(store, request_id)
    view = _info(state, str(request.base_url))
    return StatusView(
        request_id=state.record.id,
        status="completed" if view.status == "answered" else view.status,
        request=view,
        response=state.outcome,
    )


NOT_FOUND_ERRORS = _NOT_FOUND
ANSWER_ERRORS = _ANSWER_ERRORS


def _info(state: EventState, base_url: str) -> EventInfo:
    return state.info(form_url=f"{base_url}form/{state.record.id}")
