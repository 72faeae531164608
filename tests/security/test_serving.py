"""A workflow process serving the app by itself keeps to the same rules as `hitl serve`."""

from __future__ import annotations

from pathlib import Path

import pytest

import hitlkit
from hitlkit import ConfigurationError
from tests.acceptance.conftest import free_port


def test_a_workflow_does_not_serve_on_all_interfaces_without_auth(tmp_path: Path) -> None:
    endpoint = f"http://0.0.0.0:{free_port()}"

    with pytest.raises(ConfigurationError, match=r"refusing to serve on 0\.0\.0\.0"):
        hitlkit.new_event("x", int, store=str(tmp_path / "store"), endpoint=endpoint, serve=True)
