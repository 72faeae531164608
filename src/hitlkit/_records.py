"""What hitlkit stores: the event record, its outcome, and where they live.

An event's id is derived from its identity, so creating it twice finds the
same record. For scope "run" the identity is (run id, name):

```
id = sha256("run" NUL run_id)[:8] + sha256("run" NUL run_id NUL name)[:16]   # 24 hex digits
```

The first 8 digits group a run's events under one key prefix, so that a run's
outcomes can be listed in one request. Keys are built from validated ids only.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hitlkit._policy import Delegation, GrantRecord, Policy, StepTaken, Vote

__all__ = [
    "EventRecord",
    "EventScope",
    "Outcome",
    "OutcomeStatus",
    "event_id",
    "event_key",
    "id_of_key",
    "is_event_id",
    "outcome_key",
    "outcome_prefix",
    "policy_prefix",
    "utcnow",
]

EventScope = Literal["run"]
"""Where an event's name is unique. Only "run" exists today."""

OutcomeStatus = Literal["answered", "timed_out", "defaulted", "cancelled"]

EVENTS_PREFIX = "events/"
OUTCOMES_PREFIX = "outcomes/"
POLICY_PREFIX = "policy/"
_ID = re.compile(r"[0-9a-f]{24}")


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def event_id(scope: EventScope, run_id: str, name: str, version: int = 1) -> str:
    """The deterministic id of the event `name` in run `run_id` (of its `version`, when
    a rejected question is asked again: the first version keeps the plain id)."""
    parts = (scope, run_id, name) if version == 1 else (scope, run_id, name, f"v{version}")
    return _digest(scope, run_id)[:8] + _digest(*parts)[:16]


def is_event_id(text: str) -> bool:
    """Whether `text` has the shape of an event id (24 lowercase hex digits)."""
    return _ID.fullmatch(text) is not None


def event_key(request_id: str) -> str:
    """The store key of an event record. `request_id` must be a valid id."""
    return f"{EVENTS_PREFIX}{request_id[:8]}/{request_id}.json"


def outcome_prefix(request_id: str) -> str:
    """The key prefix holding the outcomes of every event of the same run."""
    return f"{OUTCOMES_PREFIX}{request_id[:8]}/"


def outcome_key(request_id: str) -> str:
    """The store key of an event's outcome. `request_id` must be a valid id."""
    return f"{outcome_prefix(request_id)}{request_id}.json"


def policy_prefix(request_id: str) -> str:
    """The key prefix of an event's votes, delegations and escalation steps (under a policy)."""
    return f"{POLICY_PREFIX}{request_id[:8]}/{request_id}/"


def id_of_key(key: str) -> str | None:
    """The id of the event whose record or outcome is stored at `key`; `None` for other keys."""
    request_id = key.rpartition("/")[2].removesuffix(".json")
    if is_event_id(request_id) and key in (event_key(request_id), outcome_key(request_id)):
        return request_id
    return None


class EventRecord(BaseModel):
    """An event as created: what is asked, of which type, until when.

    Written once, when the event is created, and never changed.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    name: str
    scope: EventScope = "run"
    run_id: str
    prompt: str
    data_type: str
    """A short name of the answer type: "int", "choice", "list[choice]", "date", "Deploy"..."""
    json_schema: dict[str, Any]
    validation: Literal["named", "schema"] = "named"
    """How answers are checked: "named" by `data_type` (int, float, str, bool, as
    before), "schema" against `json_schema`."""
    prompt_type: Literal["text", "markdown"] = "text"
    description: str | None = None
    """Help text shown with the answer's fields."""
    initial: Any = None
    """JSON data that pre-fills the form (a partial answer), or None."""
    created_at: AwareDatetime
    deadline: AwareDatetime
    timeout_seconds: float
    poll_interval_seconds: float
    has_default: bool = False
    default: Any = None
    created_by: str | None = None
    assignees: tuple[str, ...] | None = None
    """Who may answer (identities); `None` lets anyone who can reach the event answer."""
    policy: Policy | None = None
    """How the event is decided (quorum, separation of duties, escalation...), if not by
    the first answer allowed."""
    requested_by: str | None = None
    """The identity that asked: the token's, `requested_by=`, else `HITL_USER` or the login
    name. Separation of duties keeps it from answering."""
    version: int = 1
    """1, or the round of a question asked again after a rejection (`ask_again`)."""
    previous_id: str | None = None
    """The id of the version before, when this one was asked again."""

    def model_post_init(self, context: Any, /) -> None:
        # A record read from the store has every field set: share one set of their names
        # (about 2 KB) rather than keep one per record, with 10,000 events waiting in a process.
        if self.__pydantic_fields_set__ == _ALL_RECORD_FIELDS:
            object.__setattr__(self, "__pydantic_fields_set__", _ALL_RECORD_FIELDS)

    def is_expired(self, now: datetime | None = None) -> bool:
        """Whether the deadline has passed."""
        return (now or utcnow()) >= self.deadline

    def may_answer(self, identity: str | None) -> bool:
        """Whether `identity` may answer: anyone without assignees, else only them.

        Under a policy, escalation steps and delegations change who may; `_policy_ops`
        decides then, from the records they left."""
        return self.assignees is None or identity in self.assignees


_ALL_RECORD_FIELDS = set(EventRecord.model_fields)


class Outcome(BaseModel):
    """How an event was resolved. Written once; the first outcome recorded wins.

    - `answered`: a person or program gave `value`;
    - `timed_out`: the deadline passed with no answer and no default;
    - `defaulted`: the deadline passed and the event's default, `value`, was used;
    - `cancelled`: someone called it off; `reason` may say why.

    `request_id` names the event: a record read under another event's key is corrupt.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    request_id: str
    status: OutcomeStatus
    value: Any = None
    by: str | None = None
    """Who resolved it, as far as hitlkit knows (a user name, or "hitlkit" for timeouts)."""
    via: str = Field(description="form, api, cli, python, timeout or cancel")
    at: AwareDatetime
    reason: str | None = None
    shown_sha256: str | None = Field(
        default=None,
        description="SHA-256 of what was shown (prompt, its rendering, description, type, schema)",
    )
    idempotency_sha256: str | None = Field(
        default=None,
        description="SHA-256 of the Idempotency-Key the answer came with: a retry with the "
        "same key and value is known as one, by any process",
    )
    decision: str | None = Field(
        default=None,
        description="under a policy: approved, rejected, vetoed, agreed, failed or granted",
    )
    votes: tuple[Vote, ...] | None = Field(
        default=None, description="under a policy: the votes counted, in order"
    )
    delegations: tuple[Delegation, ...] | None = None
    steps: tuple[StepTaken, ...] | None = Field(
        default=None, description="the escalation steps taken before the decision"
    )
    grant: GrantRecord | None = Field(
        default=None, description="the standing approval that decided the event"
    )
    action: str | None = Field(
        default=None, description='at the deadline under a policy: "raise", "default" or "escalate"'
    )


def is_approval(record: object) -> bool:
    """Whether `record` (an event record, or an `EventInfo`) asks for a `hitlkit.Approval`:
    a yes or no, and a reason. Its page offers Approve and Reject buttons, `hitl answer`
    takes yes or no for it, and its outcome reads "Approved" or "Rejected"."""
    schema = getattr(record, "json_schema", None) or {}
    properties = schema.get("properties") or {}
    return (
        schema.get("title") == "Approval"
        and set(properties) == {"approved", "reason"}
        and properties["approved"].get("type") == "boolean"
    )
