"""examples/dagster_approval.py as a new user runs it: as a script, and its definitions
with the answer given by `hitl answer` on the command line."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import dagster as dg

import hitlkit

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "dagster_approval.py"


def run(*command: str, cwd: Path) -> str:
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def load_example() -> ModuleType:
    """The example as `dagster dev -f` loads it: a file, not a package's module."""
    spec = importlib.util.spec_from_file_location("dagster_approval", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_runs_as_a_script(tmp_path: Path) -> None:
    out = run(sys.executable, str(EXAMPLE), cwd=tmp_path)

    assert "released to everyone" in out
    assert [e.status for e in hitlkit.list_events("all")] == ["answered"]


def test_the_examples_definitions_release_what_hitl_answer_says(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    example = load_example()
    defs: dg.Definitions = example.defs
    dg.Definitions.validate_loadable(defs)
    example.ask_for_release.execute_in_process(instance=instance)
    [event] = hitlkit.list_events()
    hitl = str(Path(sys.executable).parent / "hitl")
    answer = '{"approved": true, "channel": "canary", "note": "LGTM"}'
    assert os.environ["HITL_STORE"]  # the CLI answers in the test's store

    run(hitl, "answer", event.request_id, answer, cwd=tmp_path)
    context = dg.build_sensor_context(instance=instance, definitions=defs)
    [request] = example.release_answered.evaluate_tick(context).run_requests

    release = example.release.execute_in_process(run_config=request.run_config, instance=instance)
    assert release.output_for_node("ship") == "released to canary"
