"""The store's record of Prefect flow runs suspended on hitlkit events.

`prefect/suspended/<request id>-<flow run id>.json` says which flow run waits on
which event; it is written (once) before the run suspends, and removed once the run
is resumed or gone. `prefect/resumed/<same>.json` is the watcher's claim, written
with create-once before it calls Prefect's `resume_flow_run`, so that of any number
of watchers (and passes) exactly one resumes each suspension. A claim older than
`CLAIM_SECONDS` whose run is still suspended belongs to a watcher that died before
Prefect answered: one watcher a minute may take it over (`<same>.json.<minute>`,
create-once too), and Prefect itself refuses to resume a run that is no longer paused.
"""

from __future__ import annotations

import time
from datetime import datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from hitlkit._store import Store
from hitlkit._sync import syncify

__all__ = [
    "CLAIM_SECONDS",
    "RESUMED",
    "SUSPENDED",
    "Suspension",
    "claim",
    "forget",
    "record_suspension",
    "release",
    "suspensions",
]

SUSPENDED = "prefect/suspended/"
RESUMED = "prefect/resumed/"
CLAIM_SECONDS = 60.0
"""How long a watcher's claim holds before another may take it over."""


class Suspension(BaseModel):
    """A flow run suspended until a hitlkit event resolves."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    request_id: str
    event_name: str
    flow_run_id: str
    flow_run_name: str
    deployment_id: str
    created_at: datetime

    @property
    def key(self) -> str:
        """The record's file name under `prefect/suspended/` (and `prefect/resumed/`)."""
        return f"{self.request_id}-{self.flow_run_id}.json"


@syncify
async def record_suspension(store: Store, record: Suspension) -> None:
    """Write `record` unless it exists (a re-run that suspends again keeps the first)."""
    await store.put_if_absent_async(SUSPENDED + record.key, record.model_dump_json().encode())


async def suspensions(store: Store) -> list[tuple[str, Suspension | None]]:
    """Every recorded suspension, by key; `None` for a record that cannot be read."""
    found: list[tuple[str, Suspension | None]] = []
    for key in await store.list_async(SUSPENDED):
        data = await store.get_async(key)
        if data is None:  # removed by another watcher since the listing
            continue
        try:
            found.append((key, Suspension.model_validate_json(data)))
        except ValueError:
            found.append((key, None))
    return found


class _Claim(BaseModel):
    by: str
    at: float
    """When it was made, in seconds since the epoch."""


async def claim(store: Store, record: Suspension, by: str) -> bool:
    """Take the right to resume `record`'s flow run; `False` when another holds it.

    A claim older than `CLAIM_SECONDS` (or unreadable) is taken over, by one watcher a
    minute at most.
    """
    key = RESUMED + record.key
    now = time.time()
    body = _Claim(by=by, at=now).model_dump_json().encode()
    if await store.put_if_absent_async(key, body):
        return True
    held = await store.get_async(key)
    if held is None:  # given back since
        return await store.put_if_absent_async(key, body)
    try:
        if now - _Claim.model_validate_json(held).at < CLAIM_SECONDS:
            return False
    except ValidationError:
        pass  # unreadable: as good as stale
    return await store.put_if_absent_async(f"{key}.{int(now // CLAIM_SECONDS)}", body)


async def release(store: Store, record: Suspension) -> None:
    """Give the claim back, when the resume did not happen and must be tried again."""
    await store.delete_async(RESUMED + record.key)


async def forget(store: Store, record: Suspension) -> None:
    """Drop the suspension record: its flow run was resumed, or needs no resume."""
    await store.delete_async(SUSPENDED + record.key)
