"""Answer types and values for property tests: hypothesis strategies, and a form filled in."""

from __future__ import annotations

import enum
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any, Literal, Optional

from hypothesis import strategies as st
from pydantic import BaseModel

from hitlkit._values import FormField


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Order(BaseModel):
    count: int
    price: Decimal
    at: time
    note: str | None = None
    rush: bool = False


SCALARS: list[tuple[Any, st.SearchStrategy[Any]]] = [
    (int, st.integers()),
    (float, st.floats(allow_nan=False, allow_infinity=False)),
    (str, st.text()),
    (bool, st.booleans()),
    (date, st.dates()),
    (datetime, st.datetimes(timezones=st.just(timezone.utc))),
    (time, st.times()),
    (Decimal, st.decimals(allow_nan=False, allow_infinity=False)),
]
OTHERS: list[tuple[Any, st.SearchStrategy[Any]]] = [
    (Literal["ship", "hold"], st.sampled_from(["ship", "hold"])),
    (Literal[1, 2, 3], st.sampled_from([1, 2, 3])),
    (Color, st.sampled_from(Color)),
    (list[Literal["a", "b", "c"]], st.lists(st.sampled_from(["a", "b", "c"]), unique=True)),
    (
        Order,
        st.builds(
            Order,
            count=st.integers(-(10**6), 10**6),
            price=st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**6),
            at=st.times(),
            note=st.none() | st.text(min_size=1).filter(str.strip),
            rush=st.booleans(),
        ),
    ),
]


def optional(data_type: Any, values: st.SearchStrategy[Any]) -> tuple[Any, st.SearchStrategy[Any]]:
    return Optional[data_type], st.none() | values  # noqa: UP045


TYPES = [*SCALARS, *OTHERS]
WITH_OPTIONAL = [*TYPES, *(optional(t, v) for t, v in TYPES)]
types_and_values = st.sampled_from(WITH_OPTIONAL).flatmap(
    lambda tv: st.tuples(st.just(tv[0]), tv[1])
)

_NUMBERISH = st.from_regex(r"\A\s?[+-]?[0-9]{0,4}(\.[0-9]{0,3})?([eE][+-]?[0-9]{1,3})?\s?\Z")
_WORDS = st.sampled_from(
    [
        "true",
        "False",
        "T",
        "f",
        "YES",
        "n",
        "on",
        "Off",
        "1",
        "0",
        "2",
        "-0",
        "-0.0",
        "1.0",
        "1e3",
        "nan",
        "inf",
        "\u0661\u0662",
        "\u0663.\u0665",
        "12:30",
        "2025-01-31",
        "2025-01-31T10:00",
        "ship",
        "",
    ]
)
texts = _NUMBERISH | _WORDS | st.text(max_size=8)
"""Texts a person might type: numbers in many spellings, yes and no, dates, anything."""

json_values = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)


def posted(form: FormField) -> list[tuple[str, str]]:
    """What a browser posts for `form` as shown (filled in with a value's `data=`)."""
    pairs: list[tuple[str, str]] = []
    for f in form.walk():
        if f.kind == "fieldset":
            continue
        if f.kind == "checkbox":
            if f.checked or f.name == "value":
                pairs.append((f.name, "true" if f.checked else "false"))
        elif f.options:
            pairs += [(f.name, o.value) for o in f.options if o.checked]
        else:
            pairs.append((f.name, f.value))
    return pairs
