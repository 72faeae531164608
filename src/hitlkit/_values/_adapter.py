"""`ValueAdapter`: one answer type's whole path, from typed text or JSON to stored JSON.

An adapter is built once per `data_type` (`adapter_for`, in the waiting process) or per
recorded type (`adapter_of`, in the app and the CLI, which know the event's record
only). Both read answers with the same rules, the ones of the recorded schema, so every
channel (form, JSON API, CLI, testing responder) records the same value for the same
answer; `load` turns the stored JSON back into the Python type.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar, get_args

from pydantic import PydanticUserError, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python

from hitlkit._exceptions import InvalidValueError, UnsupportedTypeError
from hitlkit._values._check import check_json, invalid, read_text, validator_of
from hitlkit._values._forms import FormField, form_fields
from hitlkit._values._kinds import KINDS, Schemas
from hitlkit._values._posted import read_posted
from hitlkit._values._shape import SUPPORTED, Shape, UnsupportedSchema, shape_of
from hitlkit._values._typeddicts import supported

__all__ = [
    "Named",
    "Recorded",
    "Validation",
    "ValueAdapter",
    "adapter_for",
    "adapter_of",
    "to_json",
]

T = TypeVar("T")

Validation = Literal["named", "schema"]
"""How a record names its answer type: "named" for int, float, str and bool, whose name
says it all; "schema" for the rest, described by the recorded JSON Schema. Both are read
by the same rules."""

NAMED = {k.type_name: k for k in KINDS if k.name in ("string", "integer", "number", "boolean")}
_NAMED_SCHEMAS = {name: json.dumps(dict(kind.schema)) for name, kind in NAMED.items()}
CACHE_SIZE = 512


class Recorded(Protocol):
    """What an event record (or its `EventInfo`) says of its answer type."""

    @property
    def data_type(self) -> str: ...
    @property
    def json_schema(self) -> dict[str, Any]: ...
    @property
    def validation(self) -> Validation: ...


@dataclass(frozen=True)
class Named:
    """A type known by its recorded name only ("int"): int, float, str or bool."""

    data_type: str
    json_schema: dict[str, Any] = field(default_factory=dict)
    validation: Validation = "named"


class ValueAdapter(Generic[T]):
    """The rules of one answer type: its schema, words, and how answers are read and stored."""

    def __init__(
        self,
        name: str,
        schema: dict[str, Any],
        python_type: Any = None,
        python: TypeAdapter[T] | None = None,
    ) -> None:
        self.name = name
        """The `data_type` recorded with the event: "int", "int | None", "Deploy", ..."""
        self.json_schema = schema
        self.shape: Shape = shape_of(schema, schema)
        self.python_type = python_type
        """The Python type given, where this adapter was built from one."""
        self._python = python
        self._constraints = None if self.plain else validator_of(schema)

    @property
    def validation(self) -> Validation:
        """ "named" for int, float, str and bool; "schema" for the rest."""
        return "named" if self.plain else "schema"

    @property
    def plain(self) -> bool:
        """Whether the answer is one int, float, str or bool, asked in one line."""
        kind = NAMED.get(self.name)
        return kind is not None and self.json_schema == dict(kind.schema)

    @property
    def expected(self) -> str:
        """The answer in words: "an integer", "one of "ship", "hold"", ..."""
        return self.shape.expected()

    def parse_text(self, text: str) -> Any:
        """An answer typed by a person (a CLI argument, text sent as such), as stored JSON."""
        try:
            value = read_text(self.shape, text)
        except ValueError as exc:
            raise invalid(self.shape, text, [{"loc": ["value"], "msg": str(exc)}]) from None
        return check_json(self.shape, self._constraints, value, text)

    def validate_json(self, value: Any) -> Any:
        """A JSON answer as stored JSON; a string is read as typed text, unless text is
        what the answer is (text, choices of text)."""
        if isinstance(value, str) and not self.shape.texts_are_data:
            return self.parse_text(value)
        return check_json(self.shape, self._constraints, value, value)

    def dump(self, value: object) -> Any:
        """A Python value of the type (a model, an enum, a date, JSON data...) as stored JSON."""
        return self.validate_json(self._to_json(value))

    def load(self, data: Any) -> T:
        """Stored JSON as a value of the Python type (the data itself where there is none)."""
        if self._python is None:
            return data  # type: ignore[no-any-return]
        return self._python.validate_python(data)

    def same(self, recorded: Any, data: Any) -> bool:
        """Whether stored JSON `data` is the answer `recorded` (stored, maybe by an older
        version whose stored form differed): what tells a retry from another answer."""
        wanted = canonical_json(data)
        if canonical_json(recorded) == wanted:
            return True
        with contextlib.suppress(InvalidValueError):
            recorded = check_json(self.shape, self._constraints, recorded, recorded)
        return canonical_json(recorded) == wanted

    def parse_form(self, posted: Mapping[str, Sequence[str]]) -> Any:
        """The answer in posted form fields, as stored JSON (see `_posted`)."""
        value = read_posted(self.shape, self._constraints, posted)
        return check_json(self.shape, self._constraints, value, value)

    def form(
        self,
        *,
        data: Any = None,
        posted: Mapping[str, Sequence[str]] | None = None,
        errors: Mapping[str, str] | None = None,
    ) -> FormField:
        """The form's fields, filled with `posted` input, else `data` (stored JSON: an
        initial, partial answer), else the schema's defaults; `errors` by field name."""
        return form_fields(self.shape, data=data, posted=posted, errors=errors)

    def _to_json(self, value: object) -> Any:
        if isinstance(value, (str, int, float, bool, dict, list)) or value is None:
            return value
        if self._python is not None:
            try:
                return self._python.dump_python(self._python.validate_python(value), mode="json")
            except (ValidationError, PydanticSerializationError):
                pass
        return to_json(value)

    def __repr__(self) -> str:
        return f"ValueAdapter({self.name})"


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


def adapter_for(data_type: Any) -> ValueAdapter[Any]:
    """The adapter of a Python type, or `UnsupportedTypeError` saying what is supported.

    ```python
    adapter_for(int).parse_text("42")  # 42
    adapter_for(Literal["ship", "hold"]).parse_text("ship")  # "ship"
    ```
    """
    try:
        return _adapter_for(data_type)
    except TypeError:  # not hashable: built each time
        return _adapter_for.__wrapped__(data_type)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _adapter_for(data_type: Any) -> ValueAdapter[Any]:
    try:
        python: TypeAdapter[Any] = TypeAdapter(supported(data_type))
        schema = python.json_schema(schema_generator=Schemas)
        name = shape_of(schema, schema).type_name()
        return ValueAdapter(name, schema, data_type, python)
    except UnsupportedSchema as exc:
        raise _unsupported(data_type, f"hitlkit cannot ask for {exc}") from None
    except (PydanticUserError, PydanticSerializationError, TypeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _unsupported(data_type, reason) from None


def adapter_of(record: Recorded) -> ValueAdapter[Any]:
    """The adapter of an event's recorded answer type, from its record alone."""
    if record.validation == "named":
        kind = NAMED.get(record.data_type)
        if kind is None:
            raise UnsupportedTypeError(f"unknown recorded data_type {record.data_type!r}")
        return _adapter_of(record.data_type, _NAMED_SCHEMAS[record.data_type])
    return _adapter_of(record.data_type, json.dumps(record.json_schema))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _adapter_of(name: str, schema: str) -> ValueAdapter[Any]:
    try:
        return ValueAdapter(name, json.loads(schema))
    except UnsupportedSchema as exc:
        raise UnsupportedTypeError(f"recorded data_type {name!r} cannot be asked: {exc}") from None


def _unsupported(data_type: Any, reason: str) -> UnsupportedTypeError:
    plain = isinstance(data_type, type) and not get_args(data_type)
    shown = data_type.__name__ if plain else repr(data_type)
    return UnsupportedTypeError(
        f"data_type {shown} is not supported ({reason}); supported: {SUPPORTED}"
    )


def canonical_json(data: object) -> str:
    """`data` as JSON text in one spelling: keys sorted, no spaces, text as is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
