from __future__ import annotations

from typing import Any

import pytest

from hitlkit import InvalidValueError, UnsupportedTypeError
from hitlkit._types import ValueType, value_type_for, value_type_named


@pytest.mark.parametrize(
    ("data_type", "text", "expected"),
    [
        (int, "42", 42),
        (int, " -7 ", -7),
        (int, "+3", 3),
        (float, "2.5", 2.5),
        (float, "-1e3", -1000.0),
        (float, "3", 3.0),
        (str, "", ""),
        (str, "  spaced  ", "  spaced  "),
        (bool, "true", True),
        (bool, "No", False),
        (bool, "1", True),
        (bool, "off", False),
    ],
)
def test_text_answers_parse(data_type: type[Any], text: str, expected: object) -> None:
    parsed = value_type_for(data_type).parse_text(text)
    assert parsed == expected
    assert type(parsed) is data_type


@pytest.mark.parametrize(
    ("data_type", "text", "expected_words"),
    [
        (int, "1.5", "an integer"),
        (int, "1.0", "an integer"),
        (int, "", "an integer"),
        (int, "   ", "an integer"),
        (int, "0x10", "an integer"),
        (int, "ten", "an integer"),
        (float, "nan", "a finite number"),
        (float, "inf", "a finite number"),
        (float, "-Infinity", "a finite number"),
        (float, "1e400", "a finite number"),
        (float, "1,5", "a finite number"),
        (float, "1_000", "a finite number"),
        (float, "", "a finite number"),
        (bool, "maybe", "yes or no"),
        (bool, "2", "yes or no"),
        (bool, "", "yes or no"),
    ],
)
def test_bad_text_answers_say_what_was_expected(
    data_type: type[Any], text: str, expected_words: str
) -> None:
    with pytest.raises(InvalidValueError) as info:
        value_type_for(data_type).parse_text(text)
    assert expected_words in str(info.value)
    assert info.value.got == text


@pytest.mark.parametrize(
    ("data_type", "value"),
    [(int, True), (int, 1.5), (int, 2.0), (bool, 1), (bool, 0), (str, 5), (float, None)],
)
def test_json_values_are_strict(data_type: type[Any], value: object) -> None:
    with pytest.raises(InvalidValueError):
        value_type_for(data_type).validate(value)


@pytest.mark.parametrize(
    ("data_type", "value", "expected"),
    [(int, 5, 5), (int, "5", 5), (float, 3, 3.0), (float, 0.25, 0.25), (bool, False, False)],
)
def test_json_values_of_the_right_type_pass(
    data_type: type[Any], value: object, expected: object
) -> None:
    assert value_type_for(data_type).validate(value) == expected


def test_unsupported_types_are_refused() -> None:
    with pytest.raises(UnsupportedTypeError, match="int, float, str, bool"):
        value_type_for(list)
    with pytest.raises(UnsupportedTypeError):
        value_type_for(bytes)


def test_names_round_trip_and_schema() -> None:
    for data_type, schema_type in [(int, "integer"), (float, "number"), (str, "string")]:
        vt: ValueType[Any] = value_type_for(data_type)
        assert value_type_named(vt.name) is vt
        assert vt.json_schema()["type"] == schema_type
    assert value_type_for(bool).json_schema() == {"type": "boolean"}
    with pytest.raises(UnsupportedTypeError):
        value_type_named("list")


def test_long_bad_input_is_shortened_in_the_message() -> None:
    with pytest.raises(InvalidValueError) as info:
        value_type_for(int).parse_text("9" * 50 + "x" * 500)
    assert len(str(info.value)) < 250
