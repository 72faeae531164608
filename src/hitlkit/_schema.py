"""Answers described by JSON Schema: what hitlkit can ask for, and checking answers.

The app cannot import a workflow's classes, so an event of a rich type records
its answer's JSON Schema (pydantic emits Draft 2020-12) and every answer is
checked against that schema alone: read from text (`from_text`, for form fields
and the CLI), normalised (datetimes made timezone-aware, UTC when naive) and
validated with `jsonschema` (`validate_answer`). The waiting process then turns
the stored JSON into its Python type with pydantic.

`shape_of` reads one schema node into a `Shape`: the form, the CLI and the
validation all go through it, so they agree on what a schema means.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Final, Literal

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError

from hitlkit._exceptions import FieldError, InvalidValueError

__all__ = [
    "MISSING",
    "SUPPORTED",
    "Shape",
    "UnsupportedSchema",
    "check_supported",
    "from_text",
    "option_text",
    "schema_errors",
    "shape_of",
    "validate_answer",
    "validate_text",
]

SUPPORTED = (
    "int, float, str, bool, Literal[...] of str or int, Enum, list[...] or set[...] of such "
    "choices, Optional[X], datetime.date, datetime.datetime, and pydantic models, dataclasses "
    "and TypedDicts whose fields are of these types"
)

Kind = Literal[
    "string", "integer", "number", "boolean", "choice", "multi", "date", "datetime", "object"
]

MAX_DEPTH = 8
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}
_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
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


class UnsupportedSchema(Exception):
    """A JSON Schema hitlkit cannot ask a person for; the message says which part."""


@dataclass(frozen=True)
class Shape:
    """One schema node as hitlkit reads it: what to ask, and its rules.

    `schema` is the node with `$ref`s resolved and the null branch removed; it
    keeps the title, description, default and constraints.
    """

    kind: Kind
    schema: dict[str, Any]
    nullable: bool = False
    options: tuple[Any, ...] = ()
    """The choices, for "choice" and "multi"."""
    fields: tuple[tuple[str, Shape, bool], ...] = field(default=())
    """(name, shape, required) of each property, for "object"."""

    @property
    def title(self) -> str | None:
        """The node's title, if the schema gives one."""
        title = self.schema.get("title")
        return title if isinstance(title, str) else None

    @property
    def description(self) -> str | None:
        """The node's description (from `Field(description=...)` or a docstring)."""
        text = self.schema.get("description")
        return text if isinstance(text, str) else None

    def expected(self) -> str:
        """The answer in words: "a whole number", "one of 'ship', 'hold'", ..."""
        words = {
            "string": "text",
            "integer": "a whole number",
            "number": "a number",
            "boolean": "yes or no",
            "date": "a date (YYYY-MM-DD)",
            "datetime": "a date and time (YYYY-MM-DDTHH:MM, UTC unless an offset is given)",
            "object": f"{self.title or 'an object'} (a JSON object)",
        }.get(self.kind)
        if words is None:
            listed = ", ".join(json.dumps(o) for o in self.options)
            words = f"one of {listed}" if self.kind == "choice" else f"any of {listed}"
        return f"{words}, or nothing" if self.nullable else words


def shape_of(node: dict[str, Any], root: dict[str, Any], _depth: int = 0) -> Shape:
    """Read `node` of the schema `root`; `UnsupportedSchema` if hitlkit cannot ask for it."""
    if _depth > MAX_DEPTH:
        raise UnsupportedSchema(f"types nested more than {MAX_DEPTH} deep (or recursive types)")
    node = _resolve(node, root)
    variants = node.get("anyOf") or node.get("oneOf")
    if isinstance(variants, list):
        others = [v for v in variants if v != {"type": "null"}]
        if len(others) != 1:
            raise UnsupportedSchema("unions of several types (only Optional[X] is supported)")
        outer = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
        inner = shape_of({**others[0], **outer}, root, _depth + 1)
        return Shape(
            inner.kind, inner.schema, len(others) < len(variants), inner.options, inner.fields
        )
    if isinstance(node.get("type"), list):
        types = [t for t in node["type"] if t != "null"]
        if len(types) != 1:
            raise UnsupportedSchema("unions of several types (only Optional[X] is supported)")
        inner = shape_of({**node, "type": types[0]}, root, _depth + 1)
        return Shape(inner.kind, inner.schema, True, inner.options, inner.fields)
    if "const" in node or "enum" in node:
        options = (node["const"],) if "const" in node else tuple(node["enum"])
        if not options or not all(
            isinstance(o, (str, int)) and not isinstance(o, bool) for o in options
        ):
            raise UnsupportedSchema("choices other than text or whole numbers")
        return Shape("choice", node, options=options)
    kind = node.get("type")
    if kind == "string":
        formats: dict[Any, Kind] = {None: "string", "date": "date", "date-time": "datetime"}
        if node.get("format") not in formats:
            raise UnsupportedSchema(f"text of format {node.get('format')!r} (e.g. bytes)")
        return Shape(formats[node.get("format")], node)
    if kind in ("integer", "number", "boolean"):
        return Shape(kind, node)
    if kind == "array":
        items = shape_of(node.get("items", {}), root, _depth + 1)
        if items.kind != "choice" or items.nullable or "prefixItems" in node:
            raise UnsupportedSchema("lists other than list[...] or set[...] of choices")
        return Shape("multi", node, options=items.options)
    if kind == "object":
        return _object_shape(node, root, _depth)
    raise UnsupportedSchema("values of any type (give the answer a concrete type)")


def _object_shape(node: dict[str, Any], root: dict[str, Any], depth: int) -> Shape:
    properties = node.get("properties")
    if not isinstance(properties, dict) or not properties:
        raise UnsupportedSchema("dicts and objects without declared fields (e.g. dict[str, Any])")
    if isinstance(node.get("additionalProperties"), dict):
        raise UnsupportedSchema("objects with extra fields of their own type")
    required = set(node.get("required", ()))
    fields = tuple(
        (name, shape_of(sub, root, depth + 1), name in required) for name, sub in properties.items()
    )
    return Shape("object", node, fields=fields)


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """`node` with a local `$ref` (or a one-item `allOf`) replaced by its target."""
    for _ in range(MAX_DEPTH):
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1:
            node = {**all_of[0], **{k: v for k, v in node.items() if k != "allOf"}}
        ref = node.get("$ref")
        if ref is None:
            return node
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            raise UnsupportedSchema(f"references outside the schema ({ref!r})")
        target = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"))
        if not isinstance(target, dict):
            raise UnsupportedSchema(f"a reference to a missing definition ({ref!r})")
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    raise UnsupportedSchema("references that do not end")


def check_supported(schema: dict[str, Any]) -> Shape:
    """The root shape of `schema`, or `UnsupportedSchema` saying which part cannot be asked."""
    return shape_of(schema, schema)


def option_text(option: Any) -> str:
    """A choice as typed or posted: `ship`, `3`."""
    return option if isinstance(option, str) else json.dumps(option)


# -- text to JSON ---------------------------------------------------------------


def from_text(shape: Shape, text: str | Sequence[str]) -> Any:
    """The JSON value typed as `text` (a list of texts for "multi"), or `MISSING` if empty.

    Raises `ValueError` with a short reason when the text cannot be one.
    """
    if shape.kind == "multi":
        texts = [text] if isinstance(text, str) else list(text)
        picked = [t.strip() for t in texts if t.strip()]
        return [_choice(shape, t) for t in picked]
    if not isinstance(text, str):
        text = text[0] if text else ""
    if shape.kind == "string":
        return text if text or not shape.nullable else None
    stripped = text.strip()
    if not stripped:
        return None if shape.nullable else MISSING
    if shape.kind == "integer":
        if not _INT_TEXT.fullmatch(stripped):
            raise ValueError("expected a whole number")
        return int(stripped)
    if shape.kind == "number":
        try:
            number = float(stripped) if "_" not in stripped else math.nan
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ValueError("expected a finite number")
        return int(number) if _INT_TEXT.fullmatch(stripped) else number
    if shape.kind == "boolean":
        if stripped.lower() in _TRUE | _FALSE:
            return stripped.lower() in _TRUE
        raise ValueError("expected yes or no")
    if shape.kind == "choice":
        return _choice(shape, stripped)
    if shape.kind == "object":
        try:
            return json.loads(stripped)
        except ValueError:
            raise ValueError('expected a JSON object, e.g. {"field": 1}') from None
    return stripped  # date, datetime: checked by format


def _choice(shape: Shape, text: str) -> Any:
    for option in shape.options:
        if option_text(option) == text:
            return option
    raise ValueError(f"expected one of {', '.join(map(option_text, shape.options))}")


# -- validation -----------------------------------------------------------------

_formats = FormatChecker(formats=())


@_formats.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    return not isinstance(value, str) or (
        _DATE_TEXT.fullmatch(value) is not None and date.fromisoformat(value) is not None
    )


@_formats.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    return not isinstance(value, str) or (
        _DATETIME_TEXT.fullmatch(value) is not None and _parse_datetime(value).tzinfo is not None
    )


def _parse_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def validate_text(schema: dict[str, Any], text: str) -> Any:
    """An answer typed as `text` (a form field, the CLI), read and checked against `schema`."""
    shape = check_supported(schema)
    return _validated(shape, schema, _read_text(shape, text))


def validate_answer(schema: dict[str, Any], value: Any) -> Any:
    """`value` checked against `schema`, with datetimes made timezone-aware (UTC if naive).

    Raises `InvalidValueError` whose `errors` say what is wrong, field by field.
    """
    shape = check_supported(schema)
    text_is_data = shape.kind in ("string", "date", "datetime") or (
        shape.kind == "choice" and any(isinstance(o, str) for o in shape.options)
    )
    if isinstance(value, str) and not text_is_data:
        value = _read_text(shape, value)
    return _validated(shape, schema, value)


def _read_text(shape: Shape, text: str) -> Any:
    try:
        return from_text(shape, text)
    except ValueError as exc:
        raise invalid(shape, text, [{"loc": ["value"], "msg": str(exc)}]) from None


def _validated(shape: Shape, schema: dict[str, Any], value: Any) -> Any:
    if value is MISSING:
        raise invalid(shape, "", [{"loc": ["value"], "msg": "an answer is required"}])
    value = _normalize(shape, value)
    errors = schema_errors(schema, value)
    if errors:
        raise invalid(shape, value, errors)
    return value


def schema_errors(schema: dict[str, Any], value: Any) -> list[FieldError]:
    """What is wrong with the JSON `value` under `schema`, field by field (none if it fits)."""
    found = Draft202012Validator(schema, format_checker=_formats).iter_errors(value)
    return [_field_error(e) for e in sorted(found, key=lambda e: [str(p) for p in e.path])]


def invalid(shape: Shape, got: object, errors: list[FieldError]) -> InvalidValueError:
    """The error for an answer with `errors`, naming what was expected."""
    listed = "; ".join(
        f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" if len(e["loc"]) > 1 else e["msg"]
        for e in errors[:5]
    )
    expected = shape.expected()
    return InvalidValueError(
        f"expected {expected}: {listed}", expected=expected, got=got, errors=errors
    )


def _normalize(shape: Shape, value: Any) -> Any:
    """Make datetimes aware (naive ones are read as UTC) and put a set's picks in the order of
    its choices; leave anything else to the validator."""
    if value is None:
        return value
    if shape.kind == "datetime" and isinstance(value, str) and _DATETIME_TEXT.fullmatch(value):
        try:
            moment = _parse_datetime(value)
        except ValueError:
            return value
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.isoformat()
    if shape.kind == "object" and isinstance(value, dict):
        fields = {name: sub for name, sub, _ in shape.fields}
        return {k: _normalize(fields[k], v) if k in fields else v for k, v in value.items()}
    if shape.kind == "multi" and shape.schema.get("uniqueItems") is True:
        return _in_choice_order(shape.options, value)
    return value


def _in_choice_order(options: tuple[Any, ...], value: Any) -> Any:
    """A set's picks in the order of its choices: one set is one answer, however it was sent.

    Anything that is not distinct picks among the choices is left to the validator.
    """
    if not isinstance(value, list) or not all(_is_choice(v) for v in value):
        return value
    order = {option: i for i, option in enumerate(options)}
    if len(set(value)) != len(value) or not all(v in order for v in value):
        return value
    return sorted(value, key=order.__getitem__)


def _is_choice(value: object) -> bool:
    # Choices are text or whole numbers; True would otherwise pass for the choice 1.
    return isinstance(value, (str, int)) and not isinstance(value, bool)


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
        return {"loc": [*loc, absent[0] if absent else "?"], "msg": "this field is required"}
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
        "format": lambda: {
            "date": "expected a date (YYYY-MM-DD)",
            "date-time": "expected a date and time (YYYY-MM-DDTHH:MM)",
        }.get(str(limit), f"expected the format {limit}"),
    }
    make = messages.get(str(rule))
    return make() if make is not None else error.message
