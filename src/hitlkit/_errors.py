"""The error table: each machine-readable error code, its HTTP status, the exception
`Client` raises for it, and the `hitl` exit code.

The app answers every refusal with `{"error": code, "message": sentence, ...}` and the
code's status; `Client` turns a code back into its exception; the CLI exits with the
exception's exit code. All three read this table, and the README's table is checked
against it (tests/unit/test_error_table.py).

An exception with exactly one code here (`EventNotFoundError` → `not_found`) is what
the app answers when that exception reaches it; one with several (`AccessDeniedError`:
`unauthorized` or `forbidden`) is answered with the code the check that refused chose.
Codes of `TransportError` are refusals of the request itself (its shape, size, origin),
not of what it asks for: `Client` raises `TransportError` with the app's message.

```python
from hitlkit._errors import NOT_FOUND, code_of, exit_code_of
NOT_FOUND.status                              # 404
code_of(EventNotFoundError("5f0c"))           # NOT_FOUND
exit_code_of(AlreadyAnsweredError)            # 1
```
"""

from __future__ import annotations

from dataclasses import dataclass

from hitlkit._exceptions import (
    AccessDeniedError,
    AlreadyAnsweredError,
    ConfigurationError,
    CorruptRecordError,
    DecisionFailedError,
    DelegationError,
    EventCancelledError,
    EventClosedError,
    EventConflictError,
    EventNotFoundError,
    EventTimeoutError,
    GrantError,
    HitlError,
    IdentityRequiredError,
    InvalidLinkError,
    InvalidValueError,
    NotAssignedError,
    SeparationOfDutiesError,
    StoreUnavailableError,
    TransportError,
    UnsupportedTypeError,
    VoteChangedError,
)

__all__ = [
    "ALREADY_ANSWERED",
    "BAD_REQUEST",
    "CLOSED",
    "CORRUPT_RECORD",
    "CROSS_SITE",
    "DELEGATION_REFUSED",
    "ERRORS",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "FORBIDDEN",
    "GRANT_REFUSED",
    "IDENTITY_REQUIRED",
    "INTERNAL_ERROR",
    "INVALID_HOST",
    "INVALID_REQUEST",
    "INVALID_VALUE",
    "LINK_EXPIRED",
    "LOCAL_ERRORS",
    "METHOD_NOT_ALLOWED",
    "NOT_ASSIGNED",
    "NOT_FOUND",
    "PAYLOAD_TOO_LARGE",
    "SEPARATION_OF_DUTIES",
    "STORE_UNAVAILABLE",
    "TOO_MANY_STREAMS",
    "UNAUTHORIZED",
    "UNSUPPORTED_MEDIA_TYPE",
    "VOTE_CHANGED",
    "WRONG_EVENT",
    "ErrorCode",
    "by_code",
    "code_of",
    "exit_code_of",
]

EXIT_ERROR = 1
"""`hitl` exit code for every hitlkit error (and bad input): one stderr line says which."""
EXIT_USAGE = 2
"""`hitl` exit code for a command line it cannot use (as click's own usage errors)."""
EXIT_INTERRUPTED = 130
"""`hitl` exit code after Ctrl-C (128 + SIGINT), as shells report it."""


@dataclass(frozen=True)
class ErrorCode:
    """One kind of refusal: the `error` of a JSON error body, with its HTTP status,
    the exception `Client` raises for it, and what it means."""

    code: str
    status: int
    exception: type[HitlError]
    meaning: str

    @property
    def exit_code(self) -> int:
        """What `hitl` exits with when a command meets this error."""
        return exit_code_of(self.exception)


NOT_FOUND = ErrorCode("not_found", 404, EventNotFoundError, "no event with that id")
INVALID_VALUE = ErrorCode(
    "invalid_value", 422, InvalidValueError, "the answer does not fit the recorded type"
)
ALREADY_ANSWERED = ErrorCode(
    "already_answered", 409, AlreadyAnsweredError, "another answer was recorded first"
)
CLOSED = ErrorCode("closed", 410, EventClosedError, "the event timed out or was cancelled")
NOT_ASSIGNED = ErrorCode(
    "not_assigned", 403, NotAssignedError, "the event is assigned to other people"
)
IDENTITY_REQUIRED = ErrorCode(
    "identity_required",
    403,
    IdentityRequiredError,
    "the event's policy needs a verified identity (a token or a link made for it)",
)
SEPARATION_OF_DUTIES = ErrorCode(
    "separation_of_duties",
    403,
    SeparationOfDutiesError,
    "who asked (or an identity the policy excludes) may not answer or be handed it",
)
VOTE_CHANGED = ErrorCode(
    "vote_changed", 409, VoteChangedError, "a vote was already cast; it cannot be changed"
)
DELEGATION_REFUSED = ErrorCode(
    "delegation_refused", 422, DelegationError, "the policy does not allow that delegation"
)
GRANT_REFUSED = ErrorCode(
    "grant_refused", 403, GrantError, "not a grantor, or the event takes no standing approvals"
)
UNAUTHORIZED = ErrorCode("unauthorized", 401, AccessDeniedError, "no valid credential")
FORBIDDEN = ErrorCode(
    "forbidden", 403, AccessDeniedError, "the credential does not allow this action"
)
LINK_EXPIRED = ErrorCode("link_expired", 401, InvalidLinkError, "the answer link has expired")
WRONG_EVENT = ErrorCode(
    "wrong_event", 403, InvalidLinkError, "the answer link is for another event"
)
STORE_UNAVAILABLE = ErrorCode(
    "store_unavailable", 503, StoreUnavailableError, "the store did not answer; see Retry-After"
)
CORRUPT_RECORD = ErrorCode(
    "corrupt_record", 500, CorruptRecordError, "a stored record cannot be read"
)
INTERNAL_ERROR = ErrorCode(
    "internal_error", 500, TransportError, "the app failed (its log says why)"
)
INVALID_REQUEST = ErrorCode(
    "invalid_request", 422, TransportError, "the request does not have the expected shape"
)
BAD_REQUEST = ErrorCode("bad_request", 400, TransportError, "the request body could not be read")
INVALID_HOST = ErrorCode(
    "invalid_host", 400, TransportError, "the app does not answer to that host name"
)
CROSS_SITE = ErrorCode(
    "cross_site", 403, TransportError, "a change asked by another website's page"
)
METHOD_NOT_ALLOWED = ErrorCode(
    "method_not_allowed", 405, TransportError, "the address does not take that method"
)
PAYLOAD_TOO_LARGE = ErrorCode(
    "payload_too_large", 413, TransportError, "the request body is over the limit"
)
UNSUPPORTED_MEDIA_TYPE = ErrorCode(
    "unsupported_media_type", 415, TransportError, "the body's content type is not accepted"
)
TOO_MANY_STREAMS = ErrorCode(
    "too_many_streams", 429, TransportError, "too many open change streams; see Retry-After"
)

ERRORS: tuple[ErrorCode, ...] = (
    NOT_FOUND,
    INVALID_VALUE,
    ALREADY_ANSWERED,
    CLOSED,
    NOT_ASSIGNED,
    IDENTITY_REQUIRED,
    SEPARATION_OF_DUTIES,
    VOTE_CHANGED,
    DELEGATION_REFUSED,
    GRANT_REFUSED,
    UNAUTHORIZED,
    FORBIDDEN,
    LINK_EXPIRED,
    WRONG_EVENT,
    STORE_UNAVAILABLE,
    CORRUPT_RECORD,
    INTERNAL_ERROR,
    INVALID_REQUEST,
    BAD_REQUEST,
    INVALID_HOST,
    CROSS_SITE,
    METHOD_NOT_ALLOWED,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    TOO_MANY_STREAMS,
)
"""Every code the app answers with, in the README's order."""

LOCAL_ERRORS: tuple[type[HitlError], ...] = (
    ConfigurationError,
    UnsupportedTypeError,
    EventConflictError,
    EventTimeoutError,
    EventCancelledError,
    DecisionFailedError,
    TransportError,
)
"""Errors raised where they happen, never sent over HTTP as such (an app's
`ConfigurationError` or `TransportError` is its own `internal_error`)."""

_BY_CODE = {row.code: row for row in ERRORS}
_ONLY_CODE = {
    row.exception: row
    for row in ERRORS
    if row.exception is not TransportError
    and sum(other.exception is row.exception for other in ERRORS) == 1
}


def by_code(code: object, status: int) -> ErrorCode | None:
    """The row of an error body's `code`, if the app answers it with `status`."""
    row = _BY_CODE.get(code) if isinstance(code, str) else None
    return row if row is not None and row.status == status else None


def code_of(exc: HitlError) -> ErrorCode:
    """What the app answers when `exc` reaches it: its exception's one code, else
    `INTERNAL_ERROR` (a fault on the app's side)."""
    for cls in type(exc).__mro__:
        row = _ONLY_CODE.get(cls)
        if row is not None:
            return row
    return INTERNAL_ERROR


def exit_code_of(exception: type[BaseException]) -> int:
    """The `hitl` exit code for an error of this type: `EXIT_ERROR` for every hitlkit
    error (the stderr line tells them apart)."""
    if issubclass(exception, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_ERROR
