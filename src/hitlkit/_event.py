"""`Event` and `new_event`: ask a person for a typed value, then wait for it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from hitlkit import _config, _notify, _ops, _policy_ops, _reading
from hitlkit._decisions import link_expiry, outcome_error
from hitlkit._exceptions import ConfigurationError
from hitlkit._links import answer_url, sign_answer_link
from hitlkit._options import (
    NOT_GIVEN,
    PromptType,
    _NotGiven,
    check_assignees,
    check_options,
    documented,
    options_doc,
)
from hitlkit._policy import Delegation, Policy, PolicyState, Quorum, as_policy, check_policy
from hitlkit._records import (
    EventRecord,
    EventScope,
    Outcome,
    utcnow,
)
from hitlkit._store import Store, open_store
from hitlkit._sync import Syncified, syncify, syncmethod, twinmethod
from hitlkit._values import ValueAdapter, adapter_for, to_json
from hitlkit._waiting import Waiting, wait_async, wait_sync

__all__ = ["NOT_GIVEN", "Event", "PromptType", "new_event"]

hitlkit_log = logging.getLogger("hitlkit")

T = TypeVar("T")
U = TypeVar("U")


class Event(Generic[T]):
    """A question put to a person, whose typed answer `wait()` returns.

    Make one with `new_event` or `Event.create`; both find the existing event
    when the same name is asked again in the same run.

    ```python
    event = Event.create("add_to_x", data_type=int, prompt="What should I add to x?")
    print(event.form_url)
    y = event.wait()               # or: y = await event.wait.aio()
    ```
    """

    def __init__(
        self,
        record: EventRecord,
        *,
        value_type: ValueAdapter[T],
        store: Store,
        endpoint: str,
        notices: _notify.Notices | None = None,
    ) -> None:
        self._record = record
        self._value_type = value_type
        self._store = store
        self._endpoint = endpoint
        self._notices = notices

    # -- the seed's properties ----------------------------------------------

    @property
    def name(self) -> str:
        """The event's name, unique within its run."""
        return self._record.name

    @property
    def scope(self) -> EventScope:
        """Where the name is unique: "run"."""
        return self._record.scope

    @property
    def data_type(self) -> Any:
        """The Python type of the answer, as given: `int`, `Literal["a", "b"]`, a model class..."""
        return self._value_type.python_type

    @property
    def prompt(self) -> str:
        """The question shown to the person."""
        return self._record.prompt

    @property
    def request_id(self) -> str:
        """The event's id: 24 hex digits derived from its run id and name."""
        return self._record.id

    @property
    def endpoint(self) -> str:
        """Base URL of the web app that serves this event's form."""
        return self._endpoint

    @property
    def form_url(self) -> str:
        """The page where a person answers."""
        return f"{self._endpoint}/form/{self.request_id}"

    @property
    def api_url(self) -> str:
        """Where programs answer: POST `{"request_id": ..., "value": ...}`."""
        return f"{self._endpoint}/submit/json"

    @property
    def timeout_seconds(self) -> float:
        """Seconds from creation to the deadline."""
        return self._record.timeout_seconds

    @property
    def poll_interval_seconds(self) -> float:
        """Seconds between store checks where the store cannot notify."""
        return self._record.poll_interval_seconds

    # -- more -----------------------------------------------------------------

    @property
    def run_id(self) -> str:
        """The run this event belongs to."""
        return self._record.run_id

    @property
    def deadline(self) -> datetime:
        """When the event stops taking answers (UTC), fixed at creation."""
        return self._record.deadline

    @property
    def record(self) -> EventRecord:
        """Everything recorded when the event was created."""
        return self._record

    @property
    def store(self) -> Store:
        """The store that keeps this event."""
        return self._store

    @property
    def assignees(self) -> tuple[str, ...] | None:
        """Who may answer, or `None` when anyone who can reach the event may."""
        return self._record.assignees

    def answer_link(
        self,
        *,
        identity: str | None = None,
        expires_in: float | timedelta | None = None,
        secret: str | None = None,
    ) -> str:
        """A signed link that lets its holder answer this event, and only this one.

        - `identity`: recorded as who answered through the link (and checked
          against the assignees); `None` records "link".
        - `expires_in`: seconds (or a `timedelta`) from now; default: until the deadline.
        - `secret`: the signing secret, shared with the app; default `HITL_SECRET`.

        ```python
        url = event.answer_link(identity="ana", expires_in=3600)
        send_chat_message("ana", f"Please answer: {url}")
        ```
        """
        key = secret or _config.secret()
        if key is None:
            raise ConfigurationError(
                "answer links need a secret shared with the app: set HITL_SECRET or pass secret="
            )
        expires_at = link_expiry(self.deadline, expires_in, utcnow())
        token = sign_answer_link(key, self.request_id, identity=identity, expires_at=expires_at)
        return answer_url(self._endpoint, self.request_id, token)

    @twinmethod
    def wait(self) -> T:
        """Block until the event resolves and return the answer.

        Returns the answer, or the default when the deadline passes and one was
        given when the event was first created. Raises `EventTimeoutError` (a
        `TimeoutError`) at the deadline otherwise, and `EventCancelledError` if the
        event was cancelled.
        `await event.wait.aio()` is the async form.

        While the store does not answer, it keeps trying (logged once), and the
        deadline ends the wait once the store answers again. Still failing
        ten poll intervals (`poll_interval_seconds`) after the deadline, it raises
        `StoreUnavailableError`. A record that cannot be read raises
        `CorruptRecordError`, naming its key.
        """
        return self._result(wait_sync(self._waiting()))

    @wait.twin
    async def _wait_async(self) -> T:
        return self._result(await wait_async(self._waiting()))

    @syncmethod
    async def outcome(self) -> Outcome | None:
        """The recorded outcome (who, when, how), or `None` while open.

        ```python
        event.outcome()              # Outcome(status="answered", value=3, by="ana", ...)
        await event.outcome.aio()
        ```
        """
        return await _reading.load_outcome(self._store, self.request_id)

    @syncmethod
    async def answer(
        self, value: T, *, comment: str | None = None, grant_seconds: float | None = None
    ) -> Outcome | None:
        """Answer the event from code, as the current user (`HITL_USER`).

        Follows the same rules as every other answer: the first one wins. The same
        answer from the same user again returns the recorded outcome (a retry);
        another answer raises `AlreadyAnsweredError`.

        Under a policy the answer is the user's vote, with an optional `comment`: it
        returns the outcome once the votes decide, `None` while they do not yet. A
        grantor may pass `grant_seconds` to let the decision stand for identical
        requests that long (a standing approval).
        """
        answered = await _ops.answer_event(
            self._store,
            self.request_id,
            value,
            by=_config.current_user(),
            via="python",
            comment=comment,
            grant_seconds=grant_seconds,
        )
        return answered.outcome

    @syncmethod
    async def policy_state(self) -> PolicyState | None:
        """Where the event stands under its policy (votes, steps, who may answer now),
        or `None` for an event without one.

        ```python
        event.policy_state().summary    # "1 of 2 approved; at step 1 of 2, ..."
        ```
        """
        if self._record.policy is None:
            return None
        return await _policy_ops.current_state(self._store, self._record)

    @syncmethod
    async def delegate(self, to: str, reason: str) -> Delegation:
        """Hand the current user's place on this event to `to`, saying why (the policy
        must allow delegation)."""
        return await _policy_ops.delegate(
            self._store,
            self._record,
            by=_config.current_user(),
            to=to,
            reason=reason,
            via="python",
            proof="store",
        )

    @syncmethod
    async def ask_again(
        self,
        prompt: str,
        *,
        description: str | None = None,
        timeout_seconds: float | None = None,
    ) -> Event[T]:
        """Ask the question again, revised, as its next version, once it was rejected.

        The new version has its own id (run, name and version), the same type, policy,
        assignees and requester, and links to this one: its page shows the earlier
        rounds with their votes and comments. A restarted program that calls
        `ask_again` again finds the version it made.

        ```python
        approved = event.wait()
        while not approved:
            comments = event.outcome().reason
            event = event.ask_again(f"{prompt} (revised after: {comments})")
            approved = event.wait()
        ```
        """
        outcome = await _reading.load_outcome(self._store, self.request_id)
        if outcome is None:
            raise ValueError(f"event {self.name!r} is still open: ask again once it is rejected")
        if outcome.status == "answered" and _policy_ops.approves(self._record, outcome.value):
            raise ValueError(f"event {self.name!r} was approved: there is nothing to revise")
        record = self._record
        seconds = record.timeout_seconds if timeout_seconds is None else timeout_seconds
        check_options(
            record.name,
            record.scope,
            prompt,
            seconds,
            record.poll_interval_seconds,
            description,
            record.prompt_type,
        )
        if record.policy is not None:  # its steps must start before the new deadline too
            check_policy(
                record.policy,
                timeout_seconds=seconds,
                has_default=record.has_default,
                answers_yes_no=_policy_ops.answers_yes_no(record),
            )
        new, created = await _ops.open_event(
            self._store,
            name=record.name,
            value_type=self._value_type,
            scope=record.scope,
            run_id=record.run_id,
            prompt=prompt,
            timeout_seconds=seconds,
            poll_interval_seconds=record.poll_interval_seconds,
            default=(self._value_type.load(record.default),) if record.has_default else None,
            created_by=_config.host_and_pid(),
            assignees=record.assignees,
            prompt_type=record.prompt_type,
            description=description if description is not None else record.description,
            initial=record.initial,
            policy=record.policy,
            requested_by=record.requested_by,
            version=record.version + 1,
            previous_id=record.id,
        )
        if not created and new.prompt != prompt:
            hitlkit_log.warning(
                "version %d of %r was asked before with another prompt; that one counts "
                "(a restarted program finds the version it made)",
                new.version,
                record.name,
            )
        return Event(
            new,
            value_type=self._value_type,
            store=self._store,
            endpoint=self._endpoint,
            notices=self._notices,
        )

    @syncmethod
    async def cancel(self, reason: str | None = None) -> Outcome:
        """Call the event off; a waiter gets `EventCancelledError`."""
        return await _ops.cancel_event(
            self._store, self.request_id, by=_config.current_user(), via="python", reason=reason
        )

    def _waiting(self) -> Waiting:
        return Waiting(self._store, self._record, self._endpoint, self._notices)

    def _result(self, outcome: Outcome) -> T:
        error = outcome_error(
            outcome,
            name=self.name,
            request_id=self.request_id,
            timeout_seconds=self.timeout_seconds,
        )
        if error is not None:
            raise error
        return self._value_type.load(outcome.value)

    def __repr__(self) -> str:
        return (
            f"Event(name={self.name!r}, scope={self.scope!r}, "
            f"data_type={self._value_type.name}, request_id={self.request_id!r})"
        )

    @staticmethod
    @syncify
    @documented
    async def create(
        name: str,
        data_type: type[U],
        scope: EventScope = "run",
        prompt: str = "Please provide a value",
        timeout_seconds: float = 3600,
        poll_interval_seconds: float = 5,
        *,
        default: U | _NotGiven = NOT_GIVEN,
        initial: object = None,
        description: str | None = None,
        prompt_type: PromptType = "text",
        run_id: str | None = None,
        store: Store | str | None = None,
        endpoint: str | None = None,
        serve: bool | None = None,
        assignees: Sequence[str] | None = None,
        notify: Sequence[str] | None = None,
        remind_before: float | None = None,
        policy: Policy | Quorum | None = None,
        requested_by: str | None = None,
    ) -> Event[U]:
        """Create the event `name` in this run, or find it if it exists.

        {options}

        ```python
        event = await Event.create.aio("ok", data_type=bool, prompt="Deploy?")
        ```
        """
        value_type: ValueAdapter[U] = adapter_for(data_type)
        check_options(
            name, scope, prompt, timeout_seconds, poll_interval_seconds, description, prompt_type
        )
        if not isinstance(default, _NotGiven):
            value_type.dump(default)  # refused here if it does not fit
        notices = _notify.notices_for(notify, remind_before, timeout_seconds=timeout_seconds)
        requester = _requester(requested_by)
        the_policy, notices = _policy_ops.prepare_policy(
            as_policy(policy),
            notices,
            value_type=value_type,
            timeout_seconds=timeout_seconds,
            has_default=not isinstance(default, _NotGiven),
            requested_by=requester,
        )
        if the_policy is not None:
            assignees = _policy_ops.first_assignees(
                the_policy, check_assignees(assignees), requested_by=requester
            )
        # Before the event is created: were a bad HITL_ENDPOINT to fail after, a retry would
        # find the event and never announce it.
        the_endpoint = (endpoint or _config.default_endpoint()).rstrip("/")
        the_store = open_store(store if store is not None else _config.default_store_url())
        if serve is None:  # an in-memory store has no one else to serve: no app by default
            serve = not the_store.in_process and _config.autostart() and _can_serve()
        if serve:
            # Before the event too: an endpoint taken by another program fails the call
            # without leaving an event that nobody can answer through it. The web app sits
            # above events; importing it here keeps that direction at import time and
            # spares processes that never serve the cost.
            from hitlkit._server._embedded import ensure_app

            await ensure_app(the_store, the_endpoint)
        record, created = await _ops.open_event(
            the_store,
            name=name,
            value_type=value_type,
            scope=scope,
            run_id=run_id or _config.default_run_id(),
            prompt=prompt,
            timeout_seconds=timeout_seconds,
            poll_interval_seconds=poll_interval_seconds,
            default=None if isinstance(default, _NotGiven) else (default,),
            created_by=_config.host_and_pid(),
            assignees=check_assignees(assignees),
            prompt_type=prompt_type,
            description=description,
            initial=_initial_data(initial),
            policy=the_policy,
            requested_by=requester,
        )
        if not created:
            _warn_if_default_differs(record, value_type, default)
        if created and notices is not None:
            _notify.announce(the_store, record, notices, the_endpoint)
        return Event(
            record,
            value_type=value_type,
            store=the_store,
            endpoint=the_endpoint,
            notices=notices,
        )


def _requester(requested_by: str | None) -> str:
    """Who asks: `requested_by=`, else `HITL_USER`, else the login name."""
    if requested_by is None:
        return _config.current_user()
    if not isinstance(requested_by, str) or not requested_by.strip() or len(requested_by) > 100:
        raise ValueError(
            f"requested_by must be non-empty text of at most 100 characters, got {requested_by!r}"
        )
    return requested_by


@functools.cache
def _can_serve() -> bool:
    """Whether this process can start the web app; without it, say once how to answer."""
    missing = _config.web_app_missing()
    if missing:
        hitlkit_log.warning(
            "no form is served from this process (%s); answer with `hitl answer`, the Python "
            "API or an app serving the same store",
            missing,
        )
    return not missing


def _warn_if_default_differs(
    record: EventRecord, value_type: ValueAdapter[Any], default: object
) -> None:
    """Say so when a restarted program passes another default than its event recorded."""
    given = not isinstance(default, _NotGiven)
    if given == record.has_default and (not given or value_type.dump(default) == record.default):
        return
    recorded = f"default {record.default!r}" if record.has_default else "no default"
    hitlkit_log.warning(
        "event %r of run %r was created with %s; that one counts, not the default given now",
        record.name,
        record.run_id,
        recorded,
    )


def _initial_data(initial: object) -> Any:
    """`initial` as JSON data; a model keeps only the fields that were set."""
    if isinstance(initial, BaseModel):
        return initial.model_dump(mode="json", exclude_unset=True)
    return to_json(initial)


new_event = Syncified(Event.create.aio)
new_event.__name__ = "new_event"
new_event.__doc__ = f"""Ask a person for a value of `data_type`; the same call as `Event.create`.

```python
import hitlkit as hitl

event = hitl.new_event("add_to_x", data_type=int, prompt="What should I add to x?")
print(event.form_url)
y = event.wait()
```

{options_doc()}
"""
