"""The Block Kit of an open event, and prompts as Slack mrkdwn."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from enum import Enum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

import hitlkit
from hitlkit import MemoryStore
from hitlkit._chat._mrkdwn import MAX_SECTION, prompt_mrkdwn
from hitlkit._chat._slack_blocks import (
    deadline_text,
    event_blocks,
    form_posted,
    modal_view,
)
from hitlkit._records import EventRecord

LINK = "https://hitl.example.org/form/x?token=abc"


class Color(Enum):
    RED = "red"
    GREEN = "green"


class Deploy(BaseModel):
    replicas: Annotated[int, Field(ge=1, le=10)]
    reason: str
    urgent: bool = False
    day: date | None = None


class Limits(BaseModel):
    cpu: int


class Nested(BaseModel):
    name: str
    limits: Limits


class Coded(BaseModel):
    code: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


def record_of(data_type: Any, prompt: str = "Go?", **options: Any) -> EventRecord:
    event = hitlkit.new_event(
        "deploy", data_type, prompt=prompt, store=MemoryStore(), serve=False, **options
    )
    record: EventRecord = event.record
    return record


def actions_of(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    [actions] = [b for b in blocks if b["type"] == "actions"]
    elements: list[dict[str, Any]] = actions["elements"]
    return elements


def test_a_bool_gets_approve_and_reject_buttons_carrying_json() -> None:
    record = record_of(bool)
    blocks = event_blocks(record, link=LINK)
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "deploy", "emoji": False},
    }
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert actions["block_id"] == f"hitl:{record.id}"
    approve, reject = actions["elements"]
    assert (approve["text"]["text"], approve["style"], approve["value"]) == (
        "Approve",
        "primary",
        "true",
    )
    assert (reject["text"]["text"], reject["style"], reject["value"]) == (
        "Reject",
        "danger",
        "false",
    )
    assert {approve["action_id"], reject["action_id"]} == {"hitl.answer.0", "hitl.answer.1"}


def test_few_choices_are_buttons_many_a_select_too_many_a_link() -> None:
    buttons = actions_of(event_blocks(record_of(Color), link=LINK))
    assert [(b["text"]["text"], json.loads(b["value"])) for b in buttons] == [
        ("red", "red"),
        ("green", "green"),
    ]
    many = Literal[tuple(range(1, 41))]  # type: ignore[valid-type]
    [select] = actions_of(event_blocks(record_of(many), link=LINK))
    assert select["type"] == "static_select"
    assert [json.loads(o["value"]) for o in select["options"]] == list(range(1, 41))
    too_many = Literal[tuple(f"o{n}" for n in range(101))]  # type: ignore[valid-type]
    [link] = actions_of(event_blocks(record_of(too_many), link=LINK))
    assert link["url"] == LINK
    assert "action_id" in link
    assert "value" not in link


@pytest.mark.parametrize("data_type", [int, str, float, date, datetime, Deploy, int | None])
def test_other_types_get_a_button_that_opens_a_modal(data_type: Any) -> None:
    record = record_of(data_type)
    [button] = actions_of(event_blocks(record, link=LINK))
    assert (button["action_id"], button["value"]) == ("hitl.modal", record.id)
    view = modal_view(record)
    assert view is not None
    assert view["callback_id"] == "hitl.answer"
    assert view["private_metadata"] == record.id
    assert len(view["title"]["text"]) <= 24


@pytest.mark.parametrize("data_type", [Nested, Coded])
def test_types_beyond_a_modal_link_to_the_form(data_type: Any) -> None:
    record = record_of(data_type)
    assert modal_view(record) is None
    [button] = actions_of(event_blocks(record, link=LINK))
    assert button["url"] == LINK


def test_a_models_modal_has_an_input_per_field_named_by_its_path() -> None:
    view = modal_view(record_of(Deploy))
    assert view is not None
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == ["value.replicas", "value.reason", "value.urgent", "value.day"]
    replicas = inputs["value.replicas"]["element"]
    assert replicas["type"] == "number_input"
    assert (replicas["is_decimal_allowed"], replicas["min_value"], replicas["max_value"]) == (
        False,
        "1",
        "10",
    )
    assert inputs["value.urgent"]["element"]["type"] == "checkboxes"
    assert inputs["value.day"]["element"]["type"] == "datepicker"
    assert inputs["value.day"]["optional"] is True
    assert inputs["value.reason"]["optional"] is False


def test_a_modals_state_reads_back_as_a_form_post() -> None:
    values = {
        "value.replicas": {"v": {"type": "number_input", "value": "3"}},
        "value.reason": {"v": {"type": "plain_text_input", "value": "load"}},
        "value.urgent": {
            "v": {"type": "checkboxes", "selected_options": [{"value": "true", "text": {}}]}
        },
        "value.day": {"v": {"type": "datepicker", "selected_date": None}},
        "value.when": {"v": {"type": "datetimepicker", "selected_date_time": 0}},
    }
    assert form_posted(values) == {
        "value.replicas": ["3"],
        "value.reason": ["load"],
        "value.urgent": ["true"],
        "value.day": [],
        "value.when": ["1970-01-01T00:00:00+00:00"],
    }


def test_a_hostile_prompt_cannot_mention_link_or_format() -> None:
    hostile = "Hi <!channel> <!here|x> <@U1> <#C1> *bold* & more"
    for prompt_type in ("text", "markdown"):
        shown = prompt_mrkdwn(hostile, prompt_type)
        assert "<" not in shown
        assert ">" not in shown
        assert "&lt;!channel&gt;" in shown
        assert "&lt;@U1&gt;" in shown
        assert "&amp; more" in shown
    assert "*bold*" not in prompt_mrkdwn(hostile, "text")  # the asterisks are kept from pairing
    # Markdown's own autolink is a link, with its text escaped; never a mention.
    shown = prompt_mrkdwn("<https://x.org/a|<!channel>>", "markdown")
    assert "<!" not in shown
    assert "<@" not in shown


def test_markdown_becomes_slack_formatting() -> None:
    text = "**Deploy** _now_ `v2` [notes](https://x.org/a?b=1&c=2)\n\n- one\n- two"
    shown = prompt_mrkdwn(text, "markdown")
    assert shown == ("*Deploy* _now_ `v2` <https://x.org/a?b=1&amp;c=2|notes>\n\n• one\n• two")
    assert "<javascript" not in prompt_mrkdwn("[x](javascript:alert(1))", "markdown")


def test_a_long_prompt_is_cut_to_a_section_without_breaking_an_entity() -> None:
    shown = prompt_mrkdwn("a&" * 5000, "text")
    assert len(shown) <= MAX_SECTION
    assert shown.endswith("…")
    assert shown[:-1].endswith(("a", "&amp;"))


def test_the_deadline_is_slacks_date_token_with_a_utc_fallback() -> None:
    record = record_of(bool)
    epoch = int(record.deadline.timestamp())
    assert deadline_text(record.deadline).startswith(
        f"<!date^{epoch}^{{date_short_pretty}} {{time}}|"
    )
    assert deadline_text(record.deadline).endswith(" UTC>")


def test_an_approval_gets_buttons_and_a_modal_for_a_reason() -> None:
    record = record_of(hitlkit.Approval)
    approve, reject, reason = actions_of(event_blocks(record, link=LINK))
    assert (json.loads(approve["value"]), json.loads(reject["value"])) == (
        {"approved": True},
        {"approved": False},
    )
    assert reason["action_id"] == "hitl.modal"
    view = modal_view(record)
    assert view is not None
    inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert inputs == ["value.approved", "value.reason"]


def test_hitl_notify_carries_chat_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    from hitlkit import _config

    monkeypatch.setenv(
        "HITL_NOTIFY", "slack-app://#ops, json://h/x teams-app+https://h/p?a=1,2 slack-app://U1"
    )
    assert _config.notify_targets() == (
        "slack-app://#ops",
        "json://h/x",
        "teams-app+https://h/p?a=1,2",
        "slack-app://U1",
    )


def test_initial_dates_and_times_show_in_their_pickers() -> None:
    class When(BaseModel):
        at: datetime
        start: time

    initial = {"at": "2026-01-02T03:04:00+00:00", "start": "09:30:00"}
    view = modal_view(record_of(When, initial=initial))
    assert view is not None
    at, start = (b["element"] for b in view["blocks"] if b["type"] == "input")
    assert (at["type"], at["initial_date_time"]) == ("datetimepicker", 1767323040)
    assert (start["type"], start["initial_time"]) == ("timepicker", "09:30")
