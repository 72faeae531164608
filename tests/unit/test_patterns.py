"""A schema's patterns, matched in linear time as `re.search` reads the common ones."""

from __future__ import annotations

import time
from typing import Annotated

import pytest
from pydantic import BaseModel, ConfigDict, Field

from hitlkit import InvalidValueError, UnsupportedTypeError
from hitlkit._values import Named, adapter_for, adapter_of
from hitlkit._values._patterns import matches


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        ("b", "abc", True),  # found anywhere, as re.search
        ("^b", "abc", False),
        (r"^[a-z]+\d$", "ab1", True),
        (r"^a$", "a\n", False),  # as pydantic, not as Python's `$`
        (r"^([a-z0-9]+)+$", "a" * 5000 + "!", False),  # Python's re: forever
    ],
)
def test_patterns_are_searched_as_pydantic_does(pattern: str, text: str, found: bool) -> None:
    started = time.monotonic()
    assert matches(pattern, text) is found
    assert time.monotonic() - started < 1


def test_a_backtracking_pattern_refuses_an_answer_at_once() -> None:
    class Ticket(BaseModel):
        ref: Annotated[str, Field(pattern=r"^([a-z0-9]+)+$")]

    adapter = adapter_for(Ticket)
    with pytest.raises(InvalidValueError, match="must match the pattern"):
        adapter.validate_json({"ref": "a" * 60 + "!"})
    assert adapter.validate_json({"ref": "abc"}) == {"ref": "abc"}


def test_a_pattern_without_a_linear_time_match_is_a_type_hitlkit_cannot_ask() -> None:
    class Ahead(BaseModel):
        model_config = ConfigDict(regex_engine="python-re")
        ref: Annotated[str, Field(pattern=r"^(?=a)\w+$")]

    with pytest.raises(UnsupportedTypeError, match="look-around"):
        adapter_for(Ahead)
    backreference = {"type": "string", "pattern": r"(a)\1"}
    with pytest.raises(UnsupportedTypeError, match="cannot be checked in linear time"):
        adapter_of(Named("Twice", backreference, "schema"))


def test_pattern_properties_are_refused_wherever_they_are() -> None:
    hidden = {
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "not": {"$ref": "#/$defs/keys"},
        "$defs": {"keys": {"patternProperties": {"^(a+)+$": {}}}},
    }
    with pytest.raises(UnsupportedTypeError, match="patternProperties"):
        adapter_of(Named("Keys", hidden, "schema"))
