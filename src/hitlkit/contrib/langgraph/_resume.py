"""Resume LangGraph threads paused on hitlkit questions once they are answered.

A thread paused by `ask` or `approve` keeps, in its checkpoint, an interrupt whose
payload names the hitlkit event. These helpers read the threads' state, look up
each event's outcome in the store, and resume the thread with
`Command(resume={interrupt_id: <the outcome>})`, so the node runs again and gets
the answer (or raises the event's timeout or cancellation, where the graph sees it).

```python
# A job run every minute, in any process that can open the graph's checkpointer:
for resumed in resume_answered(graph, ["thread-1", "thread-2"], store=store):
    print(resumed.thread_id, resumed.output)

# Or block (await, with `.aio`) until the thread's question is answered, then go on:
output = wait_and_resume(graph, "thread-1", store=store)
```
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.pregel import Pregel
from langgraph.types import Command, StateSnapshot

from hitlkit import _config, _ops, _reading
from hitlkit._exceptions import HitlError
from hitlkit._records import Outcome
from hitlkit._store import Store, open_store
from hitlkit._sync import _Twin, run_sync
from hitlkit._waiting import Waiting, wait_async
from hitlkit.contrib.langgraph._ask import KIND, RESUME_KEY

__all__ = ["Question", "Resumed", "questions", "resume_answered", "wait_and_resume"]

log = logging.getLogger("hitlkit")

Thread = str | Mapping[str, Any]
"""A thread id, or a LangGraph config naming one (`{"configurable": {"thread_id": ...}}`)."""


@dataclass(frozen=True)
class Question:
    """A hitlkit question a thread is paused on: its interrupt's id and payload."""

    interrupt_id: str
    request_id: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Resumed:
    """A thread that was resumed: which questions it was resumed with, and how it went.

    `output` is what the graph returned (its state, with `"__interrupt__"` when it
    paused again); `error` is the exception raised instead, or `None`: the graph's
    (say, the `EventTimeoutError` of a question nobody answered in time, left uncaught
    by its node), or hitlkit's when the questions could not be read (then the thread
    was not resumed, and `request_ids` lists every question it waits on).
    """

    thread_id: str
    config: RunnableConfig
    request_ids: tuple[str, ...]
    output: Any = None
    error: BaseException | None = None


def config_of(thread: Thread) -> RunnableConfig:
    """The config that runs `thread`: a thread id becomes `{"configurable": {"thread_id": id}}`."""
    if isinstance(thread, str):
        return {"configurable": {"thread_id": thread}}
    configurable = thread.get("configurable") if isinstance(thread, Mapping) else None
    if not isinstance(configurable, Mapping) or not configurable.get("thread_id"):
        raise ValueError(
            "a thread must be a thread id or a config with a thread id "
            f'({{"configurable": {{"thread_id": ...}}}}), got {thread!r}'
        )
    return cast(RunnableConfig, dict(thread))


def questions(snapshot: StateSnapshot) -> list[Question]:
    """The hitlkit questions a thread's state is paused on (other interrupts are left out)."""
    found = []
    for pending in snapshot.interrupts:
        payload = pending.value
        if isinstance(payload, Mapping) and KIND in payload and "request_id" in payload:
            found.append(Question(pending.id, str(payload["request_id"]), payload))
    return found


def _store_of(store: Store | str | None) -> Store:
    return open_store(store if store is not None else _config.default_store_url())


async def _settled(store: Store, request_id: str) -> Outcome | None:
    """The event's outcome, recording a timeout first if its deadline passed; never waits."""
    outcome = await _reading.load_outcome(store, request_id)
    if outcome is not None:
        return outcome
    record = await _reading.load_event(store, request_id)
    if record.is_expired():
        return await _ops.expire_event(store, record)
    return None


async def _look(store: Store, asked: list[Question]) -> dict[str, Outcome]:
    """The outcomes of the questions that are resolved, by interrupt id."""
    outcomes = await asyncio.gather(*(_settled(store, q.request_id) for q in asked))
    return {q.interrupt_id: o for q, o in zip(asked, outcomes, strict=True) if o is not None}


async def _serve_forms(store: Store, endpoint: str) -> None:
    """Serve the forms of the questions waited for, as `new_event` does, unless an app
    already does (the process that asked may be gone)."""
    if store.in_process or not _config.autostart():
        return
    from hitlkit._server._embedded import ensure_app

    try:
        await ensure_app(store, endpoint)
    except HitlError as exc:  # the answer still arrives through the store
        log.warning("cannot serve the forms at %s: %s", endpoint, exc)


async def _wait_first(store: Store, asked: list[Question]) -> dict[str, Outcome]:
    """Wait until one of the questions is resolved; return all the resolved ones."""

    async def wait_for(question: Question) -> Outcome:
        record = await _reading.load_event(store, question.request_id)
        endpoint = str(question.payload.get("endpoint") or _config.default_endpoint())
        await _serve_forms(store, endpoint)
        return await wait_async(Waiting(store, record, endpoint, None))

    waits = [asyncio.ensure_future(wait_for(q)) for q in asked]
    try:
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for finished in done:
            finished.result()  # a store that fails ends the wait with its error
    finally:
        for waiting in waits:
            waiting.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    return await _look(store, asked)


def _command(outcomes: Mapping[str, Outcome]) -> Command[Any]:
    resume = {iid: {RESUME_KEY: o.model_dump(mode="json")} for iid, o in outcomes.items()}
    return Command(resume=resume)


def _resumed(
    config: RunnableConfig, asked: list[Question], outcomes: Mapping[str, Outcome] | None
) -> Resumed:
    """The thread, with the questions it is resumed with (all it asks, for `None`)."""
    ids = tuple(q.request_id for q in asked if outcomes is None or q.interrupt_id in outcomes)
    thread_id = str(config.get("configurable", {}).get("thread_id"))
    return Resumed(thread_id, config, ids)


def _failed(resumed: Resumed, error: Exception) -> Resumed:
    log.warning("thread %s (%s) failed: %r", resumed.thread_id, resumed.request_ids, error)
    return Resumed(resumed.thread_id, resumed.config, resumed.request_ids, error=error)


def _resume_answered(
    graph: Pregel[Any, Any, Any, Any],
    threads: Iterable[Thread],
    *,
    store: Store | str | None = None,
) -> list[Resumed]:
    the_store = _store_of(store)
    done = []
    for config in [config_of(thread) for thread in threads]:
        asked = questions(graph.get_state(config))
        try:
            outcomes = run_sync(_look(the_store, asked)) if asked else {}
        except HitlError as exc:  # say, an event no longer in the store
            done.append(_failed(_resumed(config, asked, None), exc))
            continue
        if not outcomes:
            continue
        resumed = _resumed(config, asked, outcomes)
        try:
            output = graph.invoke(_command(outcomes), config)
        except Exception as exc:
            done.append(_failed(resumed, exc))
        else:
            done.append(Resumed(resumed.thread_id, config, resumed.request_ids, output))
    return done


async def _resume_answered_async(
    graph: Pregel[Any, Any, Any, Any],
    threads: Iterable[Thread],
    *,
    store: Store | str | None = None,
) -> list[Resumed]:
    the_store = _store_of(store)
    done = []
    for config in [config_of(thread) for thread in threads]:
        asked = questions(await graph.aget_state(config))
        try:
            outcomes = await _look(the_store, asked) if asked else {}
        except HitlError as exc:  # say, an event no longer in the store
            done.append(_failed(_resumed(config, asked, None), exc))
            continue
        if not outcomes:
            continue
        resumed = _resumed(config, asked, outcomes)
        try:
            output = await graph.ainvoke(_command(outcomes), config)
        except Exception as exc:
            done.append(_failed(resumed, exc))
        else:
            done.append(Resumed(resumed.thread_id, config, resumed.request_ids, output))
    return done


resume_answered = _Twin(_resume_answered, _resume_answered_async, "resume_answered")
resume_answered.__doc__ = """Resume the threads whose hitlkit questions are resolved; never waits.

For each thread (a thread id or a config), reads its state from the graph's
checkpointer; when it is paused on hitlkit questions (`ask`, `approve`) of which
some are resolved, resumes it with their outcomes, in this thread (`graph.invoke`;
`await resume_answered.aio(...)` uses `graph.ainvoke`, which needs an async
checkpointer such as `AsyncSqliteSaver`). A question past its deadline is recorded
as timed out (or defaulted) here, and its node raises `EventTimeoutError`.

Returns one `Resumed` per resumed thread. A graph that raises, or a question that
cannot be read (say, its event is no longer in the store), is reported in `error`
(and logged) rather than stopping the others. Threads still waiting, or not paused
on hitlkit, are left alone. Run one resumer per thread at a time.

`store`: where the events are (default: `HITL_STORE`, as for `new_event`).

```python
for resumed in resume_answered(graph, ["t1", "t2"], store="file:///srv/hitl"):
    if resumed.error is not None:
        print(resumed.thread_id, "failed:", resumed.error)
```
"""


def _wait_and_resume(
    graph: Pregel[Any, Any, Any, Any], thread: Thread, *, store: Store | str | None = None
) -> Any:
    the_store = _store_of(store)
    config = config_of(thread)
    output = None
    while asked := questions(graph.get_state(config)):
        outcomes = run_sync(_wait_first(the_store, asked))
        output = graph.invoke(_command(outcomes), config)
    return output


async def _wait_and_resume_async(
    graph: Pregel[Any, Any, Any, Any], thread: Thread, *, store: Store | str | None = None
) -> Any:
    the_store = _store_of(store)
    config = config_of(thread)
    output = None
    while asked := questions(await graph.aget_state(config)):
        outcomes = await _wait_first(the_store, asked)
        output = await graph.ainvoke(_command(outcomes), config)
    return output


wait_and_resume = _Twin(_wait_and_resume, _wait_and_resume_async, "wait_and_resume")
wait_and_resume.__doc__ = """Wait for the answers a thread waits on and resume it, until done.

Blocks (or, as `await wait_and_resume.aio(...)`, awaits) with hitlkit's waiting
(woken by the store when an answer lands, not by polling where the store can
notify) until one of the questions the thread is paused on is resolved, resumes
the thread with the resolved ones, and repeats while the graph pauses again on
hitlkit questions. Returns the graph's last output (`None` if the thread was not
paused on hitlkit); an error the graph raises, such as the `EventTimeoutError` of a
question that timed out and that its node does not catch, is raised here.

```python
graph.invoke({"task": "send the report"}, {"configurable": {"thread_id": "t1"}})
final = wait_and_resume(graph, "t1")
```
"""
