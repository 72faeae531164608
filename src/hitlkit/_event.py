"""`Event` and `new_event`: ask a person for a typed value, then wait for it."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Generic, Literal, TypeVar

from pydantic import BaseModel

from hitlkit import _config, _notify, _ops
from hitlkit._exceptions import (
    ConfigurationError,
    EventCancelledError,
    EventTimeoutError,
    StoreUnavailableError,
)
from hitlkit._links import answer_url, sign_answer_link
from hitlkit._records import (
    EventRecord,
    EventScope,
    Outcome,
    outcome_key,
    outcome_prefix,
    utcnow,
)
from hitlkit._store import Store, open_store
from hitlkit._sync import syncify, syncmethod
from hitlkit._values import ValueAdapter, adapter_for, to_json
from hitlkit._watch import watcher_for

__all__ = ["NOT_GIVEN", "Event", "PromptType", "new_event"]

log = logging.getLogger("hitlkit.notify")
hitlkit_log = logging.getLogger("hitlkit")

T = TypeVar("T")
U = TypeVar("U")

MAX_NAME_LENGTH = 200
MAX_PROMPT_LENGTH = 20_000
MAX_ASSIGNEES = 100
MAX_IDENTITY_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 5_000

PromptType = Literal["text", "markdown"]
"""How a prompt is shown: as plain text, or as Markdown (tables, code, links; no raw HTML)."""


class _NotGiven(enum.Enum):
    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = _NotGiven.NOT_GIVEN
"""Marks an option that was not given, where `None` is a meaningful value."""


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


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
        if expires_in is None:
            expires_at = self.deadline
        else:
            seconds = (
                expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
            )
            if not seconds > 0 or not math.isfinite(seconds):
                raise ValueError(f"expires_in must be a positive duration, got {expires_in!r}")
            expires_at = utcnow() + timedelta(seconds=seconds)
        token = sign_answer_link(key, self.request_id, identity=identity, expires_at=expires_at)
        return answer_url(self._endpoint, self.request_id, token)

    @syncmethod
    async def wait(self) -> T:
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
        return await self._wait()

    @syncmethod
    async def outcome(self) -> Outcome | None:
        """The recorded outcome (who, when, how), or `None` while open.

        ```python
        event.outcome()              # Outcome(status="answered", value=3, by="ana", ...)
        await event.outcome.aio()
        ```
        """
        return await _ops.load_outcome(self._store, self.request_id)

    @syncmethod
    async def answer(self, value: T) -> Outcome:
        """Answer the event from code, as the current user (`HITL_USER`).

        Follows the same rules as every other answer: the first one wins. The same
        answer from the same user again returns the recorded outcome (a retry);
        another answer raises `AlreadyAnsweredError`.
        """
        answered = await _ops.answer_event(
            self._store,
            self.request_id,
            value,
            by=_config.current_user(),
            via="python",
        )
        return answered.outcome

    @syncmethod
    async def cancel(self, reason: str | None = None) -> Outcome:
        """Call the event off; a waiter gets `EventCancelledError`."""
        return await _ops.cancel_event(
            self._store, self.request_id, by=_config.current_user(), via="python", reason=reason
        )

    async def _wait(self) -> T:
        # One future per look, set by a wake-up or the deadline: a waiter holds little
        # more than that while it waits, so ten thousand of them fit in a process.
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the waiting loop has closed
                loop.call_soon_threadsafe(_settle, woken)

        watcher = watcher_for(self._store)
        prefix = outcome_prefix(self.request_id)
        unsubscribe = watcher.subscribe(
            outcome_key(self.request_id),
            prefix,
            wake,
            self.poll_interval_seconds,
            endpoint=self._endpoint,
        )
        reminder = self._schedule_reminder()
        outage = _Outage(self)
        try:
            # Notified first, then look: an answer that lands at any moment after is seen.
            await watcher.ready(prefix)
            while True:
                woken = loop.create_future()
                try:
                    outcome = await self._look()
                except StoreUnavailableError as exc:
                    delay = outage.retry_in(exc)  # raises once it is time to give up
                else:
                    outage.over()
                    if outcome is not None:
                        return self._result(outcome)
                    delay = (self.deadline - utcnow()).total_seconds()
                timer = loop.call_later(delay, _settle, woken)
                try:
                    await woken
                finally:
                    timer.cancel()
        finally:
            unsubscribe()
            if reminder is not None:
                reminder.cancel()

    async def _look(self) -> Outcome | None:
        """The outcome, recording the timeout once the deadline has passed; None while open."""
        outcome = await _ops.load_outcome(self._store, self.request_id)
        if outcome is None and not self.deadline > utcnow():
            outcome = await _ops.expire_event(self._store, self._record)
        return outcome

    def _schedule_reminder(self) -> asyncio.Task[None] | None:
        """Start the reminder's timer, if this event has one; the task never raises."""
        notices = self._notices
        if notices is None or notices.remind_before is None:
            return None
        remind_at = self.deadline - timedelta(seconds=notices.remind_before)
        delay = max(0.0, (remind_at - utcnow()).total_seconds())

        async def remind_later() -> None:
            await asyncio.sleep(delay)
            try:
                await _notify.remind(self._store, self._record, notices, self._endpoint)
            except Exception as exc:  # a reminder never fails the wait
                log.warning("could not send the reminder of %s: %s", self.request_id, exc)

        return asyncio.ensure_future(remind_later())

    def _result(self, outcome: Outcome) -> T:
        # The recorded outcome is the truth: a restarted program replays it exactly, whatever
        # default it passes now (the default recorded at creation is what `defaulted` holds).
        if outcome.status in ("answered", "defaulted"):
            return self._value_type.load(outcome.value)
        if outcome.status == "cancelled":
            reason = f": {outcome.reason}" if outcome.reason else ""
            raise EventCancelledError(f"event {self.name!r} was cancelled{reason}", outcome)
        raise EventTimeoutError(
            f"event {self.name!r} ({self.request_id}) got no answer within "
            f"{self.timeout_seconds:g} second{'' if self.timeout_seconds == 1 else 's'}"
        )

    def __repr__(self) -> str:
        return (
            f"Event(name={self.name!r}, scope={self.scope!r}, "
            f"data_type={self._value_type.name}, request_id={self.request_id!r})"
        )

    @staticmethod
    @syncify
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
    ) -> Event[U]:
        """Create the event `name` in this run, or find it if it exists.

        - `data_type`: `int`, `float`, `str`, `bool`, a choice (`Literal["ship", "hold"]`,
          an `Enum`), several choices (`list[...]`, `set[...]` of those), `Optional[X]`,
          `datetime.date`, `datetime.datetime` (returned timezone-aware), `datetime.time`,
          `decimal.Decimal` (every digit kept), or a pydantic
          model, dataclass or `TypedDict` of these; `wait()` returns a value of it.
          Others raise `UnsupportedTypeError`.
        - `initial`: pre-fills the form: a value, a dict, or a partial model.
        - `description`: help text shown with the answer's fields.
        - `prompt_type`: "text" (default) or "markdown" (tables, code, links; raw HTML
          is never run).
        - `timeout_seconds`: the deadline, counted from the first creation and kept
          across restarts. `poll_interval_seconds`: store checks where the store
          cannot notify.
        - `default`: returned by `wait()` at the deadline instead of raising. Recorded
          when the event is first created: a restart finds the event's own default (or
          none), and replays a recorded timeout as a timeout, whatever it passes now.
        - `run_id`: defaults to `HITL_RUN_ID`, else one id per process.
        - `store`: a `Store` or URL; defaults to `HITL_STORE`, else `./.hitl`.
        - `endpoint`: the web app's URL; defaults to `HITL_ENDPOINT`. Where the store
          cannot notify, answers the app reports wake `wait()` before the next poll.
        - `serve`: start the web app in this process if none answers at the
          endpoint; defaults to `HITL_AUTOSTART` (on).
        - `assignees`: the identities (token names, link identities, user names)
          that may answer; others get `NotAssignedError` (HTTP 403). Default: anyone.
        - `notify`: Apprise URLs (`slack://…`, `mailto://…`, `json://…`) told when
          this call creates the event (not when it finds it again): the prompt, a
          link to answer (signed when `HITL_SECRET` is set), the deadline and the
          run. Sent in the background, with retries. Default: `HITL_NOTIFY`; `[]`
          sends nothing. Needs `pip install "hitlkit[notify]"`.
        - `remind_before`: seconds before the deadline at which a waiting process
          reminds the same targets, once, if the event is still open. Default:
          `HITL_REMIND_BEFORE` (where shorter than the timeout), else none.

        ```python
        event = await Event.create.aio("ok", data_type=bool, prompt="Deploy?")
        ```
        """
        value_type: ValueAdapter[U] = adapter_for(data_type)
        _check_options(name, scope, prompt, timeout_seconds, poll_interval_seconds)
        _check_texts(description, prompt_type)
        if not isinstance(default, _NotGiven):
            value_type.dump(default)  # refused here if it does not fit
        notices = _notify.notices_for(notify, remind_before, timeout_seconds=timeout_seconds)
        # Before the event is created: were a bad HITL_ENDPOINT to fail after, a retry would
        # find the event and never announce it.
        the_endpoint = (endpoint or _config.default_endpoint()).rstrip("/")
        the_store = open_store(store if store is not None else _config.default_store_url())
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
            assignees=_checked_assignees(assignees),
            prompt_type=prompt_type,
            description=description,
            initial=_initial_data(initial),
        )
        if not created:
            _warn_if_default_differs(record, value_type, default)
        if created and notices is not None:
            _notify.announce(the_store, record, notices, the_endpoint)
        if serve if serve is not None else _config.autostart():
            # The web app sits above events; importing it here keeps that direction
            # at import time and spares processes that never serve the cost.
            from hitlkit._server._embedded import ensure_app

            await ensure_app(the_store, the_endpoint)
        return Event(
            record,
            value_type=value_type,
            store=the_store,
            endpoint=the_endpoint,
            notices=notices,
        )


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


OUTAGE_GRACE_POLLS = 10
"""How many poll intervals past the deadline a waiter keeps trying a store that fails."""
FIRST_RETRY_SECONDS = 0.05


class _Outage:
    """A waiter's view of a store that fails: when to look again, and when to give up.

    Retries back off from `FIRST_RETRY_SECONDS`, doubling up to the poll interval.
    """

    def __init__(self, event: Event[Any]) -> None:
        self._event = event
        self._delay = 0.0

    def retry_in(self, exc: StoreUnavailableError) -> float:
        """Seconds until the next look; raises `exc` once past the deadline's grace."""
        event = self._event
        grace = event.poll_interval_seconds * OUTAGE_GRACE_POLLS
        if (utcnow() - event.deadline).total_seconds() > grace:
            raise exc
        if not self._delay:
            hitlkit_log.warning(
                "waiting for %s (%s): %s; retrying until it answers",
                event.name,
                event.request_id,
                exc,
            )
        self._delay = min(max(self._delay * 2, FIRST_RETRY_SECONDS), event.poll_interval_seconds)
        return self._delay

    def over(self) -> None:
        if self._delay:
            hitlkit_log.warning("store %s answers again", self._event.store.url)
        self._delay = 0.0


def _check_options(
    name: str, scope: str, prompt: str, timeout_seconds: float, poll_interval_seconds: float
) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"name must be non-empty text of at most {MAX_NAME_LENGTH} characters")
    if scope != "run":
        raise ValueError(f'scope must be "run", got {scope!r}')
    if not isinstance(prompt, str) or len(prompt) > MAX_PROMPT_LENGTH:
        raise ValueError(f"prompt must be text of at most {MAX_PROMPT_LENGTH} characters")
    for option, value in (
        ("timeout_seconds", timeout_seconds),
        ("poll_interval_seconds", poll_interval_seconds),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{option} must be a positive number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{option} must be finite, got {value!r}")


def _checked_assignees(assignees: Sequence[str] | None) -> tuple[str, ...] | None:
    if assignees is None:
        return None
    if isinstance(assignees, str):
        raise TypeError("assignees must be a list of identities, not one string")
    chosen = tuple(dict.fromkeys(assignees))
    if not chosen or len(chosen) > MAX_ASSIGNEES:
        raise ValueError(f"assignees must name 1 to {MAX_ASSIGNEES} identities")
    for who in chosen:
        if not isinstance(who, str) or not who.strip() or len(who) > MAX_IDENTITY_LENGTH:
            raise ValueError(
                f"each assignee must be non-empty text of at most {MAX_IDENTITY_LENGTH} "
                f"characters, got {who!r}"
            )
    return chosen


def _check_texts(description: str | None, prompt_type: str) -> None:
    if description is not None and (
        not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH
    ):
        raise ValueError(f"description must be text of at most {MAX_DESCRIPTION_LENGTH} characters")
    if prompt_type not in ("text", "markdown"):
        raise ValueError(f'prompt_type must be "text" or "markdown", got {prompt_type!r}')


def _initial_data(initial: object) -> Any:
    """`initial` as JSON data; a model keeps only the fields that were set."""
    if isinstance(initial, BaseModel):
        return initial.model_dump(mode="json", exclude_unset=True)
    return to_json(initial)


@syncify
async def new_event(
    name: str,
    data_type: type[T],
    scope: EventScope = "run",
    prompt: str = "Please provide a value",
    timeout_seconds: float = 3600,
    poll_interval_seconds: float = 5,
    *,
    default: T | _NotGiven = NOT_GIVEN,
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
) -> Event[T]:
    """Ask a person for a value of `data_type`; same as `Event.create`, whose docstring
    describes every option.

    ```python
    import hitlkit as hitl

    event = hitl.new_event("add_to_x", data_type=int, prompt="What should I add to x?")
    print(event.form_url)
    y = event.wait()
    ```
    """
    return await Event.create.aio(
        name,
        data_type,
        scope,
        prompt,
        timeout_seconds,
        poll_interval_seconds,
        default=default,
        initial=initial,
        description=description,
        prompt_type=prompt_type,
        run_id=run_id,
        store=store,
        endpoint=endpoint,
        serve=serve,
        assignees=assignees,
        notify=notify,
        remind_before=remind_before,
    )
