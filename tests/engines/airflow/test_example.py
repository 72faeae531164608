"""examples/airflow_approval.py, run as its docstring says: `dag.test()`, answered by a
person through `hitl answer` (here: hitlkit.answer from another thread)."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import hitlkit
from tests.engines.airflow.conftest import EXAMPLE
from tests.engines.airflow.test_operator import answering, states


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("airflow_approval", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_ships_once_approved() -> None:
    example = load_example()
    with answering({"approve": True}):
        run = example.release.test()
    assert states(run) == {"build": "success", "approve": "success", "ship": "success"}
    [asked] = hitlkit.list_events("all")
    assert asked.prompt == "Ship v1.4.2 to production?"
    assert asked.status == "answered"
