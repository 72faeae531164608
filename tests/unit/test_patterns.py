"""A schema's patterns, matched in linear time as `re.search` reads the common ones."""

from __future__ import annotations

import time
from typing import Annotated

import pytest
from pydantic import BaseModel, ConfigDict, Field

from hitlkit import InvalidValueError, UnsupportedTypeError
from hitlkit._values import Named, adapter_for, adapter_of
from hitlkit._values._patterns import matches, validator
from hitlkit._values._shape import UnsupportedSchema


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


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        (
            {"$defs": {f"d{i}": {"type": "string", "pattern": f"x{i}"} for i in range(33)}},
            "more than 32 text patterns",
        ),
        ({"type": "string", "pattern": r"\w{1,200}x"}, "more than 100 times"),
        ({"type": "string", "pattern": "a" * 1001}, "longer than 1000 characters"),
    ],
    ids=["too many", "a count too big", "too long"],
)
def test_patterns_that_would_cost_the_app_a_long_compile_are_refused(
    schema: dict[str, object], says: str
) -> None:
    started = time.perf_counter()
    with pytest.raises(UnsupportedSchema, match=says):
        validator(schema)
    assert time.perf_counter() - started < 1  # refused before compiling anything big


def test_a_schema_with_its_share_of_patterns_is_checked() -> None:
    defs = {f"d{i}": {"type": "string", "pattern": f"x{i}"} for i in range(31)}
    schema = {"$defs": defs, "type": "string", "pattern": r"^v[0-9]{1,100}$"}  # the 32nd
    assert list(validator(schema).iter_errors("v12")) == []
