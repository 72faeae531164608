"""Field constraints as hints for people and as HTML attributes for browsers."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import annotated_types as at
import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, conint, constr

from hitlkit import InvalidValueError
from hitlkit._values import FormField, Named, adapter_for, adapter_of
from hitlkit._values._decimals import decimal_text
from hitlkit._values._limits import _divides
from hitlkit._values._regex import browser_pattern


def field_of(data_type: Any) -> FormField:
    """The form field of `data_type`, or of a model's only field."""
    form = adapter_for(data_type).form()
    return form.children[0] if form.kind == "fieldset" else form


@pytest.mark.parametrize(
    ("data_type", "attrs", "hint"),
    [
        (Annotated[int, Field(ge=1, le=10)], {"min": "1", "max": "10"}, "Between 1 and 10."),
        (conint(gt=0, lt=10), {"min": "1", "max": "9"}, "Between 1 and 9."),
        (Annotated[int, at.Ge(-5)], {"min": "-5"}, "At least -5."),
        (Annotated[int, at.Lt(100)], {"max": "99"}, "At most 99."),
        # A browser counts steps from `min`: moved up to the first multiple.
        (
            Annotated[int, Field(ge=1, le=12, multiple_of=5)],
            {"min": "5", "max": "10", "step": "5"},
            "Between 5 and 10, a multiple of 5.",
        ),
        # Without a `min`, a browser would count from the input's value: no step.
        (Annotated[int, Field(multiple_of=5)], {}, "A multiple of 5."),
        (
            Annotated[float, Field(ge=0, le=1)],
            {"step": "any", "min": "0", "max": "1"},
            "Between 0 and 1.",
        ),
        # HTML has no exclusive bound for a float: told in words only.
        (
            Annotated[float, Field(gt=0, le=2.5)],
            {"step": "any", "max": "2.5"},
            "More than 0 and at most 2.5.",
        ),
        (
            Annotated[float, Field(ge=0, multiple_of=0.25)],
            {"step": "0.25", "min": "0"},
            "At least 0, a multiple of 0.25.",
        ),
        (
            Annotated[float, Field(ge=0.1, multiple_of=0.25)],
            {"step": "any", "min": "0.1"},
            "At least 0.1, a multiple of 0.25.",
        ),
        (
            constr(min_length=2, max_length=5),
            {"minlength": "2", "maxlength": "5"},
            "2 to 5 characters.",
        ),
        (Annotated[str, Field(max_length=1)], {"maxlength": "1"}, "At most 1 character."),
        (Annotated[str, Field(min_length=3)], {"minlength": "3"}, "At least 3 characters."),
        (
            Annotated[str, Field(min_length=4, max_length=4)],
            {"minlength": "4", "maxlength": "4"},
            "Exactly 4 characters.",
        ),
        (
            Annotated[list[Literal["a", "b", "c"]], Field(min_length=1, max_length=2)],
            {},
            "Pick 1 to 2.",
        ),
        (int, {}, None),
        (str, {}, None),
    ],
)
def test_constraints_become_hints_and_attributes(
    data_type: Any, attrs: dict[str, str], hint: str | None
) -> None:
    class Form(BaseModel):
        x: data_type

    field = field_of(Form)
    assert field.attrs == attrs
    assert field.hint == hint


def test_a_kinds_own_hint_stays() -> None:
    assert field_of(datetime).hint == "Read as UTC."


def test_a_textarea_gets_lengths_but_no_pattern() -> None:
    field = field_of(Annotated[str, Field(max_length=500, pattern="^a")])
    assert field.kind == "textarea"
    assert field.attrs == {"maxlength": "500"}
    assert field.hint == "At most 500 characters."


def test_the_app_still_refuses_what_the_hint_says() -> None:
    class Form(BaseModel):
        n: conint(gt=0, lt=10)  # type: ignore[valid-type]

    adapter = adapter_for(Form)
    assert adapter.validate_json({"n": 9}) == {"n": 9}
    for bad in (0, 10):
        with pytest.raises(ValueError, match="must be"):
            adapter.validate_json({"n": bad})


@pytest.mark.parametrize(
    ("pattern", "attribute"),
    [
        (r"^v[0-9]+$", "v[0-9]+"),
        (r"\Aab\Z", "ab"),
        (r"ab", r"[\s\S]*(?:ab)[\s\S]*"),
        (r"^ab", r"(?:ab)[\s\S]*"),
        (r"^(?:a|b)+$", "[ab]+"),
        (r"^(ab)+c?$", "(?:ab)+c?"),
        (r"^x{2,5}y{,3}z*?$", "x{2,5}y{0,3}z*"),
        (r"^a.b$", r"a[^\n]b"),  # Python's `.` takes \u2028, JavaScript's does not
        (r"^[^a-c.\-]+$", r"[^a-c\u{2e}\u{2d}]+"),
        (r"^é\.$", r"é\."),
        (r"^a/b$", r"a\/b"),
    ],
)
def test_patterns_that_mean_the_same_in_a_browser(pattern: str, attribute: str) -> None:
    assert browser_pattern(pattern) == attribute


def test_digits_are_every_digit_python_knows() -> None:
    translated = browser_pattern(r"^\d$")
    assert translated is not None
    assert translated.startswith("[0-9\\u{660}-\\u{669}")


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?<=a)b",  # lookbehind
        r"a(?=b)",  # lookahead
        r"(?i)abc",  # inline flags
        r"x(?i:y)",
        r"(?s).",
        r"a++",  # possessive
        r"(?>a)",  # atomic group
        r"(a)\1",  # backreference
        r"\w+",  # Unicode word characters: JavaScript's \w is ASCII
        r"^\S+$",
        r"\bword\b",
        r"[",  # not a regex at all
    ],
)
def test_patterns_without_a_browser_equal_get_no_attribute(pattern: str) -> None:
    assert browser_pattern(pattern) is None
    if pattern != "[":
        re.compile(pattern)  # Python reads it: the app checks it


def test_a_field_with_an_untranslatable_pattern_is_checked_by_the_app_only() -> None:
    class Form(BaseModel):
        code: str = Field(pattern=r"(?i)^[a-z]+$", max_length=8)

    field = field_of(Form)
    assert field.attrs == {"maxlength": "8"}
    with pytest.raises(ValueError, match="must match the pattern"):
        adapter_for(Form).validate_json({"code": "12"})


class Price(BaseModel):
    amount: Decimal = Field(ge=0, max_digits=5, decimal_places=2)
    rate: Decimal | None = Field(
        default=None, gt=Decimal("0.1"), le=Decimal("1.23456789012345678901"), multiple_of=0.05
    )


def test_decimal_constraints_are_recorded_told_and_checked() -> None:
    adapter = adapter_for(Price)
    amount = adapter.json_schema["properties"]["amount"]
    assert amount == {
        "type": "string",
        "format": "decimal",
        "minimum": 0,
        "maxDigits": 5,
        "decimalPlaces": 2,
        "title": "Amount",
    }
    fields = {f.name: f for f in adapter.form().walk()}
    assert fields["value.amount"].hint == (
        "At least 0, at most 5 digits, at most 2 digits after the point."
    )
    # A bound no float holds is kept as text, digit for digit.
    assert fields["value.rate"].hint == (
        "More than 0.1 and at most 1.23456789012345678901, a multiple of 0.05."
    )
    with pytest.raises(ValueError, match="amount: must have at most 2 digits after the point"):
        adapter.validate_json({"amount": "1.234"})
    with pytest.raises(ValueError, match=r"rate: must be at most 1\.23456789012345678901"):
        adapter.validate_json({"amount": "1", "rate": "1.25"})


@pytest.mark.parametrize(
    "text",
    ["0", "1.5", "1.50", "999.99", "1000", "1.234", "-0.01", "1e2", "1E3", "0.10", "12.3000"],
)
def test_the_app_refuses_a_decimal_exactly_when_the_type_would(text: str) -> None:
    """The app knows the record alone; the waiting program loads the answer with its own
    type. Both must agree, or an answer accepted by the app fails when loaded."""
    recorded = adapter_of(Named("Price", adapter_for(Price).json_schema, "schema"))
    python = TypeAdapter(Price)
    try:
        python.validate_python({"amount": text})
        expected = "ok"
    except ValidationError:
        expected = "refused"
    try:
        stored = recorded.validate_json({"amount": text})
        got = "ok"
    except InvalidValueError:
        got = "refused"
    assert got == expected
    if got == "ok":
        assert adapter_for(Price).load(stored) == python.validate_python({"amount": text})


@pytest.mark.parametrize(
    ("bound", "shown"),
    [
        ("1E+300000000", "1e+300000000"),  # written out: 300 MB
        ("-1E-31", "-1e-31"),
        ("1.5E+31", "1.5e+31"),
        ("1E+30", "1" + "0" * 30),
        ("1E-30", "0." + "0" * 29 + "1"),
        ("0E-500000", "0"),
        ("0.00", "0.00"),
        ("123.45", "123.45"),
        (0.1, "0.1"),
        ("Infinity", "Infinity"),
    ],
)
def test_a_decimal_bound_far_from_one_is_written_with_an_exponent(bound: Any, shown: str) -> None:
    assert decimal_text(bound) == shown


@pytest.mark.parametrize(
    ("low", "multiple", "divides"),
    [
        (1e11, 1e-20, True),  # a quotient of 32 digits: past the default 28
        (1e308, 5e-324, True),
        (1.5, 0.5, True),
        (1.1, 0.5, False),
        (10**4000, 1e-300, False),  # too many digits to work out: no step
    ],
)
def test_a_step_is_worked_out_exactly_or_left_out(low: Any, multiple: Any, divides: bool) -> None:
    assert _divides(low, multiple) is divides


def test_a_huge_whole_step_of_an_integer_is_no_crash() -> None:
    schema = {"type": "integer", "minimum": 0, "multipleOf": 10**400}
    fields = adapter_of(Named("Big", schema, "schema")).form()
    assert fields.attrs["step"] == str(10**400)


@pytest.mark.parametrize(
    "pattern", [r"^([a-z0-9]+)+$", r"^(a|a)*$", r"^(?:x(?:ab)*)+$", r"(a+){2,}"]
)
def test_a_repeat_a_browser_would_backtrack_through_gets_no_attribute(pattern: str) -> None:
    assert browser_pattern(pattern) is None  # the app still checks it, in linear time


def test_a_repeat_of_plain_text_or_an_optional_part_keeps_its_attribute() -> None:
    assert browser_pattern(r"^(ab)+$") == "(?:ab)+"
    assert browser_pattern(r"^[a-z]{2,5}(-[a-z]{2})?$") == "[a-z]{2,5}(?:-[a-z]{2})?"
