"""Value types: what an event may ask for, and how answers are checked.

Each supported `data_type` maps to a `ValueType`, which names the type in the
event record, parses answers typed by a person (form, CLI) or sent as JSON, and
describes the type as JSON Schema.

- `int`, `float`, `str` and `bool` are checked by name (`validation="named"`):
  the server looks the rules up with `value_type_named`, strict text parsing included.
- Every other supported type (choices, lists of choices, optional values, dates,
  models; see `SUPPORTED`) is checked against the JSON Schema recorded with the
  event (`validation="schema"`, see `hitlkit._schema`); the waiting process turns
  the stored JSON into the Python type with pydantic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import Field, PydanticUserError, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python

from hitlkit._exceptions import InvalidValueError, UnsupportedTypeError
from hitlkit._schema import (
    SUPPORTED,
    Shape,
    UnsupportedSchema,
    check_supported,
    invalid,
    validate_answer,
    validate_text,
)

__all__ = ["Validation", "ValueType", "to_json", "value_type_for", "value_type_named"]

Validation = Literal["named", "schema"]
"""How a recorded event's answers are checked: by its type name, or by its JSON Schema."""

T = TypeVar("T")

_INT_TEXT = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class ValueType(Generic[T]):
    """One answer type: its recorded name, Python type and validation rules."""

    name: str
    python_type: Any
    expected: str
    """The type in words, for error messages: "an integer"."""
    example: str
    adapter: TypeAdapter[T] = field(repr=False, compare=False)
    schema: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    """The answer's JSON Schema, for types checked by schema."""

    @property
    def validation(self) -> Validation:
        """ "named" for int, float, str and bool; "schema" for the rest."""
        return "named" if self.schema is None else "schema"

    def parse_text(self, text: str) -> T:
        """Parse an answer typed by a person, such as a form field or a CLI argument."""
        if self.schema is not None:
            return self.load(validate_text(self.schema, text))
        if self.python_type is str:
            return self._validate(text, text, strict=False)
        stripped = text.strip()
        if not stripped:
            raise InvalidValueError(
                f"expected {self.expected}, got an empty answer", expected=self.expected, got=text
            )
        if self.python_type is int and not _INT_TEXT.fullmatch(stripped):
            raise self._invalid(text, "not a whole number")
        if self.python_type is float and "_" in stripped:
            raise self._invalid(text, "not a plain number")
        return self._validate(stripped, text, strict=False)

    def validate(self, value: object) -> T:
        """Validate an answer sent as JSON: a JSON value of the type, or text to parse."""
        if self.schema is not None:
            return self.load(validate_answer(self.schema, self._as_json(value)))
        if isinstance(value, str):
            return self.parse_text(value)
        return self._validate(value, value, strict=True)

    def dump(self, value: T) -> Any:
        """The value as JSON-compatible data, as stored in an outcome."""
        return self.adapter.dump_python(value, mode="json")

    def load(self, data: Any) -> T:
        """Turn stored JSON data back into a value of this type."""
        return self.adapter.validate_python(data)

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of an answer."""
        return self.schema if self.schema is not None else self.adapter.json_schema()

    def _as_json(self, value: object) -> Any:
        """A Python value of the type (a model instance, an enum, ...) as JSON data."""
        if isinstance(value, (str, int, float, bool, dict, list)) or value is None:
            return value
        try:
            return self.adapter.dump_python(self.adapter.validate_python(value), mode="json")
        except ValidationError as exc:
            errors = [{"loc": ["value", *e["loc"]], "msg": e["msg"]} for e in exc.errors()]
            shape = check_supported(self.schema or {})
            raise invalid(shape, value, errors) from None  # type: ignore[arg-type]

    def _validate(self, value: object, original: object, *, strict: bool) -> T:
        try:
            return self.adapter.validate_python(value, strict=strict)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise self._invalid(original, reason[:1].lower() + reason[1:]) from None

    def _invalid(self, got: object, reason: str) -> InvalidValueError:
        shown = repr(got) if len(repr(got)) <= 80 else repr(got)[:77] + "..."
        return InvalidValueError(
            f"expected {self.expected} (e.g. {self.example}), got {shown}: {reason}",
            expected=self.expected,
            got=got,
        )


_TYPES: dict[str, ValueType[Any]] = {
    vt.name: vt
    for vt in (
        ValueType("int", int, "an integer", "42", TypeAdapter(int)),
        ValueType(
            "float",
            float,
            "a finite number",
            "2.5",
            TypeAdapter(Annotated[float, Field(allow_inf_nan=False)]),
        ),
        ValueType("str", str, "text", "'hello'", TypeAdapter(str)),
        ValueType("bool", bool, "yes or no (true/false)", "true", TypeAdapter(bool)),
    )
}
_BY_PYTHON_TYPE = {vt.python_type: vt for vt in _TYPES.values()}


def value_type_for(data_type: Any) -> ValueType[Any]:
    """The `ValueType` for a Python type, or `UnsupportedTypeError` saying what is supported.

    ```python
    value_type_for(int).parse_text("42")  # 42
    value_type_for(Literal["ship", "hold"]).parse_text("ship")  # "ship"
    ```
    """
    try:
        return _BY_PYTHON_TYPE[data_type]
    except (KeyError, TypeError):
        pass
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(data_type)
        schema = adapter.json_schema()
        shape = check_supported(schema)
    except UnsupportedSchema as exc:
        raise _unsupported(data_type, f"hitlkit cannot ask for {exc}") from None
    except (PydanticUserError, PydanticSerializationError, TypeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _unsupported(data_type, reason) from None
    name = _shape_name(shape)
    return ValueType(name, data_type, shape.expected(), name, adapter, schema)


def to_json(value: object) -> Any:
    """A Python answer (a model instance, an enum, a date, a set, ...) as JSON data."""
    try:
        return to_jsonable_python(value)
    except PydanticSerializationError:
        raise InvalidValueError(
            f"expected a value that can be sent as JSON, got {type(value).__name__}",
            expected="a JSON value",
            got=value,
        ) from None


def _unsupported(data_type: Any, reason: str) -> UnsupportedTypeError:
    plain = isinstance(data_type, type) and not get_args(data_type)
    shown = data_type.__name__ if plain else repr(data_type)
    return UnsupportedTypeError(
        f"data_type {shown} is not supported ({reason}); supported: {SUPPORTED}"
    )


def _shape_name(shape: Shape) -> str:
    base = (
        {
            "string": "str",
            "integer": "int",
            "number": "float",
            "boolean": "bool",
            "choice": "choice",
            "multi": "list[choice]",
            "date": "date",
            "datetime": "datetime",
        }.get(shape.kind)
        or shape.title
        or "object"
    )
    return f"{base} | None" if shape.nullable else base


def value_type_named(name: str) -> ValueType[Any]:
    """The `ValueType` recorded under `name` in an event record."""
    try:
        return _TYPES[name]
    except KeyError:
        raise UnsupportedTypeError(f"unknown recorded data_type {name!r}") from None
