"""JSON routes: events for programs, and the routes of flyteplugins-hitl."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.requests import Request

from hitlkit import _ops
from hitlkit._ops import EventInfo, EventState, StatusFilter
from hitlkit._server._context import StoreDep, app_version, store_fingerprint
from hitlkit._server._views import (
    AnswerBody,
    CancelBody,
    ErrorBody,
    EventList,
    Health,
    OutcomeBody,
    StatusView,
    SubmitJsonBody,
    SubmitJsonResult,
)

__all__ = ["router"]

router = APIRouter()

_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "`invalid_request`: see `errors`"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **_INVALID,
    404: {"model": ErrorBody, "description": "no event with this id"},
}
_ANSWER_ERRORS: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    409: {"model": ErrorBody, "description": "already answered; `outcome` holds the first answer"},
    410: {"model": ErrorBody, "description": "timed out or cancelled; `outcome` says how"},
    413: {"model": ErrorBody, "description": "the body is too large"},
    422: {"model": ErrorBody, "description": "`invalid_value` or `invalid_request`"},
}


@router.get("/health", response_model=Health, tags=["app"])
async def health(store: StoreDep) -> Health:
    """Which app answers here, and a fingerprint of the store it serves."""
    return Health(version=app_version(), store=store_fingerprint(store))


@router.get("/api/events", response_model=EventList, responses=_INVALID, tags=["events"])
async def list_events(
    request: Request,
    store: StoreDep,
    status: StatusFilter = "pending",
    run_id: str | None = None,
    name: str | None = None,
) -> EventList:
    """Events, newest first: `pending` (open, before the deadline), `resolved` or `all`."""
    states = await _ops.list_event_states(store, status=status, run_id=run_id, name=name)
    base = str(request.base_url)
    return EventList(events=[_info(state, base) for state in states])


@router.get(
    "/api/events/{request_id}", response_model=EventInfo, responses=_NOT_FOUND, tags=["events"]
)
async def get_event(request: Request, store: StoreDep, request_id: str) -> EventInfo:
    """One event, with its outcome once it has one."""
    state = await _ops.get_event_state(store, request_id)
    return _info(state, str(request.base_url))


@router.post(
    "/api/events/{request_id}/answer",
    response_model=OutcomeBody,
    responses=_ANSWER_ERRORS,
    tags=["events"],
)
async def answer(store: StoreDep, request_id: str, body: AnswerBody) -> OutcomeBody:
    """Answer the event. The first answer wins; later ones get 409 with the winner."""
    outcome = await _ops.answer_event(
        store, request_id, body.value, by=body.by or "anonymous", via=body.via
    )
    return OutcomeBody(outcome=outcome)


@router.post(
    "/api/events/{request_id}/cancel",
    response_model=OutcomeBody,
    responses=_ANSWER_ERRORS,
    tags=["events"],
)
async def cancel(
    store: StoreDep, request_id: str, body: Annotated[CancelBody | None, Body()] = None
) -> OutcomeBody:
    """Call the event off; its waiter gets `EventCancelledError`."""
    body = body or CancelBody()
    outcome = await _ops.cancel_event(
        store, request_id, by=body.by or "anonymous", via=body.via, reason=body.reason
    )
    return OutcomeBody(outcome=outcome)


@router.post(
    "/submit/json", response_model=SubmitJsonResult, responses=_ANSWER_ERRORS, tags=["seed"]
)
async def submit_json(store: StoreDep, body: SubmitJsonBody) -> SubmitJsonResult:
    """flyteplugins-hitl's answer route. `data_type` and `response_path` are ignored."""
    # Read before answering: once the answer is in, the waiting process may exit at once,
    # and with it the worker threads this app's store reads run on.
    record = await _ops.load_event(store, body.request_id)
    outcome = await _ops.answer_event(store, record.id, body.value, by="anonymous", via="api")
    return SubmitJsonResult(request_id=record.id, value=outcome.value, data_type=record.data_type)


@router.get("/status/{request_id}", response_model=StatusView, responses=_NOT_FOUND, tags=["seed"])
async def status(request: Request, store: StoreDep, request_id: str) -> StatusView:
    """flyteplugins-hitl's status route: "completed" means answered."""
    state = await _ops.get_event_state(store, request_id)
    view = _info(state, str(request.base_url))
    return StatusView(
        request_id=state.record.id,
        status="completed" if view.status == "answered" else view.status,
        request=view,
        response=state.outcome,
    )


def _info(state: EventState, base_url: str) -> EventInfo:
    return state.info(form_url=f"{base_url}form/{state.record.id}")
