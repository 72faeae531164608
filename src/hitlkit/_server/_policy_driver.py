"""The app's policy driver: escalation steps and timeout actions happen with no waiter running.

An event under a policy moves on with time: a step passes without a decision and the
next step's people may answer; the deadline comes and the policy's timeout action is
recorded. Whoever looks when they are due takes them (`_policy_ops.settle`): a waiter,
a page, a vote, and, while the app runs, this driver, about every `DRIVE_EVERY_SECONDS`
(jittered, so replicas started together do not look together). Each step and outcome is
a create-once record, so replicas driving at once take each exactly once.

A turn reads the index's names only (pending, less resolved), then the records of events
it has not met yet; an event without a policy is remembered as such (a record never
changes) and never read again. A turn that fails is logged, and the next one tries again.

The lifespan also says once, at the start, when the app has no tokens: events under
identity-based policies then take no answers through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from hitlkit import _policy_ops, _reading
from hitlkit._exceptions import CorruptRecordError, EventNotFoundError, HitlError
from hitlkit._index import unresolved_names
from hitlkit._records import EventRecord, utcnow
from hitlkit._store import Store

__all__ = ["DRIVE_EVERY_SECONDS", "drive_once", "driving", "run_turns"]

log = logging.getLogger("hitlkit")

DRIVE_EVERY_SECONDS = 5.0
_jitter = random.Random()  # noqa: S311 - not a secret
"""Its own generator: the driver never moves the `random` module's state under a program
(or a property test) that seeds and draws from it."""
JITTER = 0.2
"""Each wait is the interval give or take this share of it."""
MAX_REMEMBERED = 100_000
"""Events known to have no policy, remembered so their records are not read again."""

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

NO_TOKENS = (
    "this app has no API tokens, so the names people answer with are only typed in: events "
    "under a quorum, separation of duties, delegation or standing approvals take no answers "
    "through its pages or API, only through answer links made for someone and Slack. "
    "Serve with --tokens-file (HITL_TOKENS_FILE) for them"
)


def driving(every: float, inner: Lifespan) -> Lifespan:
    """The app's lifespan: `inner`'s, with the policy driver running in the background."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        auth = getattr(app.state, "auth", None)
        if auth is not None and not auth.required:
            log.info(NO_TOKENS)  # shown by `hitl serve`; a workflow's own app stays quiet
        task = asyncio.create_task(_drive_forever(app, every), name="hitlkit-policies")
        try:
            async with inner(app):
                yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan


async def _drive_forever(app: FastAPI, every: float) -> None:
    plain: set[str] = set()
    await run_turns(app, every, lambda store: drive_once(store, plain), "driving the policies")


async def run_turns(
    app: FastAPI, every: float, turn: Callable[[Store], Awaitable[object]], doing: str
) -> None:
    """Take `turn` on the app's store about every `every` seconds (jittered), for the life
    of the app: a turn that fails is logged (`doing` says what it was), and the next one
    tries again."""
    while True:
        await asyncio.sleep(every * _jitter.uniform(1 - JITTER, 1 + JITTER))
        store: Store | None = getattr(app.state, "store", None)
        if store is None:
            continue
        try:
            await turn(store)
        except (HitlError, OSError) as exc:
            log.warning("%s of %s failed; trying again soon: %s", doing, store.url, exc)
        except Exception:  # a bug must not end the turns for the life of the app
            log.exception("%s of %s failed; trying again soon", doing, store.url)


async def drive_once(store: Store, plain: set[str] | None = None) -> int:
    """Settle the open events under a policy whose step or deadline has come; how many
    were looked at. `plain`: ids known to have no policy (read and filled)."""
    plain = set() if plain is None else plain
    names = await unresolved_names(store)
    ids = [n[-24:] for n in names if n[-24:] not in plain]
    records = await asyncio.gather(*(_record(store, request_id) for request_id in ids))
    due = []
    for request_id, record in zip(ids, records, strict=True):
        if record is None:
            continue  # entries come before the record: it may be on its way
        if record.policy is None:
            if len(plain) >= MAX_REMEMBERED:
                plain.clear()
            plain.add(request_id)
        elif _moves(record):
            due.append(record)
    for record in due:
        try:
            await _policy_ops.settle(store, record)
        except (HitlError, OSError) as exc:
            log.warning("event %s: its policy could not be settled: %s", record.id, exc)
    return len(due)


def _moves(record: EventRecord) -> bool:
    """Whether time has moved `record` on: a step after the first has started, or the
    deadline passed."""
    assert record.policy is not None
    if record.is_expired():
        return True
    now = utcnow()
    return any(at <= now for at in record.policy.starts(record.created_at)[1:])


async def _record(store: Store, request_id: str) -> EventRecord | None:
    with contextlib.suppress(EventNotFoundError, CorruptRecordError):
        return await _reading.load_event(store, request_id)
    return None
