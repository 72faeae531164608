"""Answering from code: list, read, answer and cancel events.

`Client` talks to a store directly, or to a hitlkit app over HTTP; both give
the same results and raise the same errors, so scripts, the CLI and tests do
not care which. The module-level functions use a client built from the
environment (`HITL_STORE`).

```python
import hitlkit

hitlkit.answer("5f0c...e1", 3)                        # through ./.hitl
client = hitlkit.Client(endpoint="http://127.0.0.1:8080")
for event in client.list_events():
    print(event.name, event.prompt)
await client.answer.aio(event.request_id, True)
```
"""

from __future__ import annotations

import secrets
from typing import Any, Literal

import httpx
from pydantic import ValidationError

from hitlkit import _audit, _config, _listing, _ops
from hitlkit._audit import AuditEntry
from hitlkit._exceptions import (
    AccessDeniedError,
    AlreadyAnsweredError,
    CorruptRecordError,
    EventClosedError,
    EventNotFoundError,
    InvalidLinkError,
    InvalidValueError,
    NotAssignedError,
    StoreUnavailableError,
    TransportError,
)
from hitlkit._ops import EventInfo, Listing
from hitlkit._records import Outcome
from hitlkit._store import Store, open_store
from hitlkit._sync import syncify, syncmethod
from hitlkit._types import to_json

__all__ = ["Client", "EventInfo", "StatusFilter", "answer", "cancel", "get_event", "list_events"]

StatusFilter = _ops.StatusFilter


class Client:
    """Lists, reads, answers and cancels events, through a store or an app.

    Give `store` (a `Store` or URL) to work on storage directly, or `endpoint`
    (the app's base URL) to go through the web app; with neither, the store
    named by `HITL_STORE` (default `./.hitl`) is used. `user` is recorded as
    who answered (default `HITL_USER`, else the login name). `token` is sent to
    an app that requires one (default `HITL_TOKEN`): an API token, or the token
    of an answer link; the app then records the token's identity, not `user`.

    Every method blocks; `.aio` is its async twin:
    `await client.answer.aio(request_id, 3)`.
    """

    def __init__(
        self,
        *,
        store: Store | str | None = None,
        endpoint: str | None = None,
        user: str | None = None,
        via: Literal["python", "cli", "api"] = "python",
        timeout: float = 10.0,
        token: str | None = None,
    ) -> None:
        if store is not None and endpoint is not None:
            raise ValueError("give either store= or endpoint=, not both")
        self.user = user or _config.current_user()
        self.via = via
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.store = None if self.endpoint else open_store(store or _config.default_store_url())
        self._timeout = timeout
        self._token = token or _config.client_token()

    @syncmethod
    async def list_events(
        self,
        status: StatusFilter = "pending",
        *,
        run_id: str | None = None,
        name: str | None = None,
        assignee: str | None = None,
    ) -> Listing[EventInfo]:
        """Events newest first; `status` is "pending" (open), "resolved" or "all".

        `assignee` keeps the events assigned to that identity. Records that cannot be
        read are left out; the list's `skipped` counts them. Long listings are read a
        page at a time.
        """
        if self.store is not None:
            states = await _listing.list_event_states(
                self.store, status=status, run_id=run_id, name=name, assignee=assignee
            )
            return Listing((s.info() for s in states), skipped=states.skipped)
        return await self._list_pages(status, run_id=run_id, name=name, assignee=assignee)

    async def _list_pages(self, status: StatusFilter, **filters: str | None) -> Listing[EventInfo]:
        """Every page of `GET /api/events`, following `next_cursor`."""
        params = {k: v for k, v in {"status": status, **filters}.items() if v is not None}
        params["limit"] = str(_listing.PAGE_SIZE)
        events: list[EventInfo] = []
        skipped = 0
        while True:
            body = await self._request("GET", "/api/events", params=params)
            events += (EventInfo.model_validate(e) for e in body["events"])
            skipped += int(body.get("skipped", 0))
            if "next_cursor" not in body and body.get("total", 0) > len(events):
                # An app from before pages: ask it for every event at once.
                del params["limit"]
                events, skipped = [], 0
                continue
            cursor = body.get("next_cursor")
            if not cursor:
                return Listing(events, skipped=skipped)
            params["cursor"] = str(cursor)

    @syncmethod
    async def get_event(self, request_id: str) -> EventInfo:
        """One event by request id; `EventNotFoundError` if there is none."""
        if self.store is not None:
            return (await _ops.get_event_state(self.store, request_id)).info()
        return EventInfo.model_validate(await self._request("GET", _path(request_id)))

    @syncmethod
    async def answer(
        self,
        request_id: str,
        value: object,
        *,
        as_text: bool = False,
        idempotency_key: str | None = None,
    ) -> Outcome:
        """Answer an event; the first answer recorded wins.

        `value` is checked against the event's recorded type: JSON data, or a
        Python value of the type (a model instance, an enum, a date, a set),
        sent as JSON. Text is parsed the way a person's typed answer is ("42",
        "yes"), and `as_text=True` sends any value as text (a JSON object for
        models). Raises `InvalidValueError` (with `.errors` field by field),
        `AlreadyAnsweredError`, `EventClosedError` or `EventNotFoundError`.

        The same answer again (the same value, as the same identity or with the same
        `idempotency_key`) returns the recorded outcome: a retry after a lost reply
        is not told it lost. Over HTTP, the key goes in the `Idempotency-Key`
        header; without one, each call makes a random key of its own.

        ```python
        client.answer(request_id, 3)
        client.answer(request_id, 3)    # the same Outcome: already recorded
        ```
        """
        if self.store is not None:
            answered = await _ops.answer_event(
                self.store,
                request_id,
                value,
                by=self.user,
                via=self.via,
                as_text=as_text,
                idempotency_key=idempotency_key,
            )
            return answered.outcome
        data = str(value) if as_text else to_json(value)
        payload = {"value": data, "by": self.user, "via": self.via}
        key = idempotency_key or secrets.token_urlsafe(18)
        body = await self._request(
            "POST",
            _path(request_id) + "/answer",
            json=payload,
            headers={"Idempotency-Key": key},
        )
        return Outcome.model_validate(body["outcome"])

    @syncmethod
    async def cancel(self, request_id: str, *, reason: str | None = None) -> Outcome:
        """Cancel an open event; its waiter gets `EventCancelledError`."""
        if self.store is not None:
            return await _ops.cancel_event(
                self.store, request_id, by=self.user, via=self.via, reason=reason
            )
        payload = {"reason": reason, "by": self.user, "via": self.via}
        body = await self._request("POST", _path(request_id) + "/cancel", json=payload)
        return Outcome.model_validate(body["outcome"])

    @syncmethod
    async def audit(self, request_id: str) -> list[AuditEntry]:
        """The event's audit trail, oldest first: who resolved it, when, how; refused attempts."""
        if self.store is not None:
            await _ops.load_event(self.store, request_id)
            return await _audit.read_audit(self.store, request_id)
        body = await self._request("GET", _path(request_id) + "/audit")
        return [AuditEntry.model_validate(e) for e in body["entries"]]

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.endpoint}{path}"
        if self._token:
            kwargs["headers"] = {
                **kwargs.get("headers", {}),
                "Authorization": f"Bearer {self._token}",
            }
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise TransportError(
                f"could not reach the hitlkit app at {self.endpoint}: {exc}"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            raise TransportError(
                f"{method} {url} answered {response.status_code} with a body that is not JSON"
            ) from None
        if response.is_success:
            return body
        raise _error_from(response.status_code, body, path, endpoint=self.endpoint or "")


def _path(request_id: str) -> str:
    return "/api/events/" + httpx.URL(request_id).raw_path.decode().lstrip("/")


def _error_from(status: int, body: Any, path: str, *, endpoint: str = "") -> Exception:
    message = body.get("message", "") if isinstance(body, dict) else ""
    message = message or f"the app answered {status}"
    if status == 404 and isinstance(body, dict) and body.get("error") == "not_found":
        return EventNotFoundError(path.removeprefix("/api/events/").split("/")[0])
    error = body.get("error") if isinstance(body, dict) else None
    if status == 403 and error == "not_assigned":
        return NotAssignedError(message)
    if error in ("link_expired", "wrong_event"):
        reason = "expired" if error == "link_expired" else "other_event"
        return InvalidLinkError(message, reason=reason)
    if status in (401, 403) and error != "cross_site":
        return AccessDeniedError(message)
    if status == 422 and isinstance(body, dict) and body.get("error") == "invalid_value":
        errors = body.get("errors")
        return InvalidValueError(
            message,
            expected=body.get("expected", ""),
            got=None,
            errors=errors if isinstance(errors, list) else None,
        )
    if status == 503 and error == "store_unavailable":
        cause = body.get("cause") if isinstance(body, dict) else None
        return StoreUnavailableError(f"of the app at {endpoint}", str(cause or message))
    if error == "corrupt_record" and isinstance(body, dict) and isinstance(body.get("key"), str):
        return CorruptRecordError(body["key"], str(body.get("reason") or message))
    if status in (409, 410) and isinstance(body, dict) and "outcome" in body:
        try:
            outcome = Outcome.model_validate(body["outcome"])
        except ValidationError:
            return TransportError(message)
        error_class = AlreadyAnsweredError if status == 409 else EventClosedError
        return error_class(message, outcome)
    return TransportError(f"{message} (HTTP {status})")


@syncify
async def list_events(
    status: StatusFilter = "pending",
    *,
    run_id: str | None = None,
    name: str | None = None,
    assignee: str | None = None,
    store: Store | str | None = None,
    endpoint: str | None = None,
) -> Listing[EventInfo]:
    """`Client(store=..., endpoint=...).list_events(...)`; see `Client`.

    ```python
    for event in hitlkit.list_events():
        print(event.request_id, event.prompt)
    ```
    """
    client = Client(store=store, endpoint=endpoint)
    return await client.list_events.aio(status, run_id=run_id, name=name, assignee=assignee)


@syncify
async def get_event(
    request_id: str, *, store: Store | str | None = None, endpoint: str | None = None
) -> EventInfo:
    """`Client(store=..., endpoint=...).get_event(request_id)`; see `Client`."""
    return await Client(store=store, endpoint=endpoint).get_event.aio(request_id)


@syncify
async def answer(
    request_id: str,
    value: object,
    *,
    as_text: bool = False,
    store: Store | str | None = None,
    endpoint: str | None = None,
) -> Outcome:
    """Answer an event from code; see `Client.answer`.

    ```python
    hitlkit.answer("5f0c1a2b3c4d5e6f7a8b9c0d", 3)
    hitlkit.answer(event_id, True, endpoint="http://127.0.0.1:8080")
    ```
    """
    client = Client(store=store, endpoint=endpoint)
    return await client.answer.aio(request_id, value, as_text=as_text)


@syncify
async def cancel(
    request_id: str,
    *,
    reason: str | None = None,
    store: Store | str | None = None,
    endpoint: str | None = None,
) -> Outcome:
    """Cancel an event from code; see `Client.cancel`."""
    return await Client(store=store, endpoint=endpoint).cancel.aio(request_id, reason=reason)
