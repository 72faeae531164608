"""hitlkit's HTTP protocol extends uvicorn's: it runs on the uvicorn versions it is tested with."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from hitlkit._server._uvicorn import HttpProtocol

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def uvicorn_requirement() -> Requirement:
    # A line of the dependencies (tomllib is not in Python 3.10).
    found = re.search(r'^\s*"(uvicorn[^"]*)",', PYPROJECT.read_text(), re.MULTILINE)
    assert found is not None, "pyproject.toml names no uvicorn dependency"
    return Requirement(found.group(1))


def test_uvicorn_is_pinned_to_a_closed_range() -> None:
    operators = {spec.operator for spec in uvicorn_requirement().specifier}
    assert ">=" in operators
    assert "<" in operators, "uvicorn needs an upper bound: the next release may change it"


def test_the_installed_uvicorn_is_in_the_tested_range() -> None:
    installed = version("uvicorn")
    tested = uvicorn_requirement().specifier
    assert tested.contains(installed), (
        f"uvicorn {installed} is installed, but hitlkit's HttpProtocol is tested with "
        f"uvicorn{tested}: run the tests of tests/integration/test_slow_clients.py with it, "
        "then widen the range in pyproject.toml"
    )


def test_the_callbacks_it_extends_are_uvicorns() -> None:
    for name in (
        "connection_made",
        "connection_lost",
        "on_message_begin",
        "on_headers_complete",
        "on_message_complete",
        "on_response_complete",
    ):
        assert name in vars(HttpToolsProtocol), f"uvicorn's protocol has no {name} any more"
        assert name in vars(HttpProtocol)


@pytest.mark.parametrize("outside", ["0.54.9", "0.56.0", "0.56.0rc1", "1.0.0"])
def test_a_uvicorn_outside_the_range_is_refused(outside: str) -> None:
    # What test_the_installed_uvicorn_is_in_the_tested_range checks, on versions it must refuse.
    assert not uvicorn_requirement().specifier.contains(outside)
    assert uvicorn_requirement().specifier.contains("0.55.0")
