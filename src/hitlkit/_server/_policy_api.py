"""JSON routes of decision policies: delegation, standing approvals, and signed evidence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.requests import Request

from hitlkit import _evidence, _policy_ops, _reading
from hitlkit._exceptions import DelegationError, IdentityRequiredError
from hitlkit._policy import Delegation, GrantRevocation
from hitlkit._reading import GrantInfo
from hitlkit._records import utcnow
from hitlkit._server._api import ANSWER_ERRORS, NOT_FOUND_ERRORS
from hitlkit._server._auth import authenticate
from hitlkit._server._context import store_of
from hitlkit._server._views import (
    REFUSED,
    DelegateBody,
    ErrorBody,
    Evidence,
    GrantList,
    RevokeBody,
)

__all__ = ["router"]

router = APIRouter()

_DELEGATE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ANSWER_ERRORS,
    403: {
        "model": ErrorBody,
        "description": "`identity_required` (no verified identity), `separation_of_duties` "
        "(handed to, or by, someone the policy bars), `not_assigned`, `forbidden`",
    },
    422: {
        "model": ErrorBody,
        "description": "`delegation_refused`: the policy does not allow it (no delegation, "
        "not one of delegate_to, already voted, already holds a place); or `invalid_request`",
    },
}
_GRANT_ERRORS: dict[int | str, dict[str, Any]] = {
    **REFUSED,
    403: {
        "model": ErrorBody,
        "description": "`grant_refused`: not a grantor (HITL_GRANTORS), or no grant with this "
        "id; `identity_required`: revoking needs an API token; `forbidden`: a link",
    },
    422: {"model": ErrorBody, "description": "`invalid_request`: see `errors`"},
}


@router.post(
    "/api/events/{request_id}/delegate",
    response_model=Delegation,
    responses=_DELEGATE_ERRORS,
    tags=["events"],
)
async def delegate(request: Request, request_id: str, body: DelegateBody) -> Delegation:
    """Hand your place on the event to `to`, saying why; they answer in it from then on.

    Only where the event's policy allows delegation (and to one of its `delegate_to`, when
    it names them), by someone who may answer and has not voted, to someone without a
    place; never to who asked under separation of duties. Needs a verified identity
    (an API token, or a link made for it). The same delegation again returns the first.
    """
    store = store_of(request)
    caller = authenticate(request, request_id=request_id, needs="answer")
    record = await _reading.load_event(store, request_id)
    if record.policy is None:
        raise DelegationError(f"event {record.id} has no policy, so no place to hand on")
    return await _policy_ops.delegate(
        store,
        record,
        by=caller.by(None),
        to=body.to,
        reason=body.reason,
        via=body.via,
        proof=caller.proof,
    )


@router.get("/api/grants", response_model=GrantList, responses=_GRANT_ERRORS, tags=["grants"])
async def grants(
    request: Request,
    active: Annotated[bool, Query(description="only those neither expired nor revoked")] = False,
) -> GrantList:
    """Standing approvals, newest first, each with its revocation once it has one."""
    store = store_of(request)
    authenticate(request, needs="all")
    now = utcnow()
    found = await _policy_ops.list_grants(store, active_only=active)
    return GrantList(grants=[GrantInfo.of(grant, revoked, now) for grant, revoked in found])


@router.post(
    "/api/grants/{grant_id}/revoke",
    response_model=GrantRevocation,
    responses=_GRANT_ERRORS,
    tags=["grants"],
)
async def revoke(request: Request, grant_id: str, body: RevokeBody) -> GrantRevocation:
    """Call a standing approval off; later events are asked again. Only grantors
    (`HITL_GRANTORS`), known by their API token, may. Revoking twice returns the first."""
    store = store_of(request)
    caller = authenticate(request, needs="all")
    if caller.proof != "token" or caller.identity is None:
        raise IdentityRequiredError(
            "revoking a standing approval needs a grantor's API token; this app has no "
            "tokens file (--tokens-file), so no caller's identity is known"
        )
    return await _policy_ops.revoke_grant(store, grant_id, by=caller.identity, reason=body.reason)


@router.get(
    "/api/events/{request_id}/evidence",
    response_model=Evidence,
    responses=NOT_FOUND_ERRORS,
    tags=["events"],
)
async def evidence(request: Request, request_id: str) -> Evidence:
    """The event's evidence: the event, the hash of what was shown, the outcome, every vote,
    delegation and step, the grant used and earlier versions, as one document; signed
    (Ed25519) where the app has `HITL_EVIDENCE_KEY`, else unsigned with a `note`.
    `hitl verify FILE --public-key PUB` checks it offline."""
    store = store_of(request)
    authenticate(request, request_id=request_id, needs="read")
    return Evidence.model_validate(await _evidence.export(store, request_id))
