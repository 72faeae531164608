"""The Block Kit of an open event: its message, and the modal that answers it.

The message holds a header (the event's name), the prompt (`_mrkdwn`), the deadline
(Slack's `<!date^…>`, shown in each reader's time zone), the run and event id, the
policy's state, and inputs for the answer's type:

- `bool`: Approve (primary) and Reject (danger) buttons; a `hitlkit.Approval` the same,
  and a button opening the modal, to give a reason;
- choices: a button each, up to `MAX_BUTTONS`; a select, up to `MAX_OPTIONS`;
- every other type Slack can ask in a modal (text, numbers, dates, a model's flat
  fields...): an "Answer…" button that opens it (`modal_view`);
- anything beyond (nested models, more than `MAX_OPTIONS` choices, patterns): a
  button linking to the event's form (`hitlkit._notify.shared_link`).

The actions block is `hitl:<id>`; an answer's action is `hitl.answer.<n>` and its
value the answer as JSON text; the modal's button is `hitl.modal`. The modal's
`private_metadata` is the event id, its `callback_id` `hitl.answer`, and each input's
block id the form field's name (`value`, `value.replicas`), so that its state reads
back into the mapping `ValueAdapter.parse_form` takes (`form_posted`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from hitlkit._chat._mrkdwn import date_token, escape, prompt_mrkdwn
from hitlkit._choices import names_who
from hitlkit._exceptions import InvalidValueError
from hitlkit._policy import PolicyState
from hitlkit._records import EventRecord, is_approval
from hitlkit._values._forms import FormField, form_fields
from hitlkit._values._shape import Shape, option_text

__all__ = [
    "ACTIONS_PREFIX",
    "ANSWER_ACTION",
    "CALLBACK_ID",
    "LINK_ACTION",
    "MODAL_ACTION",
    "OWN_LINK_ACTION",
    "event_blocks",
    "form_posted",
    "modal_view",
]

ACTIONS_PREFIX = "hitl:"
ANSWER_ACTION = "hitl.answer."
MODAL_ACTION = "hitl.modal"
LINK_ACTION = "hitl.link"
"""A button that opens the form through its URL: a link for anyone."""
OWN_LINK_ACTION = "hitl.own-link"
"""A button that answers its presser with a link of their own (signed for their identity):
where the event names who answers, a URL in the message would let every reader use one."""
CALLBACK_ID = "hitl.answer"
INPUT_ACTION = "v"

MAX_BUTTONS = 5
MAX_OPTIONS = 100
MAX_RADIOS = 10
MAX_CHECKBOXES = 10
MAX_BLOCKS = 100
MAX_TEXT = 75
"""Slack's limit on a button's or option's text."""
MAX_OPTION_VALUE = 150
MAX_BUTTON_VALUE = 2000
MAX_LABEL = 2000
MAX_TITLE = 24
MAX_HEADER = 150
MAX_INPUT = 3000
"""Slack's limit on what a text input takes."""


def _plain(text: str, limit: int = MAX_TEXT) -> dict[str, Any]:
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text or " ", "emoji": False}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def deadline_text(deadline: datetime) -> str:
    """The deadline as Slack's date token: each reader's time zone, UTC as the fallback."""
    return date_token(deadline)


def policy_text(state: PolicyState) -> str:
    """Where a policy stands, in one line: its summary and who voted."""
    voters = ", ".join(dict.fromkeys(vote.by for vote in state.votes))
    return f"{state.summary}: {voters}" if voters else state.summary


def event_blocks(
    record: EventRecord, *, link: str, policy: PolicyState | None = None
) -> list[dict[str, Any]]:
    """The blocks of `record`'s message: what it asks, until when, and how to answer."""
    facts = f"run `{escape(record.run_id)}` · event `{record.id}`"
    if record.assignees:
        facts += f" · for {escape(', '.join(record.assignees))}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(record.name, MAX_HEADER)},
        {"type": "section", "text": _mrkdwn(prompt_mrkdwn(record.prompt, record.prompt_type))},
        {
            "type": "section",
            "text": _mrkdwn(f"*Deadline:* {deadline_text(record.deadline)}"),
        },
        {"type": "context", "elements": [_mrkdwn(facts)]},
    ]
    if policy is not None:
        line = f"*Policy:* {escape(policy_text(policy))}"
        blocks.append({"type": "context", "elements": [_mrkdwn(line)]})
    blocks.append(
        {
            "type": "actions",
            "block_id": f"{ACTIONS_PREFIX}{record.id}",
            "elements": inputs(record, link),
        }
    )
    return blocks


def _shape(record: EventRecord) -> Shape | None:
    from hitlkit._ops import answers_of

    try:
        return answers_of(record).shape
    except InvalidValueError:
        return None


def inputs(record: EventRecord, link: str) -> list[dict[str, Any]]:
    """The answer's inputs for the type of `record`."""
    shape = _shape(record)
    if shape is None:
        return [_link_button(record, link)]
    if _is_yes_or_no(shape):
        return [
            _answer_button(0, "Approve", True, style="primary"),
            _answer_button(1, "Reject", False, style="danger"),
        ]
    if shape.structure == "choice":
        return _choices(record, shape.options, link)
    if modal_view(record) is None:
        return [_link_button(record, link)]
    if is_approval(record):  # a yes or no, and a reason when one is wanted
        return [
            _answer_button(0, "Approve", {"approved": True}, style="primary"),
            _answer_button(1, "Reject", {"approved": False}, style="danger"),
            _modal_button(record, "With a reason…"),
        ]
    return [_modal_button(record, "Answer…")]


def _modal_button(record: EventRecord, text: str) -> dict[str, Any]:
    return {"type": "button", "action_id": MODAL_ACTION, "text": _plain(text), "value": record.id}


def _is_yes_or_no(shape: Shape) -> bool:
    kind = shape.kind
    return (
        shape.structure == "scalar"
        and kind is not None
        and kind.name == "boolean"
        and not shape.nullable
    )


def _choices(record: EventRecord, options: Sequence[Any], link: str) -> list[dict[str, Any]]:
    values = [json.dumps(option) for option in options]
    if len(options) <= MAX_BUTTONS and all(len(v) <= MAX_BUTTON_VALUE for v in values):
        return [_answer_button(n, option_text(o), o) for n, o in enumerate(options)]
    if len(options) > MAX_OPTIONS or any(len(v) > MAX_OPTION_VALUE for v in values):
        return [_link_button(record, link)]
    return [
        {
            "type": "static_select",
            "action_id": f"{ANSWER_ACTION}0",
            "placeholder": _plain("Choose…"),
            "options": [_option(option_text(o), v) for o, v in zip(options, values, strict=True)],
        }
    ]


def _answer_button(n: int, text: str, value: Any, *, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": f"{ANSWER_ACTION}{n}",
        "text": _plain(text),
        "value": json.dumps(value),
    }
    if style is not None:
        button["style"] = style
    return button


def _link_button(record: EventRecord, link: str) -> dict[str, Any]:
    """A button to the form: its URL where anyone may answer, else a press that sends the
    presser a link of their own."""
    if names_who(record):
        text = "Get my link to the form"
        return {"type": "button", "action_id": OWN_LINK_ACTION, "text": _plain(text), "value": "1"}
    return {
        "type": "button",
        "action_id": LINK_ACTION,
        "text": _plain("Answer in the form"),
        "url": link,
    }


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text), "value": value}


def modal_view(
    record: EventRecord, *, errors: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    """The modal that answers `record`, or `None` where its type is beyond a modal."""
    shape = _shape(record)
    if shape is None:
        return None
    form = form_fields(shape, data=record.initial, errors=errors)
    fields = form.children if form.kind == "fieldset" else [form]
    blocks = [_input_block(field) for field in fields]
    if not blocks or len(blocks) + 1 > MAX_BLOCKS or any(b is None for b in blocks):
        return None
    title = record.name if len(record.name) <= MAX_TITLE else record.name[: MAX_TITLE - 1] + "…"
    prompt = prompt_mrkdwn(record.prompt, record.prompt_type)
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": record.id,
        "title": _plain(title, MAX_TITLE),
        "submit": _plain("Answer"),
        "close": _plain("Cancel"),
        "blocks": [{"type": "section", "text": _mrkdwn(prompt)}, *blocks],
    }


def _input_block(field: FormField) -> dict[str, Any] | None:
    """A form field as a modal's input block; `None` where Slack has no input for it."""
    element = _element(field)
    if element is None or len(field.name) > 255:
        return None
    block: dict[str, Any] = {
        "type": "input",
        "block_id": field.name,
        "label": _plain(field.label, MAX_LABEL),
        "element": {"action_id": INPUT_ACTION, **element},
        "optional": not field.required or field.kind in ("checkbox", "checkboxes"),
    }
    hint = " ".join(t for t in (field.description, field.hint) if t)
    if hint:
        block["hint"] = _plain(hint, MAX_LABEL)
    return block


def _element(field: FormField) -> dict[str, Any] | None:
    kind, attrs = field.kind, field.attrs
    if kind in ("text", "textarea"):
        if "pattern" in attrs:
            return None  # Slack checks no pattern: the form does
        element: dict[str, Any] = {"type": "plain_text_input", "multiline": kind == "textarea"}
        if int(attrs.get("minlength", 0)) > MAX_INPUT:
            return None
        element["max_length"] = min(int(attrs.get("maxlength", MAX_INPUT)), MAX_INPUT)
        if "minlength" in attrs:
            element["min_length"] = int(attrs["minlength"])
        if field.value:
            element["initial_value"] = field.value
        return element
    if kind in ("integer", "number"):
        element = {"type": "number_input", "is_decimal_allowed": kind == "number"}
        for attr, key in (("min", "min_value"), ("max", "max_value")):
            if attr in attrs:
                element[key] = attrs[attr]
        if field.value:
            element["initial_value"] = field.value
        return element
    if kind == "checkbox":
        option = _option("yes", "true")
        element = {"type": "checkboxes", "options": [option]}
        if field.checked:
            element["initial_options"] = [option]
        return element
    if kind in ("select", "radio", "checkboxes"):
        return _options_element(field)
    if kind == "date":
        element = {"type": "datepicker"}
        if field.value:
            element["initial_date"] = field.value[:10]
        return element
    if kind == "datetime-local":
        element = {"type": "datetimepicker"}
        moment = _utc_moment(field.value)
        if moment is not None:
            element["initial_date_time"] = int(moment.timestamp())
        return element
    if kind == "time":
        element = {"type": "timepicker"}
        if len(field.value) >= 5 and field.value[2] == ":":
            element["initial_time"] = field.value[:5]
        return element
    return None


def _utc_moment(text: str) -> datetime | None:
    """A datetime-local input's text (UTC, no offset) as an aware datetime."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _options_element(field: FormField) -> dict[str, Any] | None:
    options = [o for o in field.options if o.value]
    if not options or len(options) > MAX_OPTIONS:
        return None
    if any(len(o.value) > MAX_OPTION_VALUE for o in options):
        return None
    slack = [_option(o.label, o.value) for o in options]
    chosen = [s for s, o in zip(slack, options, strict=True) if o.checked]
    if field.kind == "checkboxes":
        kind = "checkboxes" if len(slack) <= MAX_CHECKBOXES else "multi_static_select"
        element: dict[str, Any] = {"type": kind, "options": slack}
        if chosen:
            element["initial_options"] = chosen
        return element
    kind = (
        "radio_buttons" if len(slack) <= MAX_RADIOS and field.kind == "radio" else "static_select"
    )
    element = {"type": kind, "options": slack}
    if chosen:
        element["initial_option"] = chosen[0]
    return element


def form_posted(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """A modal's `state.values` as the form fields `ValueAdapter.parse_form` reads."""
    posted: dict[str, list[str]] = {}
    for block_id, actions in values.items():
        if not isinstance(block_id, str) or not isinstance(actions, Mapping):
            continue
        state = actions.get(INPUT_ACTION)
        if isinstance(state, Mapping):
            posted[block_id] = _texts(state)
    return posted


def _texts(state: Mapping[str, Any]) -> list[str]:
    """What one input holds, as the texts a browser would post."""
    kind = state.get("type")
    if kind in ("plain_text_input", "number_input"):
        value = state.get("value")
        return [value] if isinstance(value, str) else []
    if kind in ("static_select", "radio_buttons"):
        option = state.get("selected_option")
        return [str(option["value"])] if isinstance(option, Mapping) and "value" in option else []
    if kind in ("checkboxes", "multi_static_select"):
        options = state.get("selected_options")
        if not isinstance(options, list):
            return []
        return [str(o["value"]) for o in options if isinstance(o, Mapping) and "value" in o]
    if kind == "datepicker":
        day = state.get("selected_date")
        return [day] if isinstance(day, str) else []
    if kind == "timepicker":
        at = state.get("selected_time")
        return [at] if isinstance(at, str) else []
    if kind == "datetimepicker":
        epoch = state.get("selected_date_time")
        if isinstance(epoch, int) and not isinstance(epoch, bool):
            try:
                when = datetime.fromtimestamp(epoch, timezone.utc)
            except (OverflowError, OSError, ValueError):
                return [str(epoch)]
            return [when.isoformat()]
        return []
    return []
