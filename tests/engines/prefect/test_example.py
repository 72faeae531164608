"""examples/prefect_approval.py run as a user runs it, answered from another process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engines.prefect.people import person

EXAMPLE = Path(__file__).parents[3] / "examples" / "prefect_approval.py"


@pytest.mark.timeout(300)  # a process that imports Prefect, on a busy machine
def test_the_example_ships_once_approved(prefect_api: str, tmp_path: Path) -> None:
    env = {**os.environ, "PREFECT_API_URL": prefect_api}
    with (tmp_path / "out").open("wb") as out:
        example = subprocess.Popen(
            [sys.executable, str(EXAMPLE)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        with person(True, name="ship"):
            assert example.wait(timeout=240) == 0
    finally:
        example.kill()
        example.wait()
    said = (tmp_path / "out").read_text()
    assert "shipped release-1.2.0.tar.gz" in said.splitlines()
    assert "hitl answer" in said  # the run's log says how to answer
