"""`answered_sensor`: launch the continuation run when a question is answered.

Each evaluation reads the store's events newest first, back to the cursor's mark,
and asks for one run per resolved question it has not asked for yet, with the
outcome in the run config (`Answer`). The run key names the event, so Dagster
launches one run per answer even when an evaluation repeats (a reset cursor, a
restarted daemon); the cursor keeps each evaluation from reading old answers again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import dagster as dg

from hitlkit import _config, _ops
from hitlkit._listing import list_page
from hitlkit._reading import EventState
from hitlkit._records import EventRecord, Outcome, utcnow
from hitlkit._store import Store, open_store
from hitlkit._sync import syncify
from hitlkit.contrib.dagster._answer import Answer
from hitlkit.contrib.dagster._ask import SEPARATOR, check_question

__all__ = ["EVENT_TAG", "SETTLE_SECONDS", "Found", "Mark", "answered_sensor", "scan"]

SETTLE_SECONDS = 600
"""How far back from now an evaluation always reads: an event is written a moment
after the time it records as its creation (and by a clock of its own), so the mark
never passes the last few minutes."""
PAGE = 100
"""Events read per page."""
EVENT_TAG = "hitlkit/event_id"
"""The tag of a launched run that names the event it continues."""
ASKED_TAG = "hitlkit/asked_in_run"


@dataclass(frozen=True)
class Mark:
    """The sensor's cursor: every event created before `since` has had its run
    requested, and so have the newer ones in `requested`."""

    since: datetime | None = None
    requested: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, cursor: str | None) -> Mark:
        """The mark a cursor holds; none (a new or reset sensor) reads everything."""
        if not cursor:
            return cls()
        try:
            data = json.loads(cursor)
            since = datetime.fromisoformat(data["since"])
            requested = frozenset(str(i) for i in data["requested"])
        except (ValueError, KeyError, TypeError):
            raise ValueError(
                'the sensor\'s cursor must be JSON {"since": ISO time, "requested": [event '
                f"ids]}} as the sensor writes it, or empty to read every event; got {cursor!r}"
            ) from None
        if since.tzinfo is None:
            raise ValueError(f"the cursor's since must have a time zone, got {data['since']!r}")
        return cls(since, requested)

    def dump(self) -> str:
        return json.dumps(
            {
                "since": None if self.since is None else self.since.isoformat(),
                "requested": sorted(self.requested),
            }
        )


@dataclass(frozen=True)
class Found:
    """What an evaluation found: the resolved questions to continue, how many are
    pending, and the next mark."""

    resolved: list[tuple[EventRecord, Outcome]]
    pending: int
    mark: Mark


async def _resolved_outcome(store: Store, state: EventState) -> Outcome | None:
    """The event's outcome; past its deadline with none, the timeout (or default) is
    recorded here, as a waiter would: nobody waits for a question asked from Dagster."""
    if state.outcome is not None:
        return state.outcome
    if state.record.is_expired():
        return await _ops.expire_event(store, state.record)
    return None


@syncify
async def scan(store: Store, question: str, mark: Mark) -> Found:
    """The resolved events of `question` created since the mark and not yet requested.

    Reads the events newest first and stops at the mark: older events were all
    resolved and requested at an earlier evaluation. The next mark is the creation
    of the oldest pending question, or `SETTLE_SECONDS` ago if that is earlier; the
    cursor keeps the ids of the events requested since.
    """
    prefix = question + SEPARATOR
    now = utcnow()
    found: list[tuple[EventRecord, Outcome]] = []
    requested: dict[str, datetime] = {}  # every requested event met, with its creation
    oldest_pending: datetime | None = None
    pending = 0
    cursor: str | None = None
    reached_mark = False
    while not reached_mark:
        page = await list_page(store, status="all", limit=PAGE, cursor=cursor)
        for state in page.states:
            record = state.record
            if mark.since is not None and record.created_at < mark.since:
                reached_mark = True
                break
            if not record.name.startswith(prefix):
                continue
            outcome = await _resolved_outcome(store, state)
            if outcome is None:
                pending += 1
                oldest_pending = record.created_at
                continue
            if record.id not in mark.requested:
                found.append((record, outcome))
            requested[record.id] = record.created_at
        cursor = page.next_cursor
        reached_mark = reached_mark or cursor is None
    since = now - timedelta(seconds=SETTLE_SECONDS)
    if oldest_pending is not None:
        since = min(since, oldest_pending)
    kept = frozenset(i for i, created in requested.items() if created >= since)
    return Found(found, pending, Mark(since, kept))


def _continuation_op(job: Any, op: str | None) -> str:
    """The op of `job` that takes an `Answer` as its config: `op`, or the only one."""
    if op is not None:
        if not isinstance(op, str) or not op:
            raise ValueError(f"op must name an op of the job, got {op!r}")
        return op
    if not isinstance(job, dg.JobDefinition):
        raise ValueError(
            f"answered_sensor cannot see the ops of {type(job).__name__} {job.name!r}: "
            "give op= the name of the op (or asset) whose config is an Answer"
        )
    takers = sorted(
        node.name
        for node in job.nodes_in_topological_order
        if isinstance(node.definition, dg.OpDefinition) and _takes_answer(node.definition)
    )
    if len(takers) != 1:
        found = ", ".join(takers) or "none"
        raise ValueError(
            f"answered_sensor needs exactly one op of job {job.name!r} whose config is an "
            f"Answer (found: {found}); give op= its name"
        )
    return takers[0]


def _takes_answer(op_def: dg.OpDefinition) -> bool:
    compute = getattr(op_def, "compute_fn", None)
    get_config_arg = getattr(compute, "get_config_arg", None)
    if get_config_arg is None or not compute.has_config_arg():  # type: ignore[union-attr]
        return False
    annotation = get_config_arg().annotation
    return isinstance(annotation, type) and issubclass(annotation, Answer)


def answered_sensor(
    job: dg.JobDefinition | dg.UnresolvedAssetJobDefinition,
    *,
    question: str,
    op: str | None = None,
    name: str | None = None,
    store: Store | str | None = None,
    minimum_interval_seconds: int = 30,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
    description: str | None = None,
) -> dg.SensorDefinition:
    """A sensor that launches `job` once for each answered `question`.

    `question` is the `name` given to `ask` (default there: the asking op's name).
    For each such event that is answered, defaulted, timed out or cancelled, the
    sensor requests one run of `job` whose config gives the op `op` (default: the
    job's only op whose config is an `Answer`) the outcome as an `Answer`. A timed
    out or cancelled question launches a run too: the op sees its `status`, and
    `value_as` raises there. A question past its deadline is recorded as timed out
    (or defaulted) by the sensor, since no process waits for it.

    The run key is `hitlkit:<event id>` and the run is tagged `hitlkit/event_id`, so
    each answer launches exactly one run, however often the sensor is evaluated,
    restarted or reset. The sensor reads `store` (default: `HITL_STORE`, as the
    daemon sees it): the same store the asking ops write.

    ```python
    defs = dg.Definitions(
        jobs=[ask_job, deploy_job],
        sensors=[answered_sensor(deploy_job, question="deploy")],
    )
    ```
    """
    check_question(question)
    op_name = _continuation_op(job, op)

    @dg.sensor(
        job=job,
        name=name or f"{question}_answered",
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=description or f"Launches {job.name} when a {question!r} question resolves",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        the_store = open_store(store if store is not None else _config.default_store_url())
        found = scan(the_store, question, Mark.parse(context.cursor))
        launched = _launched(context, job.name, [record.id for record, _ in found.resolved])
        requests = [
            _run_request(record, outcome, op_name)
            for record, outcome in found.resolved
            if record.id not in launched
        ]
        skip = None
        if not requests:
            skip = f"no {question!r} question resolved; {found.pending} pending"
        return dg.SensorResult(run_requests=requests, skip_reason=skip, cursor=found.mark.dump())

    return _sensor


def _launched(context: dg.SensorEvaluationContext, job: str, event_ids: list[str]) -> set[str]:
    """Which of `event_ids` already have a run of `job` in the instance: launched by this
    sensor under another name or location, or before its cursor was lost, which Dagster's
    run keys (kept per sensor) would not stop."""
    if not event_ids:
        return set()
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # evaluated without an instance (tests)
        return set()
    records = instance.get_run_records(
        filters=dg.RunsFilter(job_name=job, tags={EVENT_TAG: event_ids})
    )
    return {record.dagster_run.tags[EVENT_TAG] for record in records}


def _run_request(record: EventRecord, outcome: Outcome, op: str) -> dg.RunRequest:
    answer = Answer.of(
        outcome, name=record.name, run_id=record.run_id, timeout_seconds=record.timeout_seconds
    )
    return dg.RunRequest(
        run_key=f"hitlkit:{record.id}",
        run_config={"ops": {op: {"config": answer.model_dump()}}},
        tags={EVENT_TAG: record.id, ASKED_TAG: record.run_id},
    )
