"""A schema's `pattern`, matched in linear time: the constraints' regex engine.

An event's record, written by whoever can create events, holds the answer's JSON
Schema, and a person's answer is checked against it in the app. Python's `re`
backtracks: `^([a-z0-9]+)+$` against 40 letters and a `!` runs for hours, and the app
with it. So hitlkit matches patterns with the Rust `regex` engine (through
pydantic-core, the engine pydantic itself uses by default), whose time grows with the
text's length, never exponentially; `validator` is `jsonschema`'s Draft 2020-12
validator with its `pattern` keyword matched so.

A pattern that engine cannot compile (look-around, backreferences) cannot be checked
safely, and pydantic refuses it too unless a model asks for `regex_engine="python-re"`:
such a schema is not one hitlkit can ask for (`UnsupportedSchema`, so the program
learns it when it creates the event, and the app shows the event as one it cannot
ask). `patternProperties` (keys matched by `re`, emitted by pydantic for dicts, which
hitlkit never asks for) is refused likewise.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from pydantic_core import SchemaError, SchemaValidator, core_schema

from hitlkit._values._shape import UnsupportedSchema

__all__ = ["matches", "validator"]

CACHE_SIZE = 256
MAX_PATTERNS = 32
"""Distinct patterns one schema may hold: each costs a compile, and a big one megabytes."""
MAX_PATTERN_LENGTH = 1000
MAX_REPEAT = 100
"""The largest count a pattern may repeat by (`{n}`, `{n,m}`): counts drive compile time."""
_COUNT = re.compile(r"\{(\d+)(?:,(\d*))?\}")


class _Uncheckable(Exception):
    """A pattern the linear-time engine cannot compile."""


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compiled(pattern: str) -> SchemaValidator:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise _Uncheckable(f"it is longer than {MAX_PATTERN_LENGTH} characters")
    if any(int(n or 0) > MAX_REPEAT for count in _COUNT.findall(pattern) for n in count):
        raise _Uncheckable(f"it repeats something more than {MAX_REPEAT} times")
    try:
        return SchemaValidator(core_schema.str_schema(pattern=pattern, regex_engine="rust-regex"))
    except SchemaError as exc:
        raise _Uncheckable(_reason(str(exc))) from None


def _reason(message: str) -> str:
    """The engine's own reason ("look-around ... is not supported"), from its message."""
    lines = [line.strip() for line in message.splitlines() if line.strip().startswith("error:")]
    return lines[-1].removeprefix("error:").strip() if lines else "it does not compile"


def matches(pattern: str, text: str) -> bool:
    """Whether `pattern` is found in `text` (as `re.search` would), in linear time.

    Raises `UnsupportedSchema` for a pattern the linear-time engine cannot compile.
    """
    try:
        return _compiled(pattern).isinstance_python(text)
    except _Uncheckable as exc:
        raise UnsupportedSchema(_unsupported(pattern, str(exc))) from None


def _unsupported(pattern: str, reason: str) -> str:
    shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
    return (
        f"text whose pattern {shown!r} cannot be checked in linear time ({reason}); "
        "hitlkit checks patterns as pydantic does by default, without look-around "
        "or backreferences"
    )


def _pattern(
    validator: Validator, pattern: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    if not isinstance(pattern, str):
        yield ValidationError(f"cannot be checked: its pattern {pattern!r} is not text")
        return
    try:
        found = matches(pattern, instance)
    except UnsupportedSchema as exc:  # out of the schema's reach when it was read
        yield ValidationError(f"cannot be checked: {exc}")
        return
    if not found:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Validator, patterns: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object") and patterns:
        yield ValidationError("cannot be checked: patternProperties are not supported")


_Validator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"pattern": _pattern, "patternProperties": _pattern_properties}
)


def validator(schema: dict[str, Any]) -> Validator:
    """What checks `schema`'s constraints, patterns in linear time; `UnsupportedSchema`
    for a pattern that cannot be checked so, or for `patternProperties`."""
    _check_patterns(schema)
    return _Validator(schema)  # type: ignore[no-any-return]


def _check_patterns(schema: Any) -> None:
    """Every `pattern` in `schema` compiled ahead (at most `MAX_PATTERNS` of them), and no
    `patternProperties`: looked for anywhere, even where a name or a default holds them,
    since a `$ref` can make any part of the schema a schema; so no answer is ever
    matched by `re`, and a record cannot make the app compile without end."""
    patterns = set(_patterns_in(schema))
    if len(patterns) > MAX_PATTERNS:
        raise UnsupportedSchema(f"more than {MAX_PATTERNS} text patterns in one answer type")
    for pattern in sorted(patterns):
        try:
            _compiled(pattern)
        except _Uncheckable as exc:
            raise UnsupportedSchema(_unsupported(pattern, str(exc))) from None


def _patterns_in(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _patterns_in(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            elif key == "patternProperties" and value:
                raise UnsupportedSchema(
                    "objects with fields named by a pattern (patternProperties)"
                )
            else:
                yield from _patterns_in(value)
