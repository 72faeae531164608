"""Rich answer types: which types are accepted, how answers are read, checked and returned."""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal, Optional

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

import hitlkit
from hitlkit import InvalidValueError, MemoryStore, UnsupportedTypeError
from hitlkit._markdown import render_prompt
from hitlkit._values import adapter_of


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Limits(BaseModel):
    cpu: int = Field(default=2, ge=1, le=8, description="cores")


class Deploy(BaseModel):
    """A deployment."""

    version: str = Field(pattern=r"^v[0-9]+$", max_length=10, description="like v2")
    env: Literal["prod", "staging"]
    replicas: int = Field(default=3, ge=1, le=10)
    flags: set[Literal["canary", "dry-run"]] = set()
    limits: Limits
    notify: bool = False


@dataclasses.dataclass
class Window:
    start: date
    hours: float = 1.5


class Person(TypedDict):
    name: str
    age: int


@pytest.fixture
def memory_store() -> MemoryStore:
    return MemoryStore()


def ask(store: MemoryStore, data_type: Any, name: str = "q", **options: Any) -> Any:
    return hitlkit.new_event(name, data_type, store=store, serve=False, **options)


@pytest.mark.parametrize(
    ("data_type", "answer", "expected", "name"),
    [
        (Literal["ship", "hold"], "hold", "hold", "choice"),
        (Literal[1, 2, 3], 2, 2, "choice"),
        (Literal[1, 2, 3], "3", 3, "choice"),
        (Color, "green", Color.GREEN, "choice"),
        (Color, Color.RED, Color.RED, "choice"),
        (list[Color], ["red", "green"], [Color.RED, Color.GREEN], "list[choice]"),
        (set[Literal["a", "b"]], ["b"], {"b"}, "list[choice]"),
        (Optional[int], None, None, "int | None"),  # noqa: UP045
        (int | None, "7", 7, "int | None"),
        (date, "2025-01-31", date(2025, 1, 31), "date"),
        (date, date(2025, 2, 1), date(2025, 2, 1), "date"),
        (Window, {"start": "2025-03-01"}, Window(date(2025, 3, 1)), "Window"),
        (Person, {"name": "Ana", "age": 40}, {"name": "Ana", "age": 40}, "Person"),
    ],
)
def test_rich_types_round_trip(
    memory_store: MemoryStore, data_type: Any, answer: Any, expected: Any, name: str
) -> None:
    event = ask(memory_store, data_type)
    assert event.record.data_type == name
    assert event.record.validation == "schema"
    event.answer(answer)
    assert event.wait() == expected


def test_datetimes_come_back_timezone_aware(memory_store: MemoryStore) -> None:
    naive = ask(memory_store, datetime, "naive")
    naive.answer("2025-01-31T10:30")
    assert naive.wait() == datetime(2025, 1, 31, 10, 30, tzinfo=timezone.utc)
    offset = ask(memory_store, datetime, "offset")
    offset.answer(datetime(2025, 1, 31, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    assert offset.wait() == datetime(2025, 1, 31, 10, 0, tzinfo=timezone.utc)
    assert offset.wait().utcoffset() == timedelta(hours=2)


def test_a_model_answer_returns_the_model(memory_store: MemoryStore) -> None:
    event = ask(memory_store, Deploy)
    event.answer({"version": "v2", "env": "prod", "limits": {}, "flags": ["canary"]})
    result = event.wait()
    assert isinstance(result, Deploy)
    assert result == Deploy(version="v2", env="prod", limits=Limits(), flags={"canary"})


@pytest.mark.parametrize(
    ("data_type", "answer", "loc", "message"),
    [
        (Literal["ship", "hold"], "sink", ["value"], 'one of "ship", "hold"'),
        (Color, "blue", ["value"], "one of"),
        (list[Color], ["red", "blue"], ["value", 1], "one of"),
        (int | None, "many", ["value"], "whole number"),
        (date, "2025-02-30", ["value"], "a date"),
        (datetime, "yesterday", ["value"], "a date and time"),
        (Deploy, {"version": "2", "env": "prod", "limits": {}}, ["value", "version"], "pattern"),
        (Deploy, {"version": "v2", "env": "prod"}, ["value", "limits"], "required"),
        (
            Deploy,
            {"version": "v2", "env": "prod", "limits": {"cpu": 9}},
            ["value", "limits", "cpu"],
            "at most 8",
        ),
        (Person, {"name": "Ana"}, ["value", "age"], "required"),
    ],
)
def test_bad_answers_name_the_field_and_what_was_expected(
    memory_store: MemoryStore, data_type: Any, answer: Any, loc: list[Any], message: str
) -> None:
    event = ask(memory_store, data_type)
    with pytest.raises(InvalidValueError) as info:
        event.answer(answer)
    assert any(e["loc"] == loc and message in e["msg"] for e in info.value.errors), (
        info.value.errors
    )
    assert event.outcome() is None


class Opaque:
    pass


class Cat(BaseModel):
    meow: bool


class Dog(BaseModel):
    woof: bool


@pytest.mark.parametrize(
    "data_type",
    [dict[str, Any], bytes, Opaque, Cat | Dog, list[int], Any, timedelta],
)
def test_types_that_cannot_be_asked_are_refused(memory_store: MemoryStore, data_type: Any) -> None:
    with pytest.raises(UnsupportedTypeError) as info:
        ask(memory_store, data_type)
    assert "supported: int, float, str, bool, Literal" in str(info.value)
    assert memory_store.list("events/") == []


def test_initial_and_defaults_fill_the_form(memory_store: MemoryStore) -> None:
    event = ask(memory_store, Deploy, initial={"version": "v7"}, description="Pick well")
    record = event.record
    assert record.description == "Pick well"
    fields = {f.name: f for f in adapter_of(record).form(data=record.initial).walk()}
    assert fields["value.version"].value == "v7"
    assert fields["value.version"].attrs == {"maxlength": "10", "pattern": "v[0-9]+"}
    assert fields["value.replicas"].value == "3"
    assert fields["value.replicas"].attrs["max"] == "10"
    assert fields["value.limits.cpu"].description == "cores"
    assert fields["value.limits"].kind == "fieldset"
    assert fields["value.env"].kind == "radio"
    assert fields["value.flags"].kind == "checkboxes"
    assert fields["value.notify"].kind == "checkbox"


def test_partial_model_as_initial(memory_store: MemoryStore) -> None:
    partial = Limits.model_construct(cpu=4)
    event = ask(memory_store, Limits, initial=partial)
    assert event.record.initial == {"cpu": 4}


def test_posted_form_becomes_json_by_the_schema(memory_store: MemoryStore) -> None:
    parse_form = adapter_of(ask(memory_store, Deploy).record).parse_form
    posted = {
        "value.version": ["v2"],
        "value.env": ["staging"],
        "value.replicas": [" 4 "],
        "value.flags": ["canary", "dry-run"],
        "value.limits.cpu": [""],
    }
    assert parse_form(posted) == {
        "version": "v2",
        "env": "staging",
        "replicas": 4,
        "flags": ["canary", "dry-run"],
        "limits": {},
        "notify": False,
    }
    with pytest.raises(InvalidValueError) as info:
        parse_form({**posted, "value.replicas": ["many"], "value.version": ["x"]})
    locs = {tuple(e["loc"]) for e in info.value.errors}
    assert ("value", "replicas") in locs
    assert ("value", "version") in locs


def test_markdown_prompts_are_rendered_and_sanitized() -> None:
    text = (
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n`code` [docs](https://example.com)\n\n"
        "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))"
    )
    html = str(render_prompt(text, "markdown"))
    assert "<table>" in html
    assert "<code>code</code>" in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert "<script" not in html
    assert "<img" not in html
    assert 'href="javascript' not in html
    assert str(render_prompt("<b>x</b>", "text")) == "&lt;b&gt;x&lt;/b&gt;"


def test_a_model_default_is_returned_at_the_deadline(memory_store: MemoryStore) -> None:
    fallback = Limits(cpu=1)
    event = ask(memory_store, Limits, default=fallback, timeout_seconds=0.05)
    assert event.record.default == {"cpu": 1}
    assert event.wait() == fallback
    with pytest.raises(InvalidValueError):
        ask(memory_store, Color, name="bad default", default="blue")


def test_records_written_before_rich_types_still_load_and_answer(
    memory_store: MemoryStore,
) -> None:
    event = ask(memory_store, int)
    key = f"events/{event.request_id[:8]}/{event.request_id}.json"
    old = json.loads(memory_store.get(key) or b"")
    for field in ("validation", "prompt_type", "description", "initial"):
        del old[field]
    other = MemoryStore()
    other.put_if_absent(key, json.dumps(old).encode())
    with pytest.raises(InvalidValueError, match="expected an integer"):
        hitlkit.answer(event.request_id, "1.5", store=other)
    hitlkit.answer(event.request_id, "12", store=other)
    assert hitlkit.get_event(event.request_id, store=other).outcome.value == 12  # type: ignore[union-attr]


def test_the_same_name_with_another_model_is_a_conflict(memory_store: MemoryStore) -> None:
    class First(BaseModel):
        a: int

    class Second(BaseModel):
        a: str

    Second.__name__ = First.__name__
    ask(memory_store, First)
    with pytest.raises(hitlkit.EventConflictError, match="defined differently"):
        ask(memory_store, Second)


class Many(enum.Enum):
    A = "a"
    B = "b"
    C = "c"
    D = "d"
    E = "e"
    F = "f"
    G = "g"


class Settings(BaseModel):
    region: Many
    verbose: bool | None = None
    start: datetime | None = None


def test_many_choices_make_a_select_and_optional_yes_no_has_not_set(
    memory_store: MemoryStore,
) -> None:
    initial = {"start": "2025-01-31T12:00:00+02:00"}
    record = ask(memory_store, Settings, initial=initial).record
    fields = {f.name: f for f in adapter_of(record).form(data=record.initial).walk()}
    region = fields["value.region"]
    assert region.kind == "select"
    assert [o.value for o in region.options] == ["", "a", "b", "c", "d", "e", "f", "g"]
    verbose = fields["value.verbose"]
    assert (verbose.kind, verbose.required) == ("select", False)
    assert [o.label for o in verbose.options] == ["not set", "yes", "no"]
    assert fields["value.start"].kind == "datetime-local"
    assert fields["value.start"].value == "2025-01-31T10:00"  # shown in UTC
    with pytest.raises(InvalidValueError) as info:
        adapter_of(record).parse_form({"value.region": [""]})
    assert info.value.errors == [{"loc": ["value", "region"], "msg": "this field is required"}]
    posted = {"value.region": ["g"], "value.verbose": ["false"], "value.start": [""]}
    assert adapter_of(record).parse_form(posted) == {
        "region": "g",
        "verbose": False,
        "start": None,
    }
