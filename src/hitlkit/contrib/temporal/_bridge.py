"""The bridge's decisions: which waiting workflows to signal, with what, exactly once.

A pass lists the targets the activities recorded and those already sent; for each
target still to signal whose event is resolved (a deadline that passed is recorded as
a timeout here), it claims the target, sends the signal through `send`, and records
that it was sent. No temporalio here: `hitlkit.contrib.temporal._serve` gives `send`.

**Exactly once, and what happens on a crash.** The claim (create-once) keeps a second
bridge from signalling a target while the first does; a bridge retries its own claim
(a signal that failed, the server down) on its next pass, and any bridge takes over a
claim older than `claim_seconds`, from a bridge that died or hung. So in normal
operation each workflow is signalled once. A bridge that dies after signalling and
before recording it leaves a claim with no record: once the claim is old, another
bridge (or the same one, restarted) signals again. That second signal carries the
same `Resolution`, and the workflow side (`HitlWorkflow`) keeps the first one per
event, as it must anyway: Temporal delivers signals at least once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from pydantic import ValidationError

from hitlkit import _ops, _reading
from hitlkit._exceptions import EventNotFoundError, HitlError, StoreUnavailableError
from hitlkit._records import Outcome, utcnow
from hitlkit._store import Store
from hitlkit._sync import syncify
from hitlkit.contrib.temporal._targets import (
    CLAIMS,
    SENT,
    TARGETS,
    Claim,
    Resolution,
    Sent,
    Target,
    key_of,
    resolution_of,
)

__all__ = ["CLAIM_SECONDS", "Delivery", "Undeliverable", "bridge_id", "bridge_pass"]

log = logging.getLogger("hitlkit")

CLAIM_SECONDS = 60.0
"""How long a claim keeps other bridges off a target: longer than one signal takes."""

Send = Callable[[Target, Resolution], Awaitable[None]]
"""Signal the target's workflow with the resolution; raises `Undeliverable` when it is gone."""


class Undeliverable(Exception):
    """The workflow cannot be signalled and never will be (it ended, or never existed)."""


@dataclass(frozen=True)
class Delivery:
    """One target handled by a pass, and how it went (`error` says why it was not sent).

    `result`: `signalled`; `undeliverable` (the workflow is gone: recorded, never
    tried again); or `failed` (the server down, say: tried again on the next pass).
    """

    target: Target
    resolution: Resolution
    result: Literal["signalled", "undeliverable", "failed"]
    error: str | None = None

    @property
    def sent(self) -> bool:
        return self.result == "signalled"


def bridge_id() -> str:
    """A name for this bridge process, unique even across restarts on one host."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def _read_target(store: Store, key: str) -> Target | None:
    data = await store.get_async(key)
    if data is None:
        return None
    try:
        return Target.model_validate_json(data)
    except ValidationError as exc:
        log.warning("skipping %s: not a temporal target (%s)", key, exc.errors()[0]["msg"])
        return None


async def _settled(store: Store, request_id: str) -> Outcome | None:
    """The event's outcome, recording a timeout first if its deadline passed; never waits."""
    outcome = await _reading.load_outcome(store, request_id)
    if outcome is not None:
        return outcome
    record = await _reading.load_event(store, request_id)
    if record.is_expired():
        return await _ops.expire_event(store, record)
    return None


async def _may_signal(store: Store, target: Target, me: str, claim_seconds: float) -> bool:
    """Claim `target` for this bridge, or find it claimed by this bridge or long ago."""
    claim = Claim(bridge=me, at=utcnow())
    key = key_of(CLAIMS, target)
    if await store.put_if_absent_async(key, claim.model_dump_json().encode()):
        return True
    data = await store.get_async(key)
    if data is None:  # deleted meanwhile: claim again on the next pass
        return False
    try:
        held = Claim.model_validate_json(data)
    except ValidationError:
        log.warning("taking over %s: not a claim", key)
    else:
        if held.bridge == me:
            return True
        if utcnow() - held.at < timedelta(seconds=claim_seconds):
            return False
    # Stale or unreadable: of the bridges that find it so, one a period takes it over.
    period = int(time.time() // max(claim_seconds, 1.0))
    taken = f"{key}.{period}"
    if await store.put_if_absent_async(taken, claim.model_dump_json().encode()):
        return True
    data = await store.get_async(taken)
    return data is not None and _claimed_by(data) == me  # this bridge's, from a pass before


def _claimed_by(data: bytes) -> str | None:
    try:
        return Claim.model_validate_json(data).bridge
    except ValidationError:
        return None


async def _deliver(store: Store, target: Target, outcome: Outcome, send: Send, me: str) -> Delivery:
    resolution = resolution_of(outcome)
    try:
        await send(target, resolution)
    except Undeliverable as exc:
        error = str(exc) or type(exc).__name__
        log.warning("workflow %s cannot be signalled: %s", target.workflow_id, error)
        record = Sent(bridge=me, at=utcnow(), status=outcome.status, delivered=False, error=error)
        await store.put_if_absent_async(key_of(SENT, target), record.model_dump_json().encode())
        return Delivery(target, resolution, "undeliverable", error)
    except Exception as exc:  # the server down, a timeout: retried on the next pass
        log.warning("signalling workflow %s failed, retrying: %r", target.workflow_id, exc)
        return Delivery(target, resolution, "failed", repr(exc))
    record = Sent(bridge=me, at=utcnow(), status=outcome.status)
    await store.put_if_absent_async(key_of(SENT, target), record.model_dump_json().encode())
    log.info(
        "signalled %s of workflow %s (%s): event %s %s",
        target.signal,
        target.workflow_id,
        target.namespace,
        target.request_id,
        outcome.status,
    )
    return Delivery(target, resolution, "signalled")


async def _handle(
    store: Store, key: str, send: Send, me: str, namespace: str | None, claim_seconds: float
) -> Delivery | None:
    target = await _read_target(store, key)
    if target is None or (namespace is not None and target.namespace != namespace):
        return None
    try:
        outcome = await _settled(store, target.request_id)
    except EventNotFoundError:
        return None  # pruned, or not written yet: nothing to say
    if outcome is None or not await _may_signal(store, target, me, claim_seconds):
        return None
    if await store.get_async(key_of(SENT, target)) is not None:
        return None  # sent by another bridge since this pass listed what was sent
    return await _deliver(store, target, outcome, send, me)


@syncify
async def bridge_pass(
    store: Store,
    send: Send,
    *,
    bridge: str,
    namespace: str | None = None,
    claim_seconds: float = CLAIM_SECONDS,
) -> list[Delivery]:
    """Signal every waiting workflow whose event is resolved and not yet signalled.

    Only the workflows of `namespace`, when given: a bridge connects to one namespace,
    and leaves the others' targets to their own bridges.

    Never waits for an answer (`await bridge_pass.aio(...)` is the async form). `send`
    signals one workflow (`signaller(client)` does it through a Temporal client).
    Returns what it did, target by target; a signal that
    failed (the Temporal server down) is in the list with `sent=False` and is tried
    again on the next pass. A store that fails raises, and nothing is lost: the next
    pass starts over.
    """
    targets, sent = await asyncio.gather(store.list_async(TARGETS), store.list_async(SENT))
    done = {key.removeprefix(SENT) for key in sent}
    todo = [key for key in targets if key.removeprefix(TARGETS) not in done]
    deliveries = []
    for key in todo:
        try:
            delivery = await _handle(store, key, send, bridge, namespace, claim_seconds)
        except StoreUnavailableError:
            raise
        except HitlError as exc:  # say, an unreadable record: the others go on
            log.warning("skipping %s: %s", key, exc)
            continue
        if delivery is not None:
            deliveries.append(delivery)
    return deliveries
