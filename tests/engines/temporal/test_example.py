"""examples/temporal_approval.py without a server: its workflow passes Temporal's sandbox
validation (hitlkit imported as the example does), and its own activity asks."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from types import ModuleType

import pytest
from temporalio import workflow
from temporalio.testing import ActivityEnvironment
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import hitlkit
from hitlkit.contrib.temporal import SIGNAL

pytestmark = pytest.mark.anyio

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "temporal_approval.py"


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # The sandbox imports the workflow's module again, by name: from the path.
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    return importlib.import_module(EXAMPLE.stem)


async def test_the_workflow_passes_the_sandbox(example: ModuleType) -> None:
    definition = workflow._Definition.must_from_class(example.Release)

    SandboxedWorkflowRunner().prepare_workflow(definition)  # raises on a forbidden import

    assert SIGNAL in definition.signals


async def test_the_examples_activity_asks_for_a_window(example: ModuleType) -> None:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="release-1.4.0", workflow_run_id="r1")

    asked = await env.run(example.ask_window, "1.4.0")

    info = await hitlkit.get_event.aio(asked.request_id)
    assert (info.name, info.run_id, info.data_type) == ("window", "release-1.4.0@r1", "Window")
    assert set(info.json_schema["properties"]) == {"day", "hour"}
