"""Answering from code: list, read, answer and cancel events; vote, delegate, grant.

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

from typing import Any, Literal

import httpx

from hitlkit import _config, _reading
from hitlkit._audit import AuditEntry
from hitlkit._client_backends import Backend, HttpBackend, StoreBackend
from hitlkit._policy import Delegation, GrantRevocation, PolicyState
from hitlkit._reading import EventInfo, GrantInfo, Listing
from hitlkit._records import Outcome
from hitlkit._store import Store, open_store
from hitlkit._sync import syncify, syncmethod

__all__ = ["Client", "EventInfo", "StatusFilter", "answer", "cancel", "get_event", "list_events"]

StatusFilter = _reading.StatusFilter


class Client:
    """Lists, reads, answers and cancels events, through a store or an app.

    Give `store` (a `Store` or URL) to work on storage directly, or `endpoint`
    (the app's base URL) to go through the web app; with neither, the store
    named by `HITL_STORE` (else the configuration file, else the nearest `.hitl`
    from the current folder up, else `./.hitl`) is used. `user` is recorded as
    who answered (default `HITL_USER`, else the login name). `token` is sent to
    an app that requires one (default `HITL_TOKEN`): an API token, or the token
    of an answer link; the app then records the token's identity, not `user`.
    `transport`, an `httpx` transport, carries the requests to `endpoint` instead
    of the network: `httpx.ASGITransport(app=create_app(store))` in a test.

    Every method blocks; `.aio` is its async twin:
    `await client.answer.aio(request_id, 3)`.

    Under a decision policy (quorum, separation of duties, delegation, standing
    approvals), `user` is the identity that votes. Over HTTP the app takes it from the
    token instead; on the store, it is trusted as given (proof `"store"`): whoever can
    write the store can write any record in it anyway, so keep a store under policies
    writable by its app and trusted operators only.
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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if store is not None and endpoint is not None:
            raise ValueError("give either store= or endpoint=, not both")
        if transport is not None and endpoint is None:
            raise ValueError("transport= carries requests to an app: give endpoint= too")
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise TypeError(
                "transport= takes an async httpx transport, such as"
                " httpx.ASGITransport(app=app) or httpx.AsyncHTTPTransport(),"
                f" not {type(transport).__name__}"
            )
        self.user = user or _config.current_user()
        self.via = via
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.store = None if self.endpoint else open_store(store or _config.default_store_url())
        self._backend: Backend
        if self.store is not None:
            self._backend = StoreBackend(self.store)
        else:
            token = token or _config.client_token()
            self._backend = HttpBackend(
                endpoint or "", token=token, timeout=timeout, transport=transport
            )

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
        return await self._backend.list_events(status, run_id=run_id, name=name, assignee=assignee)

    @syncmethod
    async def get_event(self, request_id: str) -> EventInfo:
        """One event by request id; `EventNotFoundError` if there is none."""
        return await self._backend.get_event(request_id)

    @syncmethod
    async def answer(
        self,
        request_id: str,
        value: object,
        *,
        as_text: bool = False,
        idempotency_key: str | None = None,
        comment: str | None = None,
        grant_seconds: float | None = None,
    ) -> Outcome | None:
        """Answer an event; the first answer recorded wins.

        Under a policy the answer is a vote: the outcome comes back once the votes
        decide, `None` while they do not yet. `comment` goes with the vote (why a
        rejection, say); `grant_seconds`, from a grantor (`HITL_GRANTORS`) on an event
        whose policy has a `grant_scope`, lets the decision stand for identical requests
        that long. A vote cast twice is a retry; another vote of the same identity
        raises `VoteChangedError`; who asked, under separation of duties,
        `SeparationOfDutiesError`.

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
        return await self._backend.answer(
            request_id,
            value,
            by=self.user,
            via=self.via,
            as_text=as_text,
            idempotency_key=idempotency_key,
            comment=comment,
            grant_seconds=grant_seconds,
        )

    @syncmethod
    async def policy_state(self, request_id: str) -> PolicyState | None:
        """Where an event stands under its policy ("1 of 2 approved", its votes, steps,
        delegations, who may answer now); `None` for an event without a policy."""
        return (await self._backend.get_event(request_id)).policy_state

    @syncmethod
    async def delegate(self, request_id: str, to: str, reason: str) -> Delegation:
        """Hand your place on an event (as `user`) to `to`, saying why; where its policy
        allows. Raises `DelegationError` or `SeparationOfDutiesError` where it does not."""
        return await self._backend.delegate(
            request_id, by=self.user, to=to, reason=reason, via=self.via
        )

    @syncmethod
    async def grants(self, active_only: bool = False) -> list[GrantInfo]:
        """Standing approvals, newest first (`active_only`: neither expired nor revoked)."""
        return await self._backend.grants(active_only=active_only)

    @syncmethod
    async def revoke_grant(self, grant_id: str, reason: str | None = None) -> GrantRevocation:
        """Call a standing approval off (as `user`, who must be a grantor: `GrantError`)."""
        return await self._backend.revoke_grant(grant_id, by=self.user, reason=reason)

    @syncmethod
    async def evidence(self, request_id: str) -> dict[str, Any]:
        """The event's evidence: its record, the hash of what was shown, its outcome, every
        vote, delegation, step and the grant used, signed with `HITL_EVIDENCE_KEY` when set
        (over HTTP, the app's key). `hitl verify` checks it offline."""
        return await self._backend.evidence(request_id)

    @syncmethod
    async def cancel(self, request_id: str, *, reason: str | None = None) -> Outcome:
        """Cancel an open event; its waiter gets `EventCancelledError`."""
        return await self._backend.cancel(request_id, by=self.user, via=self.via, reason=reason)

    @syncmethod
    async def audit(self, request_id: str) -> list[AuditEntry]:
        """The event's audit trail, oldest first: who resolved it, when, how; refused attempts."""
        return await self._backend.audit(request_id)


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
    comment: str | None = None,
    grant_seconds: float | None = None,
) -> Outcome | None:
    """Answer an event from code; see `Client.answer` (under a policy, a vote: `comment`
    goes with it, and a grantor's `grant_seconds` lets the decision stand that long).

    ```python
    hitlkit.answer("5f0c1a2b3c4d5e6f7a8b9c0d", 3)
    hitlkit.answer(event_id, True, endpoint="http://127.0.0.1:8080")
    hitlkit.answer(event_id, False, comment="needs a rollback plan")
    ```
    """
    client = Client(store=store, endpoint=endpoint)
    return await client.answer.aio(
        request_id, value, as_text=as_text, comment=comment, grant_seconds=grant_seconds
    )


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
