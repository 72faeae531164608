"""Exceptions raised by hitlkit.

Every error hitlkit raises on purpose derives from `HitlError`:

```
HitlError
├── ConfigurationError        bad store URL, endpoint taken by another program
├── UnsupportedTypeError      a data_type hitlkit cannot ask for (also TypeError)
├── EventConflictError        same identity created again with another data_type
├── EventNotFoundError        no event with that id (HTTP 404)
├── InvalidValueError         an answer that does not fit the type (HTTP 422, also ValueError);
│                             `.errors` says what, field by field
├── EventResolvedError        the event already has an outcome; `.outcome` holds it
│   ├── AlreadyAnsweredError  it was answered first (HTTP 409)
│   └── EventClosedError      it timed out or was cancelled (HTTP 410)
├── VoteChangedError          a vote under a policy, already cast otherwise (HTTP 409)
├── DelegationError           a delegation the policy does not allow (HTTP 422)
├── GrantError                a standing approval that cannot be made or revoked (HTTP 403)
├── EventTimeoutError         `wait()` reached the deadline (also the builtin TimeoutError)
├── EventCancelledError       `wait()` found the event cancelled
│   └── DecisionFailedError   a quorum's identical answers are out of reach; `.votes`
├── CorruptRecordError        a stored record that cannot be read as one (names the key)
├── StoreUnavailableError     the store did not answer (HTTP 503); names the store and the cause
├── AccessDeniedError         no valid credential, or one that does not allow this (HTTP 401/403)
│   ├── InvalidLinkError      an answer link that is forged, altered, expired or for another event
│   ├── NotAssignedError      the event is assigned to other people (HTTP 403)
│   ├── IdentityRequiredError the event's policy needs a verified identity (HTTP 403)
│   └── SeparationOfDutiesError  who asked (or is excluded) may not answer (HTTP 403)
└── TransportError            an app endpoint could not be reached or answered oddly
```

The HTTP status, error code and `hitl` exit code of each are in one table: `hitlkit._errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from hitlkit._records import Outcome

__all__ = [
    "AccessDeniedError",
    "AlreadyAnsweredError",
    "ConfigurationError",
    "CorruptRecordError",
    "DecisionFailedError",
    "DelegationError",
    "EventCancelledError",
    "EventClosedError",
    "EventConflictError",
    "EventNotFoundError",
    "EventResolvedError",
    "EventTimeoutError",
    "FieldError",
    "GrantError",
    "HitlError",
    "IdentityRequiredError",
    "InvalidLinkError",
    "InvalidValueError",
    "NotAssignedError",
    "SeparationOfDutiesError",
    "StoreUnavailableError",
    "TransportError",
    "UnsupportedTypeError",
    "VoteChangedError",
]


class HitlError(Exception):
    """Base class of every error hitlkit raises on purpose."""


class ConfigurationError(HitlError):
    """The configuration (store URL, endpoint, environment) cannot be used."""


class UnsupportedTypeError(HitlError, TypeError):
    """`data_type` is not one hitlkit can render and validate."""


class EventConflictError(HitlError):
    """An event with the same identity exists with a different definition."""


class EventNotFoundError(HitlError, LookupError):
    """No event has the given request id (in `where`, a store or an app, when named)."""

    def __init__(self, request_id: str, *, where: str | None = None) -> None:
        shown = request_id if len(request_id) <= 40 else request_id[:37] + "..."
        super().__init__(f"no event with id {shown!r}" + (f" in {where}" if where else ""))
        self.request_id = request_id
        self.where = where


class FieldError(TypedDict):
    """One problem with an answer: where (`["value", "replicas"]`) and what."""

    loc: list[str | int]
    msg: str


class InvalidValueError(HitlError, ValueError):
    """An answer does not fit the type recorded with the event.

    `expected` names the type in words, `got` is the rejected input, and
    `errors` says, field by field, what is wrong (each `loc` starts with "value").
    """

    def __init__(
        self,
        message: str,
        *,
        expected: str,
        got: object,
        errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(message)
        self.expected = expected
        self.got = got
        self.errors: list[FieldError] = errors or [{"loc": ["value"], "msg": message}]


class EventResolvedError(HitlError):
    """The event already has an outcome, kept in `.outcome`."""

    def __init__(self, message: str, outcome: Outcome) -> None:
        super().__init__(message)
        self.outcome = outcome


class AlreadyAnsweredError(EventResolvedError):
    """Another answer was recorded first; the first answer wins."""


class EventClosedError(EventResolvedError):
    """The event timed out or was cancelled before this answer arrived."""


class VoteChangedError(HitlError):
    """This identity (or the place it holds) already voted otherwise; a vote is never changed."""


class DelegationError(HitlError):
    """A delegation the event's policy does not allow (or that says nothing of why)."""


class GrantError(HitlError):
    """A standing approval that cannot be made or revoked: not a grantor, no grant scope..."""


class EventTimeoutError(HitlError, TimeoutError):
    """No answer arrived before the event's deadline."""


class EventCancelledError(HitlError):
    """The event was cancelled before anyone answered it."""

    def __init__(self, message: str, outcome: Outcome) -> None:
        super().__init__(message)
        self.outcome = outcome


class DecisionFailedError(EventCancelledError):
    """The votes can no longer decide: a quorum's identical answers are out of reach.

    `.votes` holds every vote counted (who, when, value, comment)."""

    def __init__(self, message: str, outcome: Outcome) -> None:
        super().__init__(message, outcome)
        self.votes = outcome.votes or ()


class CorruptRecordError(HitlError):
    """A stored record cannot be read: not a regular file, unreadable, not valid, or
    naming another event than its key does.

    `key` is the record's store key (never a server path), `reason` what is wrong.
    """

    def __init__(self, key: str, reason: str, *, store: str = "") -> None:
        where = f" in {store}" if store else ""
        super().__init__(f"record {key!r}{where} cannot be read: {reason}")
        self.key = key
        self.reason = reason


class StoreUnavailableError(HitlError):
    """The store did not answer: a bucket that is down, a full or read-only disk.

    `store` names it (with no credentials), `cause` says what failed, and `hint`,
    when the cause is a known one, what to do about it. The app answers 503 with
    `Retry-After`; nothing was recorded.
    """

    def __init__(self, store: str, cause: str, *, hint: str | None = None) -> None:
        advice = f"; {hint}" if hint else ""
        super().__init__(f"store {store} is unavailable: {cause}{advice}")
        self.store = store
        self.cause = cause
        self.hint = hint


class AccessDeniedError(HitlError, PermissionError):
    """The request carries no valid credential, or one that does not allow this action."""


class InvalidLinkError(AccessDeniedError):
    """An answer link that is forged, altered, expired, or made for another event.

    `reason` is `invalid`, `expired` or `other_event`.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class NotAssignedError(AccessDeniedError):
    """The event is assigned to other people; this identity may not answer it."""


class TransportError(HitlError):
    """A hitlkit app could not be reached, or answered with something unexpected."""


class IdentityRequiredError(AccessDeniedError):
    """The event's policy counts identities, and this one is only declared (no credential)."""


class SeparationOfDutiesError(AccessDeniedError):
    """The identity that asked (or one the policy excludes) may not answer or be handed it."""
