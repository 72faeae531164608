"""The JSON shapes of the API, as pydantic models so that `/docs` describes them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from hitlkit._audit import AuditEntry
from hitlkit._options import MAX_REASON_LENGTH
from hitlkit._policy import (
    MAX_COMMENT_LENGTH,
    MAX_GRANT_SECONDS,
    PolicyState,
    Vote,
)
from hitlkit._reading import EventInfo, GrantInfo
from hitlkit._records import Outcome

__all__ = [
    "IDEMPOTENCY_KEY_PATTERN",
    "REFUSED",
    "AnswerBody",
    "AuditList",
    "CancelBody",
    "DelegateBody",
    "ErrorBody",
    "EventList",
    "Evidence",
    "GrantList",
    "Health",
    "OutcomeBody",
    "RevokeBody",
    "StatusView",
    "SubmitJsonBody",
    "SubmitJsonResult",
]

MAX_BY_LENGTH = 100
Channel = Literal["api", "cli", "python"]
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
"""An `Idempotency-Key` header: 1 to 255 visible ASCII characters."""


class EventList(BaseModel):
    """Events, newest first."""

    events: list[EventInfo]
    total: int | None = Field(
        description="how many events match; null for a page that does not hold them all"
    )
    skipped: int = Field(
        default=0,
        description="records that could not be read and were left out; `hitl doctor` names them",
    )
    next_cursor: str | None = Field(
        default=None,
        description="pass as `cursor` for the next page; null on the last page",
    )


class AnswerBody(BaseModel):
    """An answer: a JSON value of the event's type, or text to parse as one."""

    value: Any = Field(
        description='e.g. 3, 2.5, "text", true, "ship", ["a", "b"], "2025-01-31", '
        '{"replicas": 3}; "3" is parsed as text'
    )
    by: str | None = Field(
        default=None,
        max_length=MAX_BY_LENGTH,
        description='who answers; "anonymous" if absent; ignored when a credential is sent',
    )
    via: Channel = Field(default="api", description="the channel recorded with the answer")
    comment: str | None = Field(
        default=None,
        max_length=MAX_COMMENT_LENGTH,
        description="under a policy: why, recorded with the vote (a rejection's reasons)",
    )
    grant_seconds: float | None = Field(
        default=None,
        strict=True,
        gt=0,
        le=MAX_GRANT_SECONDS,
        description="under a policy with a grant_scope, from a grantor (HITL_GRANTORS): let "
        "the decision stand for identical requests this many seconds",
    )


class CancelBody(BaseModel):
    """Why and by whom an event is called off."""

    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)
    by: str | None = Field(default=None, max_length=MAX_BY_LENGTH)
    via: Channel = Field(default="api", description="the channel recorded with the cancellation")


class AuditList(BaseModel):
    """An event's audit trail, oldest first."""

    entries: list[AuditEntry]


class OutcomeBody(BaseModel):
    """The outcome recorded; under a policy, also the vote, and `outcome` is null while
    the votes decide nothing yet."""

    outcome: Outcome | None
    already_recorded: bool = Field(
        default=False,
        description="true when this answer had been recorded before (a retry): "
        "the same value from the same identity, or the same Idempotency-Key",
    )
    vote: Vote | None = Field(default=None, description="under a policy: the vote recorded")
    policy_state: PolicyState | None = Field(
        default=None, description="under a policy: where the event stands after this vote"
    )


class DelegateBody(BaseModel):
    """Hand your place on an event to another identity, saying why."""

    to: str = Field(min_length=1, max_length=MAX_BY_LENGTH, description="the identity handed to")
    reason: str = Field(min_length=1, max_length=MAX_COMMENT_LENGTH)
    via: Channel = Field(default="api", description="the channel recorded with the delegation")


class GrantList(BaseModel):
    """Standing approvals, newest first."""

    grants: list[GrantInfo]


class RevokeBody(BaseModel):
    """Why a standing approval is called off."""

    reason: str | None = Field(default=None, max_length=MAX_COMMENT_LENGTH)


class Evidence(BaseModel):
    """An event's evidence: its document, signed with the app's `HITL_EVIDENCE_KEY` when it
    has one (`hitl verify FILE --public-key PUB` checks it offline)."""

    document: dict[str, Any] = Field(
        description='format "hitlkit-evidence/1": the event, shown_sha256 (and shown_matches), '
        "the outcome, every vote, delegations, steps, the grant used, earlier versions"
    )
    document_sha256: str = Field(description="SHA-256 of the document's canonical JSON")
    signature: str | None = Field(
        default=None, description="base64 Ed25519 signature of the document's canonical JSON"
    )
    public_key: str | None = Field(default=None, description="base64 of the raw 32-byte key")
    key_id: str | None = Field(default=None, description="sha256 of the raw key, 16 hex digits")
    note: str | None = Field(default=None, description="why the document is unsigned")


class SubmitJsonBody(BaseModel):
    """The body of flyteplugins-hitl's `POST /submit/json`."""

    request_id: str
    value: Any
    data_type: str | None = Field(
        default=None, description="ignored: the type recorded with the event is used"
    )
    response_path: str | None = Field(default=None, description="ignored")
    comment: str | None = Field(
        default=None, max_length=MAX_COMMENT_LENGTH, description="under a policy: with the vote"
    )
    grant_seconds: float | None = Field(
        default=None,
        strict=True,
        gt=0,
        le=MAX_GRANT_SECONDS,
        description="under a policy with a grant_scope: let the decision stand this long",
    )


class SubmitJsonResult(BaseModel):
    """The answer as recorded, in flyteplugins-hitl's shape."""

    status: Literal["submitted"] = "submitted"
    request_id: str
    value: Any
    data_type: str
    message: str = "Input received. The workflow will continue."
    already_recorded: bool = Field(
        default=False,
        description="true when this answer had been recorded before (a retry): "
        "the same value from the same identity, or the same Idempotency-Key",
    )
    outcome: Outcome | None = Field(
        default=None, description="the outcome recorded; under a policy, null until decided"
    )
    vote: Vote | None = Field(default=None, description="under a policy: the vote recorded")
    policy_state: PolicyState | None = Field(
        default=None, description="under a policy: where the event stands after this vote"
    )


class StatusView(BaseModel):
    """flyteplugins-hitl's `GET /status/{request_id}`: "completed" means answered."""

    request_id: str
    status: Literal["pending", "completed", "timed_out", "defaulted", "cancelled", "expired"]
    request: EventInfo
    response: Outcome | None


class Health(BaseModel):
    """Who answers here; `store` is a fingerprint of the store URL, not the URL."""

    status: Literal["ok"] = "ok"
    app: Literal["hitlkit"] = "hitlkit"
    version: str
    store: str = Field(description="sha256 of the store URL, first 16 hex digits")


class ErrorDetail(BaseModel):
    """One problem: where (`["value", "replicas"]`, `["body", "value"]`) and what."""

    loc: list[str | int]
    msg: str


class ErrorBody(BaseModel):
    """Every error: a stable code, a sentence, and details for some codes."""

    error: str = Field(
        description="not_found, invalid_value, already_answered, closed, invalid_request, "
        "payload_too_large, unsupported_media_type, method_not_allowed, cross_site, "
        "unauthorized, link_expired, forbidden, wrong_event, not_assigned, identity_required, "
        "separation_of_duties, vote_changed, delegation_refused, grant_refused, invalid_host, "
        "corrupt_record, internal_error"
    )
    message: str
    expected: str | None = Field(default=None, description="invalid_value: the type in words")
    outcome: Outcome | None = Field(
        default=None,
        description="already_answered, closed: the outcome recorded first; for "
        "already_answered, the winning `value`, who (`by`), when (`at`) and how (`via`)",
    )
    key: str | None = Field(default=None, description="corrupt_record: the store key of the record")
    errors: list[ErrorDetail] | None = Field(
        default=None,
        description="invalid_request: what is wrong with the request's shape; invalid_value: "
        'what is wrong with the answer, field by field (`loc` starts with "value")',
    )


REFUSED: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "`invalid_host`: the Host is not allowed"},
    401: {
        "model": ErrorBody,
        "description": "`unauthorized` (no valid credential) or `link_expired`",
    },
}
"""The refusals every route that takes a credential may answer, for the OpenAPI document."""
