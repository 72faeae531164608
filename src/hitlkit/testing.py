"""Helpers for testing workflows that ask people for input.

- `MemoryStore`: a real in-memory store, shared by name within a process.
- `CountingStore`: wraps another store and counts the calls made to it.
- `Responder`: answers events by name as they open, so a workflow with human
  steps runs unattended in CI.

```python
from hitlkit.testing import MemoryStore, Responder

store = MemoryStore()
with Responder({"add_to_x": 5, "approve": True}, store=store) as responder:
    result = my_workflow(store=store)       # its new_event(...).wait() calls get 5 and True
assert responder.answered == {"add_to_x": 5, "approve": True}
```

With pytest, `pytest -p hitlkit.testing` (or `pytest_plugins = ["hitlkit.testing"]` in
a conftest.py) adds the fixtures `hitl_store` and `hitl_responder`: see
`hitlkit._pytest_plugin`. They are defined only where pytest can be imported.
(PYTEST_DONT_REWRITE: this module's asserts are not a test's, and a conftest.py may
import it before naming it as a plugin.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from hitlkit import _listing, _ops
from hitlkit._exceptions import EventResolvedError, InvalidValueError
from hitlkit._options import MAX_REASON_LENGTH
from hitlkit._reading import EventInfo
from hitlkit._records import EVENTS_PREFIX
from hitlkit._store import MemoryStore, Store, open_store
from hitlkit._store._counting import CountingStore
from hitlkit._sync import background_loop

__all__ = ["CountingStore", "MemoryStore", "Responder"]

STOP_TIMEOUT_SECONDS = 5.0
"""How long leaving a `Responder` waits for an answer in progress to be recorded."""

Answer = Any | Callable[[EventInfo], Any]


class Responder:
    """Answers events by name as they open, until stopped.

    `answers` maps an event name to a value, or to a function that takes the
    `EventInfo` and returns the value. Events whose name is not in `answers`
    are left alone, and listed in `unmatched`. Answers are recorded with
    `by` (default "hitlkit.testing") through `via="python"`, and follow the
    usual rules: the value must fit the event's type. One that does not is a
    mistake in the test: its `InvalidValueError` goes to `errors`, and the event
    is cancelled with it as the reason, so the workflow waiting for it fails at
    once (`EventCancelledError`, saying why) instead of waiting out its deadline.

    Writes made through the same store object are seen at once; writes made
    by other processes are found by listing every `poll_interval` seconds.
    Use it as a context manager (`with` or `async with`), or call `start()`
    and `stop()`.
    """

    def __init__(
        self,
        answers: Mapping[str, Answer],
        *,
        store: Store | str | None = None,
        run_id: str | None = None,
        by: str = "hitlkit.testing",
        poll_interval: float = 0.2,
    ) -> None:
        from hitlkit._config import default_store_url

        self.store = open_store(store if store is not None else default_store_url())
        self.answers = dict(answers)
        self.run_id = run_id
        self.by = by
        self.poll_interval = poll_interval
        self.answered: dict[str, Any] = {}
        self.unmatched: list[str] = []
        self.errors: list[Exception] = []
        self._seen: set[str] = set()
        self._task: concurrent.futures.Future[None] | None = None
        self._kick: asyncio.Event | None = None
        self._busy: asyncio.Lock | None = None
        self._stopping = False

    def start(self) -> Responder:
        """Start answering in the background."""
        if self._task is None:
            self.store.add_listener(self._on_write)
            self._task = asyncio.run_coroutine_threadsafe(self._run(), background_loop())
        return self

    def stop(self) -> None:
        """Stop answering, after an answer in progress is fully recorded."""
        quieted = self._quiet()
        if quieted is not None and not _running_on(background_loop()):
            with contextlib.suppress(Exception):
                quieted.result(STOP_TIMEOUT_SECONDS)
        self._cancel()

    def _quiet(self) -> concurrent.futures.Future[None] | None:
        self.store.remove_listener(self._on_write)
        if self._task is None:
            return None
        return asyncio.run_coroutine_threadsafe(self._wait_between_answers(), background_loop())

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _wait_between_answers(self) -> None:
        self._stopping = True
        if self._busy is not None:
            async with self._busy:
                pass

    def __enter__(self) -> Responder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Responder:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        quieted = self._quiet()
        if quieted is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.wrap_future(quieted), STOP_TIMEOUT_SECONDS)
        self._cancel()

    def _on_write(self, key: str) -> None:
        if key.startswith(EVENTS_PREFIX) and self._kick is not None:
            loop = background_loop()
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._kick.set)

    async def _run(self) -> None:
        self._kick = asyncio.Event()
        self._busy = asyncio.Lock()
        while not self._stopping:
            self._kick.clear()
            await self._answer_pending()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.poll_interval)

    async def _answer_pending(self) -> None:
        states = await _listing.list_event_states(self.store, status="pending", run_id=self.run_id)
        for state in reversed(states):  # oldest first
            record = state.record
            if record.id in self._seen:
                continue
            self._seen.add(record.id)
            if record.name not in self.answers:
                self.unmatched.append(record.name)
                continue
            answer = self.answers[record.name]
            value = answer(state.info()) if callable(answer) else answer
            assert self._busy is not None
            async with self._busy:  # stop() waits for this to finish
                if self._stopping:
                    return
                try:
                    await _ops.answer_event(self.store, record.id, value, by=self.by, via="python")
                except EventResolvedError:
                    continue
                except InvalidValueError as exc:
                    self.errors.append(exc)
                    await self._call_off(record.id, record.name, exc)
                    continue
                except Exception as exc:  # kept for the test to inspect; the loop goes on
                    self.errors.append(exc)
                    continue
                self.answered[record.name] = value

    async def _call_off(self, request_id: str, name: str, exc: InvalidValueError) -> None:
        # A scripted answer that does not fit is a mistake in the test: the workflow
        # waiting for it fails at once, saying why, instead of waiting out its deadline.
        reason = f"hitlkit.testing: the scripted answer for {name!r} does not fit: {exc}"
        with contextlib.suppress(EventResolvedError):
            await _ops.cancel_event(
                self.store, request_id, by=self.by, via="python", reason=reason[:MAX_REASON_LENGTH]
            )


def _running_on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


try:  # The fixtures of `pytest -p hitlkit.testing`; hitlkit never needs pytest.
    from hitlkit._pytest_plugin import hitl_responder as hitl_responder
    from hitlkit._pytest_plugin import hitl_store as hitl_store
    from hitlkit._pytest_plugin import pytest_runtest_makereport as pytest_runtest_makereport
except ImportError as exc:
    if exc.name != "pytest":
        raise
