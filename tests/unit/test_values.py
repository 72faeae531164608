"""Answer values: the decided rules, and properties every type and channel must keep."""

from __future__ import annotations

import json
import typing
from datetime import time
from decimal import Decimal
from typing import Any, Literal, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from hitlkit import InvalidValueError, UnsupportedTypeError
from hitlkit._values import KINDS, Named, adapter_for, adapter_of
from tests.values import SCALARS, TYPES, json_values, texts, types_and_values

PROPERTIES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(read: Any, given: object) -> tuple[str, Any]:
    """("ok", stored JSON) or ("refused", None): what reading `given` came to."""
    try:
        return "ok", read(given)
    except InvalidValueError:
        return "refused", None


@pytest.mark.parametrize(
    ("data_type", "text", "stored"),
    [
        (int, "42", 42),
        (int, " -7 ", -7),
        (int, "+3", 3),
        (float, "2.5", 2.5),
        (float, "-1e3", -1000.0),
        (float, "3", 3.0),
        (str, "  spaced  ", "  spaced  "),
        (Decimal, "12.50", "12.50"),
        (Decimal, " -0.1 ", "-0.1"),
        (time, "09:05", "09:05:00"),
        (time, "23:59:59.5", "23:59:59.500000"),
        *((bool, word, True) for word in ("true", "T", "yes", "Y", "on", "1")),
        *((bool, word, False) for word in ("FALSE", "f", "No", "n", "off", "0")),
    ],
)
def test_text_answers_are_read(data_type: Any, text: str, stored: object) -> None:
    for both in (data_type, Optional[data_type]):  # noqa: UP045
        assert adapter_for(both).parse_text(text) == stored


@pytest.mark.parametrize(
    ("data_type", "text", "expected_words"),
    [
        (int, "1.5", "an integer"),
        (int, "1.0", "an integer"),
        (int, "1e3", "an integer"),
        (int, "0x10", "an integer"),
        (int, "\u0661\u0662", "an integer"),
        (float, "\u0663.\u0665", "a finite number"),
        (float, "nan", "a finite number"),
        (float, "-Infinity", "a finite number"),
        (float, "1e400", "a finite number"),
        (float, "1,5", "a finite number"),
        (float, "1_000", "a finite number"),
        (bool, "maybe", "yes or no"),
        (bool, "2", "yes or no"),
        (Decimal, "1.2.3", "a decimal number"),
        (Decimal, "NaN", "a decimal number"),
        (time, "25:00", "a time of day"),
        (time, "9:05", "a time of day"),
    ],
)
def test_bad_text_answers_say_what_was_expected_and_what_was_got(
    data_type: Any, text: str, expected_words: str
) -> None:
    for both in (data_type, Optional[data_type]):  # noqa: UP045
        with pytest.raises(InvalidValueError) as info:
            adapter_for(both).parse_text(text)
        assert f"expected {expected_words}" in str(info.value)
        assert repr(text) in str(info.value)
        assert info.value.got == text


@pytest.mark.parametrize("data_type", [int, float, bool, time, Decimal])
def test_empty_text_is_none_when_optional_and_refused_otherwise(data_type: Any) -> None:
    assert adapter_for(Optional[data_type]).parse_text("  ") is None  # noqa: UP045
    with pytest.raises(InvalidValueError, match="got an empty answer"):
        adapter_for(data_type).parse_text("")
    assert adapter_for(str).parse_text("") == ""
    assert adapter_for(Optional[str]).parse_text("") is None  # noqa: UP045


@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        (int, 1.0),
        (int, 1e3),
        (int, -0.0),
        (int, True),
        (float, True),
        (bool, 1),
        (bool, 0),
        (str, 5),
        (float, None),
        (Decimal, True),
        (time, 930),
    ],
)
def test_json_values_are_strict(data_type: Any, value: object) -> None:
    with pytest.raises(InvalidValueError):
        adapter_for(data_type).validate_json(value)
    if value is not None:
        with pytest.raises(InvalidValueError):
            adapter_for(Optional[data_type]).validate_json(value)  # noqa: UP045


def test_json_integers_are_read_from_the_raw_token() -> None:
    """JSON parsers turn `1.0` and `1e3` into floats: what an int answer refuses."""
    adapter = adapter_for(Optional[int])  # noqa: UP045
    for token in ("1.0", "1e3", "-0.0", "1E0"):
        with pytest.raises(InvalidValueError, match="without a fraction or an exponent"):
            adapter.validate_json(json.loads(token))
    assert adapter.validate_json(json.loads("-0")) == 0
    assert adapter.validate_json(json.loads("12345678901234567890")) == 12345678901234567890


@pytest.mark.parametrize("data_type", [int, float, Decimal, Optional[int]])  # noqa: UP045
def test_a_number_too_long_for_python_to_write_is_an_invalid_value(data_type: Any) -> None:
    """Python writes an int of at most 4300 digits: past it, hitlkit's error, not Python's."""
    adapter = adapter_for(data_type)
    for value in (10**5000, -(10**5000)):
        with pytest.raises(InvalidValueError, match="got a number too long to show"):
            adapter.validate_json(value)
        with pytest.raises(InvalidValueError, match="got a number too long to show"):
            adapter.dump(value)
    if data_type in (int, Optional[int]):  # noqa: UP045
        with pytest.raises(InvalidValueError, match=r"\(too many digits\)$"):
            adapter.parse_text("9" * 5000)


def test_decimals_keep_their_digits_and_times_their_form() -> None:
    price = adapter_for(Decimal)
    assert price.dump(Decimal("0.10")) == "0.10"
    with pytest.raises(InvalidValueError, match="so that no digit is lost"):
        price.validate_json(1.10)
    assert price.validate_json(3) == "3"
    for token in ("NaN", "Infinity", "-Infinity", "1e999999"):  # no "send it as text" here
        with pytest.raises(InvalidValueError, match=r"\(not finite\)$"):
            price.validate_json(json.loads(token))
    with pytest.raises(InvalidValueError, match=r"\(out of range\)$"):
        price.parse_text("1e9999999999999999999")
    # Beyond the default context's exponents, the workflow's own arithmetic would overflow.
    for text in ("1e1000000", "-1e1000000", "1e-1000000"):
        with pytest.raises(InvalidValueError, match=r"\(out of range\)$"):
            price.validate_json(text)
    edge = price.load(price.validate_json("9.5e999999"))
    assert edge * 1 == edge
    assert price.load("0.10") == Decimal("0.10")
    assert str(price.load("0.10")) == "0.10"
    assert price.json_schema == {"type": "string", "format": "decimal"}
    at = adapter_for(time)
    assert at.dump(time(9, 5)) == "09:05:00"
    assert at.load(at.parse_text("09:05")) == time(9, 5)
    assert at.form().kind == "time"
    assert price.form().attrs == {"inputmode": "decimal"}


def test_unsupported_types_are_refused_with_what_is_supported() -> None:
    for data_type in (bytes, dict[str, Any], int | str):
        with pytest.raises(UnsupportedTypeError, match=r"datetime\.time, decimal\.Decimal"):
            adapter_for(data_type)


def test_recorded_names_and_schemas_rebuild_the_same_rules() -> None:
    for kind in KINDS[:4]:
        named = adapter_of(Named(kind.type_name))
        assert named.plain
        assert named.json_schema == adapter_for(kind.python).json_schema
    assert adapter_for(int) is adapter_for(int)  # built once
    with pytest.raises(UnsupportedTypeError):
        adapter_of(Named("complex"))


@PROPERTIES
@given(types_and_values)
def test_value_to_json_to_value_round_trips(typed: tuple[Any, Any]) -> None:
    data_type, value = typed
    adapter = adapter_for(data_type)
    stored = json.loads(json.dumps(adapter.dump(value)))
    assert adapter.load(stored) == value
    assert adapter.validate_json(stored) == stored  # the stored form is a fixed point
    recorded = adapter_of(_Record(adapter.name, adapter.json_schema, adapter.validation))
    assert recorded.validate_json(stored) == stored  # the app reads it as the program does


@PROPERTIES
@given(st.sampled_from(TYPES), texts)
def test_text_and_json_read_the_same_value_where_both_accept(
    typed: tuple[Any, Any], text: str
) -> None:
    adapter = adapter_for(typed[0])
    try:
        sent = json.loads(text)
    except ValueError:
        sent = text
    as_text, as_json = outcome(adapter.parse_text, text), outcome(adapter.validate_json, sent)
    if as_text[0] == as_json[0] == "ok":
        assert as_text == as_json


@PROPERTIES
@given(types_and_values)
def test_a_value_shown_as_text_reads_back_as_its_json(typed: tuple[Any, Any]) -> None:
    data_type, value = typed
    adapter = adapter_for(data_type)
    kind = adapter.shape.kind
    stored = adapter.dump(value)
    if kind is None or stored is None or stored == "":
        return
    assert adapter.parse_text(kind.shown(stored)) == stored


@PROPERTIES
@given(st.sampled_from(TYPES), texts | json_values)
def test_t_and_optional_t_agree_on_every_input_but_empty_text_and_null(
    typed: tuple[Any, Any], sent: Any
) -> None:
    plain, optional = adapter_for(typed[0]), adapter_for(Optional[typed[0]])  # noqa: UP045
    if sent is None or (isinstance(sent, str) and not sent.strip()):
        return
    assert outcome(plain.validate_json, sent) == outcome(optional.validate_json, sent)
    if isinstance(sent, str):
        assert outcome(plain.parse_text, sent) == outcome(optional.parse_text, sent)


@PROPERTIES
@given(st.sampled_from(SCALARS), texts)
def test_text_sent_as_json_reads_as_typed_text(typed: tuple[Any, Any], text: str) -> None:
    adapter = adapter_for(typed[0])
    if typed[0] is not str:
        assert outcome(adapter.parse_text, text) == outcome(adapter.validate_json, text)


class _Record:
    def __init__(self, data_type: str, json_schema: dict[str, Any], validation: Any) -> None:
        self.data_type, self.json_schema, self.validation = data_type, json_schema, validation


class _Limits(typing.TypedDict, total=False):
    cpu: int


class _Plan(typing.TypedDict):
    """A plan, spelled with typing.TypedDict (which pydantic refuses before Python 3.12)."""

    name: str
    replicas: Optional[int]  # noqa: UP045
    limits: _Limits
    envs: list[Literal["prod", "staging"]]


def test_a_typing_typeddict_is_asked_as_any_typeddict() -> None:
    plan = adapter_for(_Plan)
    answer: dict[str, Any] = {"name": "web", "replicas": None, "limits": {}, "envs": ["prod"]}
    assert plan.load(plan.validate_json(answer)) == answer
    assert plan.name == "_Plan"
    assert adapter_for(Optional[_Plan]).validate_json(None) is None  # noqa: UP045
    with pytest.raises(InvalidValueError) as refused:
        plan.validate_json({"name": "web", "limits": {"cpu": "lots"}})
    assert {tuple(e["loc"]) for e in refused.value.errors} == {
        ("value", "limits", "cpu"),
        ("value", "replicas"),
        ("value", "envs"),
    }


def test_each_missing_field_is_named_once() -> None:
    class Three(BaseModel):
        a: int
        b: str
        c: int

    with pytest.raises(InvalidValueError) as refused:
        adapter_for(Three).validate_json({"a": 1})
    assert [e["loc"] for e in refused.value.errors] == [["value", "b"], ["value", "c"]]
    assert "b: this field is required; c: this field is required" in str(refused.value)


class Review(BaseModel):
    approved: bool
    comment: str | None = None


class Many(BaseModel):
    a: int
    b: float
    c: Decimal
    d: time
    e: Literal["x", "y", "z", "v", "w"]
    f: set[Literal["p", "q"]] = set()
    g: Review
    h: bool = False


def test_a_model_is_told_by_its_fields() -> None:
    assert adapter_for(Review).expected == "Review: approved (yes/no), comment (text, optional)"
    assert adapter_for(Optional[Review]).expected.endswith("comment (text, optional), or nothing")  # noqa: UP045
    assert adapter_for(Many).expected == (
        "Many: a (integer), b (number), c (decimal number), d (time), "
        "e (one of x, y, z, v, …), f (any of p, q, optional), and 2 more"
    )
    with pytest.raises(InvalidValueError) as info:
        adapter_for(Review).validate_json(5)
    assert str(info.value) == (
        "expected Review: approved (yes/no), comment (text, optional), got 5"
    )
    with pytest.raises(InvalidValueError) as info:
        adapter_for(Review).validate_json({"comment": "x"})
    assert str(info.value) == "expected Review: approved: this field is required"
