"""The demo workflow behind `hitl demo`: compute, ask a person twice, finish.

It uses hitlkit's defaults: events in the `.hitl` folder (`HITL_STORE`) and
the web app started on demand at `HITL_ENDPOINT`. Each question can be
answered from the browser, from a shell with `hitl answer`, or over HTTP.
Run it again with the same run id and it re-attaches to the same questions,
picking up answers given while it was stopped.

```python
import sys
from hitlkit._demo import run_demo

result = run_demo("my-run", timeout=600, out=sys.stdout)
```

Or from a shell: `python -m hitlkit._demo [RUN_ID]`.
"""

from __future__ import annotations

import json
import secrets
import shlex
import sys
from datetime import datetime, timezone
from typing import Any, Protocol, TextIO, TypeVar

from hitlkit import _config
from hitlkit._event import Event, new_event
from hitlkit._records import utcnow
from hitlkit._shell import hitl_command
from hitlkit._store import LocalStore
from hitlkit._values import adapter_for

__all__ = ["new_run_id", "run_demo"]

T = TypeVar("T")


class Say(Protocol):
    def __call__(self, line: str = "", /) -> None: ...


PARTS = (10, 12, 20)


def new_run_id() -> str:
    """A fresh run id, such as `demo-20250101T120000-a1b2c3`."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"demo-{stamp}-{secrets.token_hex(3)}"


def run_demo(run_id: str | None, timeout: float, out: TextIO) -> int:
    """Run the demo workflow in run `run_id` (a fresh one if `None`); return its result.

    Each question waits up to `timeout` seconds from when it was first asked.
    Raises `EventTimeoutError` or `EventCancelledError` like any `wait()`.

    ```python
    run_demo("demo-1", 600, sys.stdout)   # prints the questions, returns 94 for 5 and yes
    ```
    """
    run_id = run_id or new_run_id()

    def say(line: str = "") -> None:
        print(line, file=out, flush=True)

    x = sum(PARTS)
    say(f"hitlkit demo, run {run_id}")
    say(f"x = {' + '.join(map(str, PARTS))} = {x}")
    say()
    y = _ask(say, run_id, timeout, "add_to_x", int, "What should I add to x?", example=5)
    say(f"x + y = {x} + {y} = {x + y}")
    say()
    double = _ask(say, run_id, timeout, "double", bool, "Double the result?", example=True)
    result = (x + y) * 2 if double else x + y
    say(f"Result: {result}" + (f" ({x + y} doubled)" if double else ""))
    return result


def _ask(
    say: Say,
    run_id: str,
    timeout: float,
    name: str,
    data_type: type[T],
    prompt: str,
    *,
    example: T,
) -> T:
    """Ask one question, say how to answer it, and wait for the answer."""
    asked_at = utcnow()
    event = new_event(
        name, data_type=data_type, prompt=prompt, timeout_seconds=timeout, run_id=run_id
    )
    say(f"Question {name}: {prompt}")
    say(f"  Expects {adapter_for(data_type).expected}.")
    outcome = event.outcome()
    if outcome is not None:
        status = outcome.status.replace("_", " ")
        say(f"Re-attached to {event.request_id}: it was {status} while the demo was stopped.")
    else:
        if event.record.created_at < asked_at:
            say(f"Re-attached to {event.request_id}, asked before the demo was stopped.")
        _say_how_to_answer(say, event, example)
        say(
            f"Waiting until {event.deadline:%Y-%m-%d %H:%M:%S} UTC. Ctrl-C stops the demo; "
            f"`{hitl_command()} demo --run-id {run_id}` picks it up again."
        )
    value = event.wait()
    outcome = event.outcome()
    source = f" (from {outcome.by}, via {outcome.via})" if outcome and outcome.by else ""
    say(f"Got {_as_text(value)}{source}.")
    return value


def _say_how_to_answer(say: Say, event: Event[Any], example: object) -> None:
    """The three ways to answer, each a line that works when pasted, from any folder."""
    request_id = event.request_id
    body = json.dumps({"request_id": request_id, "value": example}, separators=(",", ":"))
    # Another terminal starts in another folder: the command names the store it answers in.
    store = event.store
    where = str(store.root) if isinstance(store, LocalStore) else store.url
    answer = f"{hitl_command()} answer {request_id} {_as_text(example)}"
    if _config.web_app_missing() and not _config.setting("endpoint").value:
        # No app here, and none named: a link would lead nowhere.
        say(f"  Answer from a shell: {answer} --store {shlex.quote(where)}")
        return
    say(f"  Answer in a browser: {event.form_url}")
    say(f"  or from a shell:     {answer} --store {shlex.quote(where)}")
    say(
        f"  or over HTTP:        curl -X POST {event.api_url} "
        f"-H 'content-type: application/json' -d '{body}'"
    )


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


if __name__ == "__main__":
    run_demo(sys.argv[1] if len(sys.argv) > 1 else None, 3600, sys.stdout)
