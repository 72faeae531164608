"""Checking answers: typed text and JSON values, into the JSON that is stored.

`read_text` reads what a person typed for one node (a form field, a CLI line);
`check_json` checks a JSON value against the tree of shapes, kind by kind (strict:
`1.0` is no integer, `1` is no `true`), puts it in its stored form (floats as floats,
datetimes aware, a set's picks in the order of its choices), then lets `jsonschema`
check the constraints (`minimum`, `pattern`, `required`, ...; patterns in linear time,
see `_patterns`). Both raise
`InvalidValueError` whose `errors` say what is wrong, field by field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.protocols import Validator

from hitlkit._exceptions import FieldError, InvalidValueError
from hitlkit._values._decimals import decimal_errors
from hitlkit._values._patterns import validator
from hitlkit._values._shape import Shape, option_text

__all__ = [
    "MISSING",
    "check_json",
    "invalid",
    "read_text",
    "schema_errors",
    "shown",
    "validator_of",
]

_TYPE_WORDS = {
    "string": "text",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object with fields",
    "array": "a list",
    "null": "nothing (null)",
}


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""An empty form field or CLI answer: the key is left out, so its default applies."""


def shown(got: object) -> str:
    """`got` for an error message, cut to 80 characters."""
    if got is MISSING or got == "":
        return "no answer" if got is MISSING else "an empty answer"
    try:
        text = repr(got) if isinstance(got, str) else json.dumps(got)
    except (TypeError, ValueError):
        try:
            text = repr(got)
        except ValueError:  # it holds an int too long for Python to write out
            text = "a number too long to show"
    return text if len(text) <= 80 else text[:77] + "..."


def _expected(shape: Shape, got: object, reason: object = None) -> str:
    because = f" ({reason})" if reason else ""
    return f"expected {shape.words()}, got {shown(got)}{because}"


def read_text(shape: Shape, text: str | Sequence[str], *, required: bool = True) -> Any:
    """The JSON value typed as `text` (a list of texts for several choices).

    Empty text is null for a nullable node, the empty string for text, and `MISSING`
    otherwise (left out, so a default applies; refused where the node is required).
    Raises `ValueError` with the message for the field.
    """
    if shape.structure == "multi":
        texts = [text] if isinstance(text, str) else list(text)
        return [_choice(shape, t.strip()) for t in texts if t.strip()]
    if not isinstance(text, str):
        text = text[0] if text else ""
    if shape.kind is not None and shape.kind.name == "string":
        if text or not (shape.nullable or not required):
            return text
        return None if shape.nullable else MISSING
    stripped = text.strip()
    if not stripped:
        return None if shape.nullable else MISSING
    if shape.structure == "choice":
        return _choice(shape, stripped)
    if shape.structure == "object":
        try:
            return json.loads(stripped)
        except ValueError:
            raise ValueError('expected a JSON object, e.g. {"field": 1}') from None
    assert shape.kind is not None
    try:
        return shape.kind.read(stripped)
    except ValueError as exc:
        raise ValueError(_expected(shape, text, exc)) from None


def _choice(shape: Shape, text: str) -> Any:
    for option in shape.options:
        if option_text(option) == text:
            return option
    raise ValueError(_expected(shape, text))


def check_json(shape: Shape, constraints: Validator | None, value: Any, got: object) -> Any:
    """`value` in its stored form, or `InvalidValueError` naming `got` (what was sent).

    `constraints` checks the schema's constraints (`validator_of`); `None` where the
    kinds say it all.
    """
    errors: list[FieldError] = []
    if value is MISSING:
        errors.append(
            {"loc": ["value"], "msg": _expected(shape, got if isinstance(got, str) else MISSING)}
        )
        raise invalid(shape, got, errors)
    value = _walk(shape, value, ["value"], errors)
    if not errors and not _storable(value):
        errors.append({"loc": ["value"], "msg": _UNPAIRED})
    # Then the constraints, except where a field (or what holds it) was refused already.
    refused = [tuple(e["loc"]) for e in errors]
    if ("value",) not in refused:  # the whole answer refused: nothing more to say
        errors += [
            e
            for e in schema_errors(constraints, value)
            if not any(tuple(e["loc"][: len(loc)]) == loc for loc in refused)
        ]
    if errors:
        raise invalid(shape, got, errors)
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")
_UNPAIRED = "expected text in UTF-8, got an unpaired surrogate (half of a UTF-16 pair)"


def _storable(value: Any) -> bool:
    """Whether `value` can be stored: its text has no unpaired surrogate, which no UTF-8
    (and so no record, page or terminal) can hold."""
    if isinstance(value, str):
        return value.isascii() or _SURROGATE.search(value) is None
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


def _walk(shape: Shape, value: Any, loc: list[str | int], errors: list[FieldError]) -> Any:
    """`value` checked kind by kind and in its stored form; problems go to `errors`."""
    if value is None and shape.nullable:
        return None
    if shape.structure == "object":
        if not isinstance(value, dict):
            errors.append({"loc": loc, "msg": _expected(shape, value)})
            return value
        fields = {name: sub for name, sub, _ in shape.fields}
        return {
            k: _walk(fields[k], v, [*loc, k], errors) if k in fields else v
            for k, v in value.items()
        }
    if shape.structure == "multi":
        if not isinstance(value, list):
            errors.append({"loc": loc, "msg": f"expected a list of {shape.words()}"})
            return value
        one_of = ", ".join(json.dumps(o) for o in shape.options)
        for i, pick in enumerate(value):
            if not _is_option(shape, pick):
                errors.append(
                    {"loc": [*loc, i], "msg": f"expected one of {one_of}, got {shown(pick)}"}
                )
        return _in_choice_order(shape, value)
    if shape.structure == "choice":
        if not _is_option(shape, value):
            errors.append({"loc": loc, "msg": _expected(shape, value)})
        return value
    assert shape.kind is not None
    try:
        checked = shape.kind.check(value)
    except ValueError as exc:
        errors.append({"loc": loc, "msg": _expected(shape, value, exc)})
        return value
    if shape.kind.name == "decimal":  # constraints JSON Schema cannot check on text
        errors += [{"loc": loc, "msg": m} for m in decimal_errors(shape.schema, checked)]
    return checked


def _is_option(shape: Shape, value: Any) -> bool:
    # Choices are text or whole numbers; True would otherwise pass for the choice 1.
    return (
        isinstance(value, (str, int))
        and not isinstance(value, bool)
        and any(type(o) is type(value) and o == value for o in shape.options)
    )


def _in_choice_order(shape: Shape, value: list[Any]) -> list[Any]:
    """A set's picks in the order of its choices: one set is one answer, however it was sent.

    Anything that is not distinct picks among the choices is left to the validator.
    """
    if shape.schema.get("uniqueItems") is not True:
        return value
    order = {option: i for i, option in enumerate(shape.options)}
    if len(set(value)) != len(value) or not all(_is_option(shape, v) for v in value):
        return value
    return sorted(value, key=order.__getitem__)


def validator_of(schema: dict[str, Any]) -> Validator:
    """What checks a schema's constraints: built once per answer type; `UnsupportedSchema`
    for a pattern that cannot be checked in linear time."""
    return validator(schema)


def schema_errors(constraints: Validator | None, value: Any) -> list[FieldError]:
    """What the schema's constraints say is wrong with `value`, field by field."""
    if constraints is None:
        return []
    found = constraints.iter_errors(value)
    return [_field_error(e) for e in sorted(found, key=lambda e: [str(p) for p in e.path])]


def invalid(shape: Shape, got: object, errors: list[FieldError]) -> InvalidValueError:
    """The error for an answer with `errors`, naming what was expected and what was got."""
    expected = shape.expected()
    if len(errors) == 1 and errors[0]["loc"] == ["value"]:
        message = errors[0]["msg"]
        if not message.startswith(f"expected {shape.words()}"):
            message = f"expected {expected}, got {shown(got)}: {message}"
        elif shape.nullable:
            message = message.replace(f"expected {shape.words()}", f"expected {expected}", 1)
    else:
        listed = "; ".join(
            f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" if len(e["loc"]) > 1 else e["msg"]
            for e in errors[:5]
        )
        # Field by field, a model is named, not told again field by field.
        named = shape.title if shape.structure == "object" and shape.title else expected
        message = f"expected {named}: {listed}"
    return InvalidValueError(message, expected=expected, got=got, errors=errors)


def _field_error(error: SchemaError) -> FieldError:
    best = error
    if error.validator in ("anyOf", "oneOf") and error.context:
        # Optional[X]: say what is wrong with X, not that it is also not null.
        about_x = [e for e in error.context if e.validator_value != "null"]
        best = about_x[0] if about_x else error
    inner = best.relative_path if best is not error else ()
    loc: list[str | int] = ["value", *error.absolute_path, *inner]
    if best.validator == "required" and isinstance(best.instance, dict):
        names: list[str] = list(best.validator_value)  # type: ignore[arg-type]
        absent = [n for n in names if n not in best.instance]
        # One error per missing field, each saying which ("'b' is a required property").
        name = next((n for n in absent if best.message.startswith(repr(n))), None)
        name = name or (absent[0] if absent else "?")
        return {"loc": [*loc, name], "msg": "this field is required"}
    return {"loc": loc, "msg": _message(best)}


def _message(error: SchemaError) -> str:
    rule, limit = error.validator, error.validator_value
    messages: dict[str, Callable[[], str]] = {
        "enum": lambda: f"expected one of {', '.join(json.dumps(o) for o in limit)}",  # type: ignore[union-attr]
        "const": lambda: f"expected {json.dumps(limit)}",
        "type": lambda: f"expected {_TYPE_WORDS.get(str(limit), str(limit))}",
        "minimum": lambda: f"must be at least {limit}",
        "maximum": lambda: f"must be at most {limit}",
        "exclusiveMinimum": lambda: f"must be greater than {limit}",
        "exclusiveMaximum": lambda: f"must be less than {limit}",
        "multipleOf": lambda: f"must be a multiple of {limit}",
        "minLength": lambda: f"must be at least {limit} characters long",
        "maxLength": lambda: f"must be at most {limit} characters long",
        "pattern": lambda: f"must match the pattern {limit}",
        "minItems": lambda: f"pick at least {limit}",
        "maxItems": lambda: f"pick at most {limit}",
        "uniqueItems": lambda: "pick each choice at most once",
    }
    make = messages.get(str(rule))
    return make() if make is not None else error.message
