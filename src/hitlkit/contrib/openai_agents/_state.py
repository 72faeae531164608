"""The saved run state: one JSON file the caller names, replaced atomically.

The file holds the SDK's own serialization of the run (`RunState.to_json()`)
and the hitlkit run id that scopes the approval events, so a new process finds
the same events: `{"format": "hitlkit.openai-agents/1", "run_id": ..., "state": {...}}`.
It is written to a temporary file beside it, flushed to disk, then moved into
place: a reader sees the old state or the new one, never half of one. It is made
readable by its owner only (0600): it holds the conversation and the tool calls.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["FORMAT", "SavedRun", "load_run", "remove_run", "save_run"]

FORMAT = "hitlkit.openai-agents/1"


class SavedRun(NamedTuple):
    """What `load_run` reads back: the hitlkit run id and the SDK's state as JSON."""

    run_id: str
    state: dict[str, Any]


def save_run(path: Path, run_id: str, state: dict[str, Any]) -> None:
    """Write `state` (from `RunState.to_json()`) and `run_id` to `path`, atomically and durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump({"format": FORMAT, "run_id": run_id, "state": state}, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _sync_folder(path.parent)


def load_run(path: Path) -> SavedRun:
    """Read what `save_run` wrote; a file that is not one raises `ValueError` saying so."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no saved agent run at {path}: ToolApprovals.ask() saves one"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a saved agent run: not JSON ({exc})") from None
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or not isinstance(data.get("run_id"), str)
        or not isinstance(data.get("state"), dict)
    ):
        raise ValueError(
            f'{path} is not a saved agent run: expected {{"format": "{FORMAT}", '
            '"run_id": ..., "state": {...}}'
        )
    return SavedRun(data["run_id"], data["state"])


def remove_run(path: Path) -> None:
    """Forget the saved run at `path` (it has finished), if there is one."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk too.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
