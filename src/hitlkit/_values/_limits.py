"""A field's constraints, for people and for browsers.

A schema node's constraints (pydantic's `ge`, `lt`, `multiple_of`, `min_length`,
`max_length`, `pattern`, a list's `min_length`) are told as a hint next to the field
("Between 1 and 10.", "At most 200 characters.") and given to the browser as the HTML
attributes that check the same thing before the form is posted (`min`, `max`, `step`,
`minlength`, `maxlength`, `pattern`). An attribute is given only where the browser's
rule is the app's: an exclusive bound on a float, a step the browser would count from
another base, or a pattern JavaScript reads otherwise (see `_regex`) is told in words
only. The app checks every constraint again (`_check`): it is the authority.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from hitlkit._values._decimals import decimal_text
from hitlkit._values._regex import browser_pattern
from hitlkit._values._shape import Shape

__all__ = ["constraint_attrs", "constraint_hint"]


def constraint_attrs(shape: Shape, input_kind: str) -> dict[str, str]:
    """The HTML attributes that check `shape`'s constraints in a browser, for an input
    of `input_kind` (as `FormField.kind` names it)."""
    schema = shape.schema
    attrs: dict[str, str] = {}
    if shape.kind is None:
        return attrs
    if shape.kind.name == "integer":
        low, high, step = _integer_bounds(schema)
        attrs.update(_present(min=low, max=high, step=step))
    elif shape.kind.name == "number":
        attrs.update(_number_attrs(schema))
    elif shape.kind.name == "string":
        attrs.update(_present(minlength=_count(schema, "minLength")))
        attrs.update(_present(maxlength=_count(schema, "maxLength")))
        pattern = schema.get("pattern")
        if input_kind == "text" and isinstance(pattern, str):
            attrs.update(_present(pattern=browser_pattern(pattern)))
    return attrs


def constraint_hint(shape: Shape) -> str | None:
    """`shape`'s constraints in words, as a sentence: "Between 1 and 10.", or None."""
    schema = shape.schema
    phrases: list[str] = []
    if shape.structure == "multi":
        phrases = _amount(schema, "minItems", "maxItems", "pick ", "")
    elif shape.kind is not None and shape.kind.name == "integer":
        low, high, _ = _integer_bounds(schema)
        phrases = _range(low, high)
        multiple = _number(schema.get("multipleOf"))
        if multiple is not None:
            phrases.append(f"a multiple of {_shown(multiple)}")
    elif shape.kind is not None and shape.kind.name == "number":
        phrases = _range(*(_number(schema.get(k)) for k in _BOUNDS))
        multiple = _number(schema.get("multipleOf"))
        if multiple is not None:
            phrases.append(f"a multiple of {_shown(multiple)}")
    elif shape.kind is not None and shape.kind.name == "decimal":
        phrases = _decimal_phrases(schema)
    elif shape.kind is not None and shape.kind.name == "string":
        phrases = _amount(schema, "minLength", "maxLength", "", " characters")
    if not phrases:
        return None
    sentence = ", ".join(phrases)
    return sentence[0].upper() + sentence[1:] + "."


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if isinstance(value, int) or math.isfinite(value) else None


def _count(schema: dict[str, Any], key: str) -> int | None:
    value = schema.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _present(**attrs: object) -> dict[str, str]:
    return {name: str(value) for name, value in attrs.items() if value is not None}


def _integer_bounds(schema: dict[str, Any]) -> tuple[int | None, int | None, int | None]:
    """The lowest and highest whole numbers allowed, and the step between them.

    An exclusive bound is the next whole number inside it. A step is given only with a
    lowest value, moved up to a multiple of it: a browser counts steps from `min` (else
    from the input's value, which may be any number), the app from zero.
    """
    lows = [math.ceil(v) for v in [_number(schema.get("minimum"))] if v is not None]
    lows += [math.floor(v) + 1 for v in [_number(schema.get("exclusiveMinimum"))] if v is not None]
    highs = [math.floor(v) for v in [_number(schema.get("maximum"))] if v is not None]
    highs += [math.ceil(v) - 1 for v in [_number(schema.get("exclusiveMaximum"))] if v is not None]
    low, high = max(lows, default=None), min(highs, default=None)
    multiple = _number(schema.get("multipleOf"))
    step = None
    if (
        multiple is not None
        and multiple > 0
        and (isinstance(multiple, int) or multiple.is_integer())
    ):
        step = int(multiple)
        if low is not None:
            low = -(-low // step) * step
            if high is not None:
                high = high // step * step
        else:
            step = None
    return low, high, step


def _number_attrs(schema: dict[str, Any]) -> dict[str, str]:
    """A float's `min`, `max` and `step`: inclusive bounds only (HTML has no exclusive
    ones), and a step only where `min` is a multiple of it (see `_integer_bounds`)."""
    low, high = _number(schema.get("minimum")), _number(schema.get("maximum"))
    attrs = _present(min=_shown(low) if low is not None else None)
    attrs.update(_present(max=_shown(high) if high is not None else None))
    multiple = _number(schema.get("multipleOf"))
    based = multiple is not None and multiple > 0 and low is not None
    if based and _divides(low, multiple):  # type: ignore[arg-type]
        attrs["step"] = _shown(multiple)  # type: ignore[arg-type]
    return attrs


DIVISION_DIGITS = 1000
"""Enough digits for the quotient of any two floats (1e308 / 5e-324 has 632): past that,
`_divides` says no, and the step is told in words only."""


def _divides(low: int | float, multiple: int | float) -> bool:
    """Whether `low` is a multiple of `multiple`, worked out exactly; False where the
    quotient has more than `DIVISION_DIGITS` digits (a whole number of 5000 digits)."""
    try:
        with localcontext() as context:
            context.prec = DIVISION_DIGITS
            return Decimal(repr(low)) % Decimal(repr(multiple)) == 0
    except (InvalidOperation, ValueError):  # DivisionImpossible; an int too long to write
        return False


def _shown(value: int | float | str) -> str:
    """A number as a person writes it: 1 (not 1.0), 0.5, 1e+300."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _range(
    low: int | float | str | None,
    high: int | float | str | None,
    above: int | float | str | None = None,
    below: int | float | str | None = None,
) -> list[str]:
    """Bounds in words; `low`/`high` inclusive, `above`/`below` exclusive."""
    if low is not None and high is not None:
        return [f"between {_shown(low)} and {_shown(high)}"]
    words = [f"at least {_shown(low)}"] if low is not None else []
    if above is not None:
        words.append(f"more than {_shown(above)}")
    words += [f"at most {_shown(high)}"] if high is not None else []
    if below is not None:
        words.append(f"less than {_shown(below)}")
    return [" and ".join(words)] if words else []


def _decimal_phrases(schema: dict[str, Any]) -> list[str]:
    """A Decimal's bounds (recorded as numbers or text) and digits, in words."""
    phrases = _range(*(decimal_text(schema.get(k)) for k in _BOUNDS))
    multiple = decimal_text(schema.get("multipleOf"))
    if multiple is not None:
        phrases.append(f"a multiple of {multiple}")
    digits, places = _count(schema, "maxDigits"), _count(schema, "decimalPlaces")
    if digits is not None:
        phrases.append(f"at most {digits} digits")
    if places is not None:
        after = "digit" if places == 1 else "digits"
        phrases.append(f"at most {places} {after} after the point")
    return phrases


def _amount(schema: dict[str, Any], least: str, most: str, before: str, after: str) -> list[str]:
    """A count's bounds in words: "at most 200 characters", "pick 1 to 3"."""
    low, high = _count(schema, least), _count(schema, most)
    if low == 0:
        low = None
    if low is not None and high is not None:
        amount = f"exactly {low}" if low == high else f"{low} to {high}"
    elif low is not None:
        amount = f"at least {low}"
    elif high is not None:
        amount = f"at most {high}"
    else:
        return []
    if after == " characters" and (high if high is not None else low) == 1:
        after = " character"
    return [f"{before}{amount}{after}"]
