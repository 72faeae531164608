"""pytest fixtures for workflows that ask people for input: `pytest -p hitlkit.testing`.

Opt-in (no entry point, so installing hitlkit changes no one's test run), and
fixtures only. `hitlkit.testing` re-exports them when pytest can be imported, which
is how `-p hitlkit.testing` finds them; hitlkit itself never needs pytest.

- `hitl_store`: a fresh in-memory store, made the default for the test
  (`HITL_STORE` points at it), so code under test that calls `new_event(...)`,
  `list_events()` or `answer(...)` without `store=` uses it, and starts no web app.
- `hitl_responder`: a started `Responder` on that store, with no answers yet:
  script them in `hitl_responder.answers` before the code under test asks.
  It is stopped at teardown, where a scripted answer that did not fit its event's
  type (kept in `hitl_responder.errors`) fails a test that passed: the code under
  test may have caught the `EventCancelledError` it caused.

```python
def test_approval(hitl_responder):
    hitl_responder.answers["approve"] = True
    assert my_workflow() == "shipped"
```
"""

from __future__ import annotations

import uuid
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from hitlkit._store import MemoryStore, open_store

if TYPE_CHECKING:
    from hitlkit.testing import Responder

__all__ = ["hitl_responder", "hitl_store", "pytest_runtest_makereport"]

_CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def hitl_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryStore]:
    """A fresh `MemoryStore`, the default store of this test (`HITL_STORE`).

    ```python
    def test_asks(hitl_store):
        my_workflow_that_asks()
        assert [e.name for e in hitlkit.list_events()] == ["approve"]
    ```
    """
    url = f"memory://pytest-{uuid.uuid4().hex}"
    store = open_store(url)
    assert isinstance(store, MemoryStore)
    monkeypatch.setenv("HITL_STORE", url)
    yield store
    _forget(store)


@pytest.fixture
def hitl_responder(hitl_store: MemoryStore, request: pytest.FixtureRequest) -> Iterator[Responder]:
    """A started `Responder` on `hitl_store`, with no answers until the test scripts them.

    ```python
    def test_doubles(hitl_responder):
        hitl_responder.answers.update({"add_to_x": 5, "double": True})
        assert my_workflow() == 30
        assert hitl_responder.answered == {"add_to_x": 5, "double": True}
    ```
    """
    from hitlkit.testing import Responder

    responder = Responder({}, store=hitl_store).start()
    try:
        yield responder
    finally:
        responder.stop()
    if responder.errors and not request.node.stash.get(_CALL_FAILED, False):
        pytest.fail(
            "hitl_responder: " + "; ".join(f"{type(e).__name__}: {e}" for e in responder.errors),
            pytrace=False,
        )


@pytest.hookimpl(hookwrapper=True)  # not wrapper=True: that needs pytest 8
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, Any, None]:
    """Note a test that failed, so `hitl_responder` does not report its cause twice."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when == "call" and report.failed:
        item.stash[_CALL_FAILED] = True


def _forget(store: MemoryStore) -> None:
    # open_store keeps every store it opened for the process; a test's store goes with it.
    from hitlkit import _store

    with _store._opened_lock:
        if _store._opened.get(store.url) is store:
            del _store._opened[store.url]
    store.close()
