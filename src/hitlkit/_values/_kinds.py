"""The rules of each scalar answer kind, in one table.

A kind is what one schema node (`{"type": "integer"}`, `{"type": "string", "format":
"date"}`) asks for: how it is told in words, how typed text is read (form fields, the
CLI, text sent as JSON), how a JSON value is checked and put in its stored form, and
which input a form shows. Every channel reads values through these rules, so a new
scalar answer type is one `Kind` in `KINDS` (plus, when pydantic describes its Python
type otherwise, one method of `Schemas`).

Readers get text already stripped and non-empty (except "string", which gets it as
typed) and raise `ValueError` with a short reason; checkers get a JSON value that is
not null.
"""

from __future__ import annotations

import decimal
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from hitlkit._values._decimals import decimal_node

__all__ = ["KINDS", "Kind", "Schemas", "kind_for", "kind_named"]

_INT = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?")
_DATETIME = re.compile(_DATE.pattern + r"[T ]" + _TIME.pattern + r"(Z|[+-][0-9]{2}:[0-9]{2})?")
_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not text")
    return value


def _integer(value: Any) -> int:
    # A JSON number written with a fraction or an exponent arrives as a float: refused,
    # as is true (a bool is an int in Python).
    if isinstance(value, float):
        raise ValueError("a whole number is written without a fraction or an exponent")
    if type(value) is not int:
        raise ValueError("not a whole number")
    try:
        str(value)  # what storing it as JSON does
    except ValueError:  # past Python's limit on digits (sys.set_int_max_str_digits)
        raise ValueError(_TOO_MANY_DIGITS) from None
    return value


def _read_integer(text: str) -> int:
    if not _INT.fullmatch(text):
        raise ValueError("not a whole number")
    try:
        return int(text)
    except ValueError:
        raise ValueError(_TOO_MANY_DIGITS) from None


_TOO_MANY_DIGITS = "too many digits"


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("not a number")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError("too large") from None
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number + 0.0  # -0.0 is 0.0, as JSON reads -0


def _read_number(text: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise ValueError("not a plain number")
    return _number(float(text))


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not true or false")
    return value


def _read_boolean(text: str) -> bool:
    word = text.lower()
    if word not in _TRUE | _FALSE:
        raise ValueError("not yes or no")
    return word in _TRUE


def _read_date(text: str) -> str:
    if not _DATE.fullmatch(text):
        raise ValueError("not YYYY-MM-DD")
    return date.fromisoformat(text).isoformat()


def _read_time(text: str) -> str:
    if not _TIME.fullmatch(text):
        raise ValueError("not HH:MM")
    return time.fromisoformat(text).isoformat()


def _read_datetime(text: str) -> str:
    if not _DATETIME.fullmatch(text):
        raise ValueError("not YYYY-MM-DDTHH:MM")
    moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat()


def _datetime_text(data: Any) -> str:
    """A stored datetime as a datetime-local input shows it: in UTC, without the offset."""
    moment = datetime.fromisoformat(str(data).replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    whole_minute = not moment.second and not moment.microsecond
    return moment.isoformat(timespec="minutes" if whole_minute else "auto")


_DECIMAL_EXP = decimal.DefaultContext.Emax
"""The largest power of ten a Decimal answer may have (999,999): the default context's."""


def _read_decimal(text: str) -> str:
    if not _NUMBER.fullmatch(text):
        raise ValueError("not a plain number")
    try:
        number = Decimal(text)
    except InvalidOperation:  # an exponent past what Decimal can hold
        raise ValueError("out of range") from None
    if number.is_finite() and not number.is_zero() and abs(number.adjusted()) > _DECIMAL_EXP:
        raise ValueError("out of range")  # arithmetic in the default context would overflow
    # A zero has no sign, as in JSON, where -0 is read as 0.
    return str(number.copy_abs() if number.is_zero() else number)


def _decimal(value: Any) -> str:
    # Stored as text, so that no digit is lost. A JSON number with a fraction or an
    # exponent has lost its digits by the time it is parsed (1.10 is 1.1): sent as text.
    if isinstance(value, float):
        if not math.isfinite(value):  # NaN, Infinity, or 1e999 read as infinity
            raise ValueError("not finite")
        raise ValueError(f"send it as text, {json.dumps(str(value))}, so that no digit is lost")
    if isinstance(value, str):
        return _read_decimal(value.strip())
    return _read_decimal(str(_integer(value)))


def _of_text(read: Callable[[str], Any]) -> Callable[[Any], Any]:
    """A checker for kinds stored as text: the JSON string is read like typed text."""
    return lambda value: read(_text(value).strip())


@dataclass(frozen=True)
class Kind:
    """How one kind of scalar answer is told, read, checked, stored and shown."""

    name: str
    """The kind, as forms know it: "integer", "date", ..."""
    type_name: str
    """The `data_type` recorded for an answer of only this kind: "int", "date", ..."""
    words: str
    """The kind in words, for errors and prompts: "an integer"."""
    schema: Mapping[str, Any]
    """The JSON Schema node of this kind: its `type` and `format` say which kind a node is."""
    python: type
    """The Python type `wait()` returns for it."""
    read: Callable[[str], Any]
    check: Callable[[Any], Any]
    input: str = "text"
    """The form input: text, integer, number, checkbox, date, time, datetime-local."""
    attrs: Mapping[str, str] = field(default_factory=dict)
    hint: str | None = None
    shown: Callable[[Any], str] = str
    """A stored value as an input shows it."""
    noun: str = ""
    """The kind in a word or two, for a model's field: "integer", "yes/no"."""

    @property
    def key(self) -> tuple[str, str | None]:
        return self.schema["type"], self.schema.get("format")


KINDS: tuple[Kind, ...] = (
    Kind(
        "integer",
        "int",
        "an integer",
        {"type": "integer"},
        int,
        _read_integer,
        _integer,
        input="integer",
        noun="integer",
    ),
    Kind(
        "number",
        "float",
        "a finite number",
        {"type": "number"},
        float,
        _read_number,
        _number,
        input="number",
        attrs={"step": "any"},
        shown=repr,
        noun="number",
    ),
    Kind("string", "str", "text", {"type": "string"}, str, _text, _text, noun="text"),
    Kind(
        "boolean",
        "bool",
        "yes or no (true/false)",
        {"type": "boolean"},
        bool,
        _read_boolean,
        _boolean,
        input="checkbox",
        shown=lambda v: "true" if v else "false",
        noun="yes/no",
    ),
    Kind(
        "date",
        "date",
        "a date (YYYY-MM-DD)",
        {"type": "string", "format": "date"},
        date,
        _read_date,
        _of_text(_read_date),
        input="date",
        noun="date",
    ),
    Kind(
        "datetime",
        "datetime",
        "a date and time (YYYY-MM-DDTHH:MM, UTC unless an offset is given)",
        {"type": "string", "format": "date-time"},
        datetime,
        _read_datetime,
        _of_text(_read_datetime),
        input="datetime-local",
        hint="Read as UTC.",
        shown=_datetime_text,
        noun="date and time",
    ),
    Kind(
        "time",
        "time",
        "a time of day (HH:MM or HH:MM:SS)",
        {"type": "string", "format": "time"},
        time,
        _read_time,
        _of_text(_read_time),
        input="time",
        attrs={"step": "1"},
        noun="time",
    ),
    Kind(
        "decimal",
        "Decimal",
        "a decimal number (e.g. 12.50)",
        {"type": "string", "format": "decimal"},
        Decimal,
        _read_decimal,
        _decimal,
        attrs={"inputmode": "decimal"},
        noun="decimal number",
    ),
)
_BY_KEY = {kind.key: kind for kind in KINDS}
_BY_NAME = {kind.name: kind for kind in KINDS}


def kind_for(node: Mapping[str, Any]) -> Kind | None:
    """The kind of a schema node by its `type` and `format`, if it is a scalar one."""
    return _BY_KEY.get((node.get("type"), node.get("format")))  # type: ignore[arg-type]


def kind_named(name: str) -> Kind:
    """The kind "integer", "date", ..."""
    return _BY_NAME[name]


class Schemas(GenerateJsonSchema):
    """pydantic's JSON Schema, with each kind's node where pydantic describes it otherwise.

    pydantic describes `Decimal` as a number or a string; hitlkit stores it as text, and
    records its constraints too (see `_decimals`).
    """

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        return {**kind_named("decimal").schema, **decimal_node(schema)}
