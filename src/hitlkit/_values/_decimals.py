"""A Decimal answer's constraints: recorded in its schema and checked as pydantic does.

A `Decimal` is stored as text (`{"type": "string", "format": "decimal"}`), so JSON Schema's
`minimum` and the like do not apply to it, and pydantic writes none of `max_digits` and
`decimal_places` into a schema. `decimal_node` records them all in the node (the bounds as
`minimum`, `exclusiveMinimum`, ..., `multipleOf`; the digits as `maxDigits` and
`decimalPlaces`), and `decimal_errors` checks an answer against them with a pydantic
validator built from the same constraints: the app, which knows the record alone,
refuses what the waiting program's own type would refuse when it loads the answer.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

__all__ = ["DECIMAL_LIMITS", "decimal_errors", "decimal_node", "decimal_text"]

_BOUNDS = {
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusiveMinimum",
    "lt": "exclusiveMaximum",
    "multiple_of": "multipleOf",
}
_DIGITS = {"max_digits": "maxDigits", "decimal_places": "decimalPlaces"}
DECIMAL_LIMITS = (*_BOUNDS.values(), *_DIGITS.values())
"""The keywords of a decimal node that hold its constraints."""


def decimal_node(constraints: Mapping[str, Any]) -> dict[str, Any]:
    """The schema keywords of a Decimal's `constraints` (pydantic's core schema keys).

    A bound is a JSON number where one holds it exactly, else its text.
    """
    node: dict[str, Any] = {}
    for key, keyword in _BOUNDS.items():
        bound = _decimal(constraints.get(key))  # a float as written (0.1), as pydantic reads it
        if bound is not None:
            node[keyword] = _json_number(bound)
    for key, keyword in _DIGITS.items():
        if constraints.get(key) is not None:
            node[keyword] = int(constraints[key])
    return node


PLAIN_EXPONENT = 30
"""Numbers up to 10**30 (and down to 10**-30) are written out plainly, others with an
exponent: a record's bound may be "1E+300000000", which written out is 300 MB."""


def decimal_text(value: Any) -> str | None:
    """A recorded bound (a JSON number or text) as a person reads it: "0.5", "10",
    "1e+300000000" (an exponent beyond `PLAIN_EXPONENT`)."""
    number = _decimal(value)
    if number is None:
        return None
    if number.is_finite() and abs(number.adjusted()) > PLAIN_EXPONENT:
        return "0" if number.is_zero() else f"{number:e}"
    return f"{number:f}"


def decimal_errors(schema: Mapping[str, Any], text: str) -> list[str]:
    """What is wrong with the Decimal `text` (its stored form) under `schema`'s constraints."""
    limits = tuple((k, schema[k]) for k in DECIMAL_LIMITS if k in schema)
    if not limits:
        return []
    try:
        _validator(limits).validate_python(text)
    except ValidationError as exc:
        return [_message(error["type"], error.get("ctx", {})) for error in exc.errors()]
    return []


def _json_number(number: Decimal) -> int | float | str:
    if number == number.to_integral_value():
        return int(number)
    as_float = float(number)
    return as_float if Decimal(repr(as_float)) == number else str(number)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return None


@functools.lru_cache(maxsize=256)
def _validator(limits: tuple[tuple[str, Any], ...]) -> TypeAdapter[Decimal]:
    keywords = {v: k for k, v in {**_BOUNDS, **_DIGITS}.items()}
    field: dict[str, Any] = {}
    for keyword, value in limits:
        key = keywords[keyword]
        field[key] = int(value) if key in _DIGITS else _decimal(value)
    return TypeAdapter(Annotated[Decimal, Field(**field)])


def _message(kind: str, ctx: Mapping[str, Any]) -> str:
    words = {
        "greater_than_equal": "must be at least {ge}",
        "greater_than": "must be greater than {gt}",
        "less_than_equal": "must be at most {le}",
        "less_than": "must be less than {lt}",
        "multiple_of": "must be a multiple of {multiple_of}",
        "decimal_max_digits": "must have at most {max_digits} digits",
        "decimal_max_places": "must have at most {decimal_places} digits after the point",
        "decimal_whole_digits": "must have at most {whole_digits} digits before the point",
    }
    shown = {k: decimal_text(v) if isinstance(v, Decimal) else v for k, v in ctx.items()}
    template = words.get(kind)
    return template.format(**shown) if template else "is out of range"
