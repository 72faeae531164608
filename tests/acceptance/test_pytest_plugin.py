"""`pytest -p hitlkit.testing`: the fixtures a user's own test suite gets, run as that suite.

Each test runs pytest in a subprocess on a small test file written here, as a user's
CI would, and reads its verdicts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

USERS_TESTS = """
import hitlkit
import pytest


def workflow() -> int:
    # Code under test: it names no store, as in production.
    x = hitlkit.new_event("add_to_x", data_type=int).wait()
    if hitlkit.new_event("double", data_type=bool).wait():
        return (x + 10) * 2
    return x + 10


def test_scripted_answers(hitl_responder, hitl_store):
    hitl_responder.answers.update({"add_to_x": 5, "double": True})
    assert workflow() == 30
    assert hitl_responder.answered == {"add_to_x": 5, "double": True}
    assert hitlkit.list_events(status="resolved", store=hitl_store)


def test_each_test_gets_a_fresh_store(hitl_store):
    assert hitlkit.list_events(status="all") == []
    hitlkit.new_event("asked", data_type=int)
    assert [e.name for e in hitlkit.list_events(store=hitl_store)] == ["asked"]


def test_an_answer_that_does_not_fit(hitl_responder):
    hitl_responder.answers["add_to_x"] = "five"
    hitl_responder.answers["double"] = False
    workflow()


def test_a_swallowed_misfit_still_fails(hitl_responder):
    hitl_responder.answers["add_to_x"] = "five"
    with pytest.raises(hitlkit.EventCancelledError):
        hitlkit.new_event("add_to_x", data_type=int, timeout_seconds=600).wait()
"""


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (folder / "test_users_workflow.py").write_text(textwrap.dedent(USERS_TESTS))
    (folder / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\ntimeout = 600\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HITL_", "PYTEST_"))}
    env["HITL_STORE"] = str(folder / "never-used")  # the fixtures must override it
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def verdicts(output: str) -> dict[str, str]:
    found = re.findall(r"test_users_workflow\.py::(\w+) (PASSED|FAILED|ERROR)", output)
    outcome: dict[str, str] = {}
    for name, verdict in found:  # a teardown error comes after the call's verdict
        outcome[name] = verdict if name not in outcome else f"{outcome[name]}+{verdict}"
    return outcome


def test_the_fixtures_script_answers_and_a_misfit_fails_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_pytest(tmp_path, "-p", "hitlkit.testing")
    elapsed = time.monotonic() - started

    output = result.stdout + result.stderr
    assert verdicts(output) == {
        "test_scripted_answers": "PASSED",
        "test_each_test_gets_a_fresh_store": "PASSED",
        "test_an_answer_that_does_not_fit": "FAILED",
        "test_a_swallowed_misfit_still_fails": "PASSED+ERROR",
    }, output
    assert result.returncode == 1, output
    # The misfit fails the test with the validation error, not after the 600 s deadline.
    assert "EventCancelledError" in output
    assert "the scripted answer for 'add_to_x' does not fit" in output
    assert "expected an integer" in output
    assert "hitl_responder: InvalidValueError" in output  # the swallowed one, at teardown
    assert elapsed < 120, output
    assert not (tmp_path / "never-used").exists()


def test_a_conftest_may_import_hitlkit_testing_and_name_it_a_plugin(tmp_path: Path) -> None:
    # Named after its import, a plugin module cannot have its asserts rewritten: pytest
    # warns about that, and warnings are errors here, unless the module opts out.
    (tmp_path / "conftest.py").write_text(
        "from hitlkit.testing import Responder\n\npytest_plugins = ['hitlkit.testing']\n"
    )
    result = run_pytest(tmp_path, "-k", "scripted_answers or fresh_store")

    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == {
        "test_scripted_answers": "PASSED",
        "test_each_test_gets_a_fresh_store": "PASSED",
    }


def test_the_plugin_is_opt_in(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "-k", "fresh_store")

    assert result.returncode == 1
    assert "fixture 'hitl_store' not found" in result.stdout


def test_hitlkit_testing_imports_without_pytest() -> None:
    code = (
        "import sys; sys.modules['pytest'] = None\n"
        "import hitlkit.testing\n"
        "assert not hasattr(hitlkit.testing, 'hitl_responder')\n"
        "print(sorted(hitlkit.testing.__all__))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['CountingStore', 'MemoryStore', 'Responder']"
