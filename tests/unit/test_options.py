"""The options of `new_event` are defined once (`hitlkit._options.OPTIONS`): every
signature that spells them out, the docstrings and the README's table agree with it."""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import Any

import pytest

import hitlkit
from hitlkit import _options
from hitlkit._options import OPTIONS, REQUIRED

README = Path(__file__).parents[2] / "README.md"


def _flyte(name: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # flyte's own pydantic use
        pytest.importorskip("flyte", reason='flyte is not installed (pip install "hitlkit[flyte]")')
        import flyteplugins.hitl
        import hitlkit.contrib.flyte
    return {
        "hitlkit.contrib.flyte.new_event": hitlkit.contrib.flyte.new_event,
        "hitlkit.contrib.flyte.Event.create": hitlkit.contrib.flyte.Event.create,
        "flyteplugins.hitl.new_event": flyteplugins.hitl.new_event,
    }[name]


CALLS = [
    "hitlkit.new_event",
    "hitlkit.Event.create",
    "hitlkit.contrib.flyte.new_event",
    "hitlkit.contrib.flyte.Event.create",
    "flyteplugins.hitl.new_event",
]


def _call(name: str) -> Any:
    if name == "hitlkit.new_event":
        return hitlkit.new_event
    if name == "hitlkit.Event.create":
        return hitlkit.Event.create
    return _flyte(name)


@pytest.mark.parametrize("name", CALLS)
def test_each_signature_is_the_definition(name: str) -> None:
    call = _call(name)
    for signature in (inspect.signature(call), inspect.signature(call.aio)):
        found = [
            (p.name, p.kind is p.KEYWORD_ONLY, REQUIRED if p.default is p.empty else p.default)
            for p in signature.parameters.values()
        ]
        expected = [(o.name, o.keyword_only, o.default) for o in OPTIONS]
        assert found == expected
        kinds = {p.kind for p in signature.parameters.values()}
        assert kinds <= {inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY}


@pytest.mark.parametrize("name", CALLS)
def test_help_shows_every_option(name: str) -> None:
    doc = inspect.getdoc(_call(name)) or ""
    for option in OPTIONS:
        assert f"- `{option.name}`: {option.doc}." in doc
    assert "{options}" not in doc


def test_the_readme_heading_and_table_are_the_definition() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    headings = [line for line in lines if line.startswith("### `new_event(")]
    assert headings == [_options.readme_heading()]
    start = lines.index(headings[0])
    table_start = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    table_end = next(i for i in range(table_start, len(lines)) if not lines[i].startswith("|"))
    assert lines[table_start:table_end] == _options.readme_table()


def test_the_definition_is_the_seed_api() -> None:
    # flyteplugins.hitl.new_event's positional parameters, in its order; the rest keyword-only.
    positional = [o.name for o in OPTIONS if not o.keyword_only]
    assert positional == [
        "name",
        "data_type",
        "scope",
        "prompt",
        "timeout_seconds",
        "poll_interval_seconds",
    ]
    assert len(OPTIONS) == 19
    keyword_only = [o.keyword_only for o in OPTIONS]
    assert keyword_only == sorted(keyword_only)  # none positional after a keyword-only one


def test_given_picks_every_option_in_order() -> None:
    scope = {o.name: index for index, o in enumerate(OPTIONS)} | {"found": "not an option"}
    assert list(_options.given(scope).items()) == [(o.name, i) for i, o in enumerate(OPTIONS)]
