"""Value types: what an event may ask for, and how answers are checked.

Each supported `data_type` maps to a `ValueType`, which names the type in the
event record, parses answers typed by a person (form, CLI) or sent as JSON, and
describes the type as JSON Schema. The server only ever validates against the
type recorded with the event, looked up by name with `value_type_named`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from pydantic import Field, TypeAdapter, ValidationError

from hitlkit._exceptions import InvalidValueError, UnsupportedTypeError

__all__ = ["ValueType", "value_type_for", "value_type_named"]

T = TypeVar("T")

_INT_TEXT = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class ValueType(Generic[T]):
    """One answer type: its recorded name, Python type and validation rules."""

    name: str
    python_type: type[T]
    expected: str
    """The type in words, for error messages: "an integer"."""
    example: str
    adapter: TypeAdapter[T] = field(repr=False, compare=False)

    def parse_text(self, text: str) -> T:
        """Parse an answer typed by a person, such as a form field or a CLI argument."""
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
        return self.adapter.json_schema()

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


def value_type_for(data_type: type[T]) -> ValueType[T]:
    """The `ValueType` for a Python type, or `UnsupportedTypeError`.

    ```python
    value_type_for(int).parse_text("42")  # 42
    ```
    """
    try:
        return _BY_PYTHON_TYPE[data_type]
    except (KeyError, TypeError):
        supported = ", ".join(_TYPES)
        raise UnsupportedTypeError(
            f"data_type must be one of {supported}; got {data_type!r}"
        ) from None


def value_type_named(name: str) -> ValueType[Any]:
    """The `ValueType` recorded under `name` in an event record."""
    try:
        return _TYPES[name]
    except KeyError:
        raise UnsupportedTypeError(f"unknown recorded data_type {name!r}") from None
