"""A person, in a thread, who answers the questions hitlkit asks, one after the other."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import hitlkit


def answer_next(value: object, *, name: str = "", timeout: float = 60) -> str:
    """Wait for a pending question whose name starts with `name`, answer it with `value`;
    return its id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [e for e in hitlkit.list_events("pending") if e.name.startswith(name)]
        if pending:
            hitlkit.answer(pending[0].request_id, value)
            return pending[0].request_id
        time.sleep(0.05)
    raise AssertionError(f"nobody asked {name or 'anything'} within {timeout} s")


@contextmanager
def person(*values: object, name: str = "") -> Iterator[list[str]]:
    """A thread that answers the next questions with `values`, in turn; yields the ids
    it answered, and raises what went wrong in it when the block ends."""
    answered: list[str] = []
    errors: list[BaseException] = []

    def work(values: Sequence[object]) -> None:
        try:
            for value in values:
                answered.append(answer_next(value, name=name))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=work, args=(values,), daemon=True)
    thread.start()
    yield answered
    thread.join(timeout=60)
    if errors:
        raise errors[0]
