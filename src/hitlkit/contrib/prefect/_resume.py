"""Resume Prefect flow runs suspended on hitlkit events once the events resolve.

`ask(..., suspend=True)` records each suspended flow run in the store
(`prefect/suspended/`). `resume_answered` reads those records, and for each whose
event is answered, cancelled or past its deadline, and whose flow run is suspended
on it, claims it in the store (create-once) and calls Prefect's `resume_flow_run`:
however many watchers run, each suspension is resumed once. `watch` does that every
few seconds; `python -m hitlkit.contrib.prefect watch` runs it from a shell.

```python
for resumed in resume_answered(store="s3://bucket/hitl"):
    print(resumed.flow_run_name, resumed.event_status)
```
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.responses import SetStateStatus
from prefect.exceptions import ObjectNotFound

from hitlkit import _config, _reading
from hitlkit._reading import EventStatus
from hitlkit._store import Store, open_store
from hitlkit._sync import syncify
from hitlkit.contrib.prefect._records import Suspension, claim, forget, release, suspensions

__all__ = ["Resumed", "resume_answered", "watch"]

log = logging.getLogger("hitlkit")


@dataclass(frozen=True)
class Resumed:
    """A flow run this call resumed, and how its event resolved."""

    flow_run_id: str
    flow_run_name: str
    request_id: str
    event_name: str
    event_status: EventStatus


@syncify
async def resume_answered(store: Store | str | None = None) -> list[Resumed]:
    """Resume every suspended flow run whose hitlkit event resolved; return those resumed.

    Talks to the Prefect server of the current profile (`PREFECT_API_URL`) and reads
    the hitlkit store (default: `HITL_STORE`). A flow run is resumed only while it is
    suspended on its event's question; runs that ended, or went on otherwise, lose
    their record. One failing record is logged and tried again on the next call.
    `await resume_answered.aio()` is the async form.

    ```python
    resume_answered()        # [Resumed(flow_run_name='dashing-crow', event_status='answered', ...)]
    ```
    """
    the_store = open_store(store if store is not None else _config.default_store_url())
    resumed: list[Resumed] = []
    async with get_client() as client:
        for key, record in await suspensions(the_store):
            if record is None:
                log.warning("hitlkit: %s is not a suspension record; left alone", key)
                continue
            try:
                done = await _resume(the_store, client, record)
            except Exception as exc:  # one record's trouble must not stop the others
                log.warning(
                    "hitlkit: could not resume flow run %s (event %s): %s",
                    record.flow_run_id,
                    record.request_id,
                    exc,
                )
                continue
            if done is not None:
                resumed.append(done)
    return resumed


async def _resume(store: Store, client: PrefectClient, record: Suspension) -> Resumed | None:
    """Resume `record`'s flow run if its event resolved and it is suspended on it."""
    state = await _reading.get_event_state(store, record.request_id)
    if state.status == "pending":
        return None
    try:
        flow_run = await client.read_flow_run(UUID(record.flow_run_id))
    except ObjectNotFound:
        log.warning("hitlkit: flow run %s is gone; its record is dropped", record.flow_run_id)
        await forget(store, record)
        return None
    if not _suspended_on(flow_run, record):
        if _past(flow_run, record):
            await forget(store, record)
        return None  # else it has not suspended yet: the next pass looks again
    if not await claim(store, record, by=_config.host_and_pid()):
        return None  # another watcher resumes it
    try:
        response = await client.resume_flow_run(flow_run.id)
    except BaseException:
        await release(store, record)
        raise
    if response.status != SetStateStatus.ACCEPT:
        # Prefect refused: the suspension timed out (the run failed), or the run moved on.
        log.warning(
            "hitlkit: Prefect did not resume flow run %s: %s",
            record.flow_run_id,
            response.details,
        )
        await forget(store, record)
        return None
    await forget(store, record)
    return Resumed(
        flow_run_id=record.flow_run_id,
        flow_run_name=record.flow_run_name,
        request_id=record.request_id,
        event_name=record.event_name,
        event_status=state.status,
    )


def _suspended_on(flow_run: FlowRun, record: Suspension) -> bool:
    """Whether the flow run is suspended, waiting on this record's event."""
    state = flow_run.state
    return (
        state is not None
        and state.is_paused()
        and state.state_details.pause_key == record.request_id
    )


def _past(flow_run: FlowRun, record: Suspension) -> bool:
    """Whether the flow run is done with this suspension: ended, or resumed from it."""
    state = flow_run.state
    if state is not None and state.is_final():
        return True
    return record.request_id in (flow_run.empirical_policy.pause_keys or set())


@syncify
async def watch(
    store: Store | str | None = None,
    *,
    interval: float = 5,
    passes: int | None = None,
    on_resumed: Callable[[Resumed], object] | None = None,
) -> None:
    """Resume suspended flow runs as their events resolve, every `interval` seconds.

    Runs until interrupted, or for `passes` passes; `on_resumed` is called with each
    flow run resumed (default: logged at INFO on the `hitlkit` logger). Run one (or
    more: each suspension is still resumed once) wherever both the Prefect server and
    the hitlkit store can be reached; `python -m hitlkit.contrib.prefect watch` is the
    same from a shell. `await watch.aio()` is the async form.

    ```python
    watch(store="s3://bucket/hitl", interval=10)
    ```
    """
    if not interval > 0:
        raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
    done = 0
    while passes is None or done < passes:
        for resumed in await resume_answered.aio(store):
            if on_resumed is not None:
                on_resumed(resumed)
                continue
            log.info(
                "hitlkit: resumed flow run %s (%s): event %s %s",
                resumed.flow_run_name,
                resumed.flow_run_id,
                resumed.event_name,
                resumed.event_status,
            )
        done += 1
        if passes is None or done < passes:
            await asyncio.sleep(interval)
