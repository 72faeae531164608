"""Which workflow to signal when an event resolves, and what the signal carries.

Plain records and store keys, without temporalio: the activity writes a `Target` next
to the event it asks, the bridge reads them back, and the workflow receives a
`Resolution`. Three create-once keys per (event, workflow, signal):

```
temporal/targets/ID/DIGEST.json   the workflow to signal (written by the activity)
temporal/claims/ID/DIGEST.json    the bridge that is signalling it (and since when)
temporal/sent/ID/DIGEST.json      the signal was sent (or cannot be: the workflow is gone)
```

DIGEST names the workflow (namespace, workflow id, signal name), so several workflows
waiting on one event are each signalled, and an activity retried or replayed finds its
target again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from hitlkit._records import Outcome, is_event_id
from hitlkit._store import Store

__all__ = [
    "CLAIMS",
    "SENT",
    "SIGNAL",
    "TARGETS",
    "Claim",
    "Resolution",
    "Sent",
    "Target",
    "key_of",
    "remember",
    "resolution_of",
]

SIGNAL = "hitlkit_resolved"
"""The signal the bridge sends a workflow when its question resolves (a `Resolution`)."""

TARGETS = "temporal/targets/"
CLAIMS = "temporal/claims/"
SENT = "temporal/sent/"


class Target(BaseModel, frozen=True):
    """A workflow waiting for an event: where and how to signal it."""

    request_id: str
    namespace: str
    workflow_id: str
    run_id: str | None = None
    """The run that asked (for the logs: the bridge signals the workflow's latest run)."""
    signal: str = SIGNAL

    @property
    def digest(self) -> str:
        """The workflow's part of the keys: one set of keys per workflow and signal."""
        parts = "\0".join((self.namespace, self.workflow_id, self.signal))
        return hashlib.sha256(parts.encode()).hexdigest()[:16]


class Claim(BaseModel, frozen=True):
    """A bridge signalling a target: who, since when."""

    bridge: str
    at: datetime


class Sent(BaseModel, frozen=True):
    """A target's signal was sent (`delivered`), or cannot be (`error`, the workflow is gone)."""

    bridge: str
    at: datetime
    status: str
    delivered: bool = True
    error: str | None = None


@dataclass(frozen=True)
class Resolution:
    """What the workflow receives: the event's outcome, as plain JSON data.

    `status` is `answered`, `defaulted` (the deadline passed, the default counts),
    `timed_out` or `cancelled`; `value` is the answer as hitlkit stores it (JSON),
    which `hitlkit.contrib.temporal.answer_of` turns into the question's type.
    """

    request_id: str
    status: str
    value: Any = None
    by: str | None = None
    via: str = ""
    at: str = ""
    reason: str | None = None


def resolution_of(outcome: Outcome) -> Resolution:
    """The signal's payload for an event's recorded outcome."""
    return Resolution(
        request_id=outcome.request_id,
        status=outcome.status,
        value=outcome.value,
        by=outcome.by,
        via=outcome.via,
        at=outcome.at.isoformat(),
        reason=outcome.reason,
    )


def key_of(prefix: str, target: Target) -> str:
    """The key of `target` under `prefix` (`TARGETS`, `CLAIMS` or `SENT`)."""
    if not is_event_id(target.request_id):
        raise ValueError(f"expected an event id (24 hex digits), got {target.request_id!r}")
    return f"{prefix}{target.request_id}/{target.digest}.json"


async def remember(store: Store, target: Target) -> bool:
    """Record that `target` waits for its event; whether it was new (a retry finds it)."""
    data = target.model_dump_json().encode()
    return await store.put_if_absent_async(key_of(TARGETS, target), data)
