"""Where a `Client` finds events: the store itself, or a hitlkit app over HTTP.

`Client` picks one backend when it is made; both give the same results and raise the
same errors (the app's error codes become exceptions through `hitlkit._errors`).
Each method is one call: a new way to reach events is one more class.

On the store, identities are trusted as given (proof `"store"`): whoever can write the
store can write any record in it, so a policy has nothing stronger to check there. Over
HTTP the app knows the caller by its token or link.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from hitlkit import _audit, _errors, _evidence, _listing, _ops, _policy_ops, _reading
from hitlkit._audit import AuditEntry
from hitlkit._errors import ErrorCode
from hitlkit._exceptions import (
    AccessDeniedError,
    AlreadyAnsweredError,
    CorruptRecordError,
    DelegationError,
    EventClosedError,
    EventNotFoundError,
    GrantError,
    HitlError,
    IdentityRequiredError,
    InvalidLinkError,
    InvalidValueError,
    NotAssignedError,
    SeparationOfDutiesError,
    StoreUnavailableError,
    TransportError,
    VoteChangedError,
)
from hitlkit._policy import Delegation, GrantRevocation
from hitlkit._reading import EventInfo, GrantInfo, Listing, StatusFilter
from hitlkit._records import Outcome, utcnow
from hitlkit._store import Store
from hitlkit._values import to_json

__all__ = ["Backend", "HttpBackend", "StoreBackend"]


class Backend(Protocol):
    """What a `Client` asks of the place events are kept."""

    async def list_events(
        self, status: StatusFilter, *, run_id: str | None, name: str | None, assignee: str | None
    ) -> Listing[EventInfo]: ...

    async def get_event(self, request_id: str) -> EventInfo: ...

    async def answer(
        self,
        request_id: str,
        value: object,
        *,
        by: str,
        via: str,
        as_text: bool,
        idempotency_key: str | None,
        comment: str | None = None,
        grant_seconds: float | None = None,
    ) -> Outcome | None: ...

    async def cancel(
        self, request_id: str, *, by: str, via: str, reason: str | None
    ) -> Outcome: ...

    async def audit(self, request_id: str) -> list[AuditEntry]: ...

    async def delegate(
        self, request_id: str, *, by: str, to: str, reason: str, via: str
    ) -> Delegation: ...

    async def grants(self, *, active_only: bool) -> list[GrantInfo]: ...

    async def revoke_grant(
        self, grant_id: str, *, by: str, reason: str | None
    ) -> GrantRevocation: ...

    async def evidence(self, request_id: str) -> dict[str, Any]: ...


class StoreBackend:
    """Events read and written in a store, through `hitlkit._ops` as the app does."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def list_events(
        self, status: StatusFilter, *, run_id: str | None, name: str | None, assignee: str | None
    ) -> Listing[EventInfo]:
        states = await _listing.list_event_states(
            self.store, status=status, run_id=run_id, name=name, assignee=assignee
        )
        return Listing((s.info() for s in states), skipped=states.skipped)

    async def get_event(self, request_id: str) -> EventInfo:
        return await _reading.read_event_info(self.store, request_id)

    async def answer(
        self,
        request_id: str,
        value: object,
        *,
        by: str,
        via: str,
        as_text: bool,
        idempotency_key: str | None,
        comment: str | None = None,
        grant_seconds: float | None = None,
    ) -> Outcome | None:
        answered = await _ops.answer_event(
            self.store,
            request_id,
            value,
            by=by,
            via=via,
            as_text=as_text,
            idempotency_key=idempotency_key,
            proof="store",
            comment=comment,
            grant_seconds=grant_seconds,
        )
        return answered.outcome

    async def cancel(self, request_id: str, *, by: str, via: str, reason: str | None) -> Outcome:
        return await _ops.cancel_event(self.store, request_id, by=by, via=via, reason=reason)

    async def audit(self, request_id: str) -> list[AuditEntry]:
        await _reading.load_event(self.store, request_id)
        return await _audit.read_audit(self.store, request_id)

    async def delegate(
        self, request_id: str, *, by: str, to: str, reason: str, via: str
    ) -> Delegation:
        record = await _reading.load_event(self.store, request_id)
        if record.policy is None:
            raise DelegationError(f"event {record.id} has no policy, so no place to hand on")
        return await _policy_ops.delegate(
            self.store, record, by=by, to=to, reason=reason, via=via, proof="store"
        )

    async def grants(self, *, active_only: bool) -> list[GrantInfo]:
        now = utcnow()
        found = await _policy_ops.list_grants(self.store, active_only=active_only)
        return [GrantInfo.of(grant, revoked, now) for grant, revoked in found]

    async def revoke_grant(self, grant_id: str, *, by: str, reason: str | None) -> GrantRevocation:
        return await _policy_ops.revoke_grant(self.store, grant_id, by=by, reason=reason)

    async def evidence(self, request_id: str) -> dict[str, Any]:
        return await _evidence.export(self.store, request_id)


class HttpBackend:
    """Events through a hitlkit app's JSON API at `endpoint`.

    `transport` (an `httpx` transport, such as `httpx.ASGITransport(app=app)`) replaces
    the network; it stays the caller's, and is not closed here.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._transport = transport

    async def list_events(
        self, status: StatusFilter, *, run_id: str | None, name: str | None, assignee: str | None
    ) -> Listing[EventInfo]:
        """Every page of `GET /api/events`, following `next_cursor`."""
        filters = {"status": status, "run_id": run_id, "name": name, "assignee": assignee}
        params = {k: v for k, v in filters.items() if v is not None}
        params["limit"] = str(_listing.PAGE_SIZE)
        events: list[EventInfo] = []
        skipped = 0
        while True:
            body = await self._request("GET", "/api/events", params=params)
            events += (EventInfo.model_validate(e) for e in body["events"])
            skipped += int(body.get("skipped", 0))
            older_app = "next_cursor" not in body and "limit" in params
            if older_app and (body.get("total") or 0) > len(events):
                # An app from before pages: ask it for every event at once.
                del params["limit"]
                events, skipped = [], 0
                continue
            cursor = body.get("next_cursor")
            if not cursor:
                return Listing(events, skipped=skipped)
            params["cursor"] = str(cursor)

    async def get_event(self, request_id: str) -> EventInfo:
        return EventInfo.model_validate(await self._request("GET", _path(request_id)))

    async def answer(
        self,
        request_id: str,
        value: object,
        *,
        by: str,
        via: str,
        as_text: bool,
        idempotency_key: str | None,
        comment: str | None = None,
        grant_seconds: float | None = None,
    ) -> Outcome | None:
        data = str(value) if as_text else to_json(value)
        key = idempotency_key or secrets.token_urlsafe(18)
        payload: dict[str, Any] = {"value": data, "by": by, "via": via}
        if comment is not None:
            payload["comment"] = comment
        if grant_seconds is not None:
            payload["grant_seconds"] = grant_seconds
        body = await self._request(
            "POST", _path(request_id) + "/answer", json=payload, headers={"Idempotency-Key": key}
        )
        outcome = body.get("outcome")
        return None if outcome is None else Outcome.model_validate(outcome)

    async def cancel(self, request_id: str, *, by: str, via: str, reason: str | None) -> Outcome:
        payload = {"reason": reason, "by": by, "via": via}
        body = await self._request("POST", _path(request_id) + "/cancel", json=payload)
        return Outcome.model_validate(body["outcome"])

    async def audit(self, request_id: str) -> list[AuditEntry]:
        body = await self._request("GET", _path(request_id) + "/audit")
        return [AuditEntry.model_validate(e) for e in body["entries"]]

    async def delegate(
        self, request_id: str, *, by: str, to: str, reason: str, via: str
    ) -> Delegation:
        payload = {"to": to, "reason": reason, "via": via}
        body = await self._request("POST", _path(request_id) + "/delegate", json=payload)
        return Delegation.model_validate(body)

    async def grants(self, *, active_only: bool) -> list[GrantInfo]:
        params = {"active": "true"} if active_only else {}
        body = await self._request("GET", "/api/grants", params=params)
        return [GrantInfo.model_validate(g) for g in body["grants"]]

    async def revoke_grant(self, grant_id: str, *, by: str, reason: str | None) -> GrantRevocation:
        path = f"/api/grants/{quote(grant_id, safe='')}/revoke"
        body = await self._request("POST", path, json={"reason": reason})
        return GrantRevocation.model_validate(body)

    async def evidence(self, request_id: str) -> dict[str, Any]:
        body: dict[str, Any] = await self._request("GET", _path(request_id) + "/evidence")
        return {k: v for k, v in body.items() if v is not None}

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.endpoint}{path}"
        if self._token:
            kwargs["headers"] = {
                **kwargs.get("headers", {}),
                "Authorization": f"Bearer {self._token}",
            }
        try:
            response = await self._send(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise TransportError(
                f"could not reach the hitlkit app at {self.endpoint}: {exc or type(exc).__name__}; "
                "check that it runs (`hitl serve`) and the URL (--endpoint, "
                "HITL_CLIENT_ENDPOINT)"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            raise TransportError(
                f"{method} {url} answered {response.status_code} with a body that is not JSON"
            ) from None
        if response.is_success:
            return body
        raise _error_from(response.status_code, body, path, endpoint=self.endpoint)

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self._transport is None:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                return await http.request(method, url, **kwargs)
        # The caller's transport: closing this client would close it too.
        http = httpx.AsyncClient(timeout=self._timeout, transport=self._transport)
        return await http.request(method, url, **kwargs)


def _path(request_id: str) -> str:
    return "/api/events/" + httpx.URL(request_id).raw_path.decode().lstrip("/")


def _error_from(status: int, body: Any, path: str, *, endpoint: str = "") -> Exception:
    """The exception for an app's error response: its code's row in the error table."""
    fields: dict[str, Any] = body if isinstance(body, dict) else {}
    message = str(fields.get("message") or f"the app answered {status}")
    row = _errors.by_code(fields.get("error"), status)
    if row is None:
        if status in (401, 403):  # a proxy's refusal, say: a credential was not accepted
            return AccessDeniedError(message)
        return TransportError(f"{message} (HTTP {status})")
    build = _BUILDERS.get(row.exception)
    error = build(row, fields, message, path, endpoint) if build else None
    return error or TransportError(f"{message} (HTTP {status})")


def _not_found(
    row: ErrorCode, fields: dict[str, Any], message: str, path: str, _: str
) -> Exception | None:
    if not path.startswith("/api/events/"):
        return None
    return EventNotFoundError(path.removeprefix("/api/events/").split("/")[0])


def _invalid_value(
    row: ErrorCode, fields: dict[str, Any], message: str, path: str, _: str
) -> Exception:
    errors = fields.get("errors")
    return InvalidValueError(
        message,
        expected=str(fields.get("expected", "")),
        got=None,
        errors=errors if isinstance(errors, list) else None,
    )


def _resolved(
    row: ErrorCode, fields: dict[str, Any], message: str, path: str, _: str
) -> Exception | None:
    try:
        outcome = Outcome.model_validate(fields.get("outcome"))
    except ValidationError:
        return None
    error_class = AlreadyAnsweredError if row is _errors.ALREADY_ANSWERED else EventClosedError
    return error_class(message, outcome)


def _unavailable(
    row: ErrorCode, fields: dict[str, Any], message: str, path: str, endpoint: str
) -> Exception:
    return StoreUnavailableError(f"of the app at {endpoint}", str(fields.get("cause") or message))


def _corrupt(
    row: ErrorCode, fields: dict[str, Any], message: str, path: str, _: str
) -> Exception | None:
    key = fields.get("key")
    if not isinstance(key, str):
        return None
    return CorruptRecordError(key, str(fields.get("reason") or message))


def _invalid_link(
    row: ErrorCode, fields: dict[str, Any], message: str, path: str, _: str
) -> Exception:
    return InvalidLinkError(
        message, reason="expired" if row is _errors.LINK_EXPIRED else "other_event"
    )


def _plain(row: ErrorCode, fields: dict[str, Any], message: str, path: str, _: str) -> Exception:
    return row.exception(message)


_Builder = Callable[[ErrorCode, dict[str, Any], str, str, str], "Exception | None"]
_BUILDERS: dict[type[HitlError], _Builder] = {
    EventNotFoundError: _not_found,
    InvalidValueError: _invalid_value,
    AlreadyAnsweredError: _resolved,
    EventClosedError: _resolved,
    StoreUnavailableError: _unavailable,
    CorruptRecordError: _corrupt,
    InvalidLinkError: _invalid_link,
    NotAssignedError: _plain,
    AccessDeniedError: _plain,
    IdentityRequiredError: _plain,
    SeparationOfDutiesError: _plain,
    VoteChangedError: _plain,
    DelegationError: _plain,
    GrantError: _plain,
}
"""How `Client` rebuilds the exceptions of the error table from an error body. The
codes of `TransportError`, and a body that lacks what its exception needs, become a
`TransportError`."""
