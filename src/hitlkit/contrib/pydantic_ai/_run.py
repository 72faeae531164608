"""Run a PydanticAI agent to its end, asking a person at each tool call that needs approval.

The state of an unfinished run is its message history, kept (when asked) in a
checkpoint file as `ModelMessagesTypeAdapter` JSON. Run again with the same
checkpoint after a restart, the agent is given that history: PydanticAI defers
the same tool calls again, without a model request, and their hitlkit events
(named from each call, in a run named from the conversation) are found with
any answer given meanwhile.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_ai import DeferredToolRequests
from pydantic_ai.agent import AbstractAgent
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter
from pydantic_ai.run import AgentRunResult

from hitlkit._approval import ArgumentsView, redact
from hitlkit._event import NOT_GIVEN
from hitlkit._options import _NotGiven
from hitlkit._store import Store
from hitlkit._sync import syncify
from hitlkit.contrib.pydantic_ai._approvals import OnAsk, tool_approval_results

__all__ = ["load_checkpoint", "run_with_approvals"]


@syncify
async def run_with_approvals(
    agent: AbstractAgent[Any, Any],
    user_prompt: str | None = None,
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    message_history: Sequence[ModelMessage] | None = None,
    run_id: str | None = None,
    prompt: str | None = None,
    show_args: ArgumentsView = redact,
    assignees: Sequence[str] | None = None,
    timeout_seconds: float = 3600,
    default: bool | _NotGiven = NOT_GIVEN,
    store: Store | str | None = None,
    notify: Sequence[str] | None = None,
    serve: bool | None = None,
    endpoint: str | None = None,
    on_ask: OnAsk | None = None,
    **run_options: Any,
) -> AgentRunResult[Any]:
    """Run `agent` until it finishes, asking a person (and waiting) whenever tools need approval.

    The agent's output type must include `DeferredToolRequests`. At each
    deferral, every call waiting for approval is asked about through hitlkit
    (see `tool_approval_results` for how answers, timeouts and cancels turn
    out), then the run goes on with the answers. It returns the final result;
    or, when the run defers calls that are not approvals (external calls), the
    result holding those `DeferredToolRequests`, for the caller to resolve.

    - `checkpoint`: a file that keeps the message history while the run waits.
      Called again with it after a crash, the run resumes where it stopped
      (`user_prompt` is then ignored) and finds its questions. Removed when
      the run finishes; delete it to start over.
    - `run_id`: hitlkit's run that holds the questions; default
      `pydantic-ai-<conversation id>`, the same after a resume.
    - `prompt`, `show_args`, `assignees`, `timeout_seconds`, `default`,
      `store`, `notify`, `serve`, `endpoint`, `on_ask`: as in `tool_approval_results`.
    - `run_options`: passed to every `agent.run` (`deps=`, `model=`, ...).

    ```python
    result = run_with_approvals(agent, "Clean up old logs", checkpoint="cleanup.json")
    print(result.output)          # or: await run_with_approvals.aio(...)
    ```
    """
    resumed = load_checkpoint(checkpoint) if checkpoint is not None else None
    if resumed is not None:
        result = await agent.run(message_history=resumed, **run_options)
    else:
        result = await agent.run(user_prompt, message_history=message_history, **run_options)
    while _waits_for_approvals(result.output):
        messages = result.all_messages()
        if checkpoint is not None:
            _save(Path(checkpoint), messages)
        answers = await tool_approval_results.aio(
            result.output,
            run_id=run_id or f"pydantic-ai-{result.conversation_id}",
            prompt=prompt,
            show_args=show_args,
            assignees=assignees,
            timeout_seconds=timeout_seconds,
            default=default,
            store=store,
            notify=notify,
            serve=serve,
            endpoint=endpoint,
            on_ask=on_ask,
        )
        result = await agent.run(
            message_history=messages, deferred_tool_results=answers, **run_options
        )
    if checkpoint is not None:
        _end(Path(checkpoint), result)
    return result


def _waits_for_approvals(output: object) -> bool:
    """Whether the run stopped for approvals only: external calls are the caller's."""
    return isinstance(output, DeferredToolRequests) and bool(output.approvals) and not output.calls


def load_checkpoint(path: str | os.PathLike[str]) -> list[ModelMessage] | None:
    """The message history kept in `path`, or `None` when there is no such file.

    ```python
    history = load_checkpoint("cleanup.json")   # list[ModelMessage] | None
    ```
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return None
    try:
        return ModelMessagesTypeAdapter.validate_json(data)
    except ValidationError as error:
        raise ValueError(
            f"checkpoint {os.fspath(path)!r} is not a PydanticAI message history "
            f"(ModelMessagesTypeAdapter JSON): {error.error_count()} errors, first: "
            f"{error.errors()[0]['msg']}"
        ) from None


def _save(path: Path, messages: Sequence[ModelMessage]) -> None:
    """Write the history whole or not at all: a temporary file, then a rename."""
    data = ModelMessagesTypeAdapter.dump_json(list(messages))
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _end(path: Path, result: AgentRunResult[Any]) -> None:
    """Finished: no checkpoint. Stopped for external calls: keep where it stands."""
    if isinstance(result.output, DeferredToolRequests):
        _save(path, result.all_messages())
    else:
        path.unlink(missing_ok=True)
