"""Forms from JSON Schema: the fields to show for an answer, and reading them back.

`form_fields` turns an event's recorded schema into a tree of `FormField`s
(text, textarea, integer, number, checkbox, select, radio, checkboxes, date,
datetime-local, and fieldsets for nested objects), which the page renders with
the macros in `_fields.html` and the CLI asks one by one. `parse_form` reads
posted pairs (repeated keys for several choices) back into JSON by the same
schema; the result is then validated like any other answer.

Field names are paths: the answer is `value`, a model's field `value.replicas`,
a nested one `value.limits.cpu`, the same as the `loc` of an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from hitlkit._exceptions import FieldError
from hitlkit._schema import (
    MISSING,
    Shape,
    check_supported,
    from_text,
    invalid,
    option_text,
    schema_errors,
)

__all__ = ["FormField", "Option", "error_names", "form_fields", "parse_form"]

MAX_RADIOS = 6
"""Up to this many choices are radio buttons; more make a select."""
MAX_LINE_LENGTH = 200
"""Text fields allowing longer answers get a textarea."""


@dataclass
class Option:
    """One choice of a radio, select or checkboxes field."""

    value: str
    label: str
    checked: bool = False


@dataclass
class FormField:
    """One input (or a fieldset of inputs) of an answer form."""

    kind: str
    """text, textarea, integer, number, checkbox, select, radio, checkboxes, date,
    datetime-local or fieldset."""
    name: str
    label: str
    required: bool
    description: str | None = None
    value: str = ""
    """The text the input shows: the kept input, else the initial value, else the default."""
    checked: bool = False
    options: list[Option] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)
    """HTML constraint attributes: min, max, step, minlength, maxlength, pattern."""
    children: list[FormField] = field(default_factory=list)
    error: str | None = None
    hint: str | None = None

    @property
    def id(self) -> str:
        """The HTML id of the input: `f-value-replicas`."""
        return "f-" + self.name.replace(".", "-")

    def walk(self) -> list[FormField]:
        """This field and every field inside it, depth first."""
        return [self, *(f for child in self.children for f in child.walk())]


def form_fields(
    schema: dict[str, Any],
    *,
    data: Any = None,
    posted: Mapping[str, Sequence[str]] | None = None,
    errors: Mapping[str, str] | None = None,
    label: str = "Your answer",
) -> FormField:
    """The form for an answer of `schema`, filled with `posted` input or else `data`.

    `data` is JSON (an initial, partial answer); defaults in the schema fill the rest.
    `errors` maps field names to messages, as `error_names` gives them.
    """
    return _field(check_supported(schema), "value", label, True, data, posted, errors or {})


def _field(
    shape: Shape,
    name: str,
    label: str,
    required: bool,
    data: Any,
    posted: Mapping[str, Sequence[str]] | None,
    errors: Mapping[str, str],
) -> FormField:
    if data is None and "default" in shape.schema:
        data = shape.schema["default"]
    form = FormField(
        kind="",
        name=name,
        label=label,
        required=required and not shape.nullable,
        description=shape.description,
        error=errors.get(name),
    )
    if shape.kind == "object":
        form.kind = "fieldset"
        values = data if isinstance(data, dict) else {}
        form.children = [
            _field(sub, f"{name}.{key}", sub.title or key, req, values.get(key), posted, errors)
            for key, sub, req in shape.fields
        ]
        return form
    texts = list(posted.get(name, ())) if posted is not None else _texts(shape, data)
    form.kind = _kind(shape, name)
    form.attrs = _attrs(shape.schema)
    if shape.kind in ("choice", "multi"):
        form.options = [
            Option(option_text(o), option_text(o), option_text(o) in texts) for o in shape.options
        ]
        if shape.kind == "choice" and (not form.required or form.kind == "select"):
            # A way back to "no answer", or a select's prompt to choose.
            blank = "(none)" if not form.required else "Choose…"
            form.options.insert(0, Option("", blank, not any(o.checked for o in form.options)))
    elif shape.kind == "boolean" and form.kind == "checkbox":
        form.checked = bool(texts) and texts[0] in ("true", "on")
    elif shape.kind == "boolean":
        form.options = [
            Option(text, words, texts[:1] == [text])
            for text, words in (("", "not set"), ("true", "yes"), ("false", "no"))
        ]
    else:
        form.value = texts[0] if texts else ""
    if shape.kind == "datetime":
        form.hint = "Read as UTC."
    return form


def _kind(shape: Shape, name: str) -> str:
    if shape.kind == "string":
        limit = shape.schema.get("maxLength")
        long = not isinstance(limit, int) or limit > MAX_LINE_LENGTH
        return "textarea" if long and name == "value" else "text"
    if shape.kind == "choice":
        return "radio" if len(shape.options) <= MAX_RADIOS else "select"
    if shape.kind == "boolean":
        return "select" if shape.nullable else "checkbox"
    return {
        "multi": "checkboxes",
        "date": "date",
        "datetime": "datetime-local",
    }.get(shape.kind, shape.kind)


def _texts(shape: Shape, data: Any) -> list[str]:
    """JSON data as the texts an input shows."""
    if data is None:
        return []
    if shape.kind == "multi":
        return [option_text(d) for d in data] if isinstance(data, list) else []
    if isinstance(data, bool):
        return ["true" if data else "false"]
    if shape.kind == "datetime" and isinstance(data, str):
        try:
            moment = datetime.fromisoformat(data.replace("Z", "+00:00"))
        except ValueError:
            return [data]
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        return [moment.isoformat(timespec="minutes" if not moment.second else "seconds")]
    return [option_text(data)] if isinstance(data, (str, int, float)) else []


def _attrs(schema: dict[str, Any]) -> dict[str, str]:
    names = {
        "minimum": "min",
        "maximum": "max",
        "minLength": "minlength",
        "maxLength": "maxlength",
        "pattern": "pattern",
        "multipleOf": "step",
    }
    attrs = {html: str(schema[key]) for key, html in names.items() if key in schema}
    if schema.get("type") == "number" and "step" not in attrs:
        attrs["step"] = "any"
    return attrs


def parse_form(schema: dict[str, Any], posted: Mapping[str, Sequence[str]]) -> Any:
    """The JSON answer in `posted` form fields, or `InvalidValueError` with field errors.

    Empty optional fields are left out (so defaults apply) or become null.
    """
    shape = check_supported(schema)
    errors: list[FieldError] = []
    value = _read(shape, ["value"], True, posted, errors)
    if errors:
        # Also report what the schema says about the fields that could be read.
        unread = {tuple(e["loc"]) for e in errors}
        errors += [
            e
            for e in schema_errors(schema, value)
            if tuple(e["loc"]) not in unread and e["msg"] != "this field is required"
        ]
        raise invalid(shape, dict(posted), errors)
    return None if value is MISSING and shape.nullable else value


def _read(
    shape: Shape,
    loc: list[str | int],
    required: bool,
    posted: Mapping[str, Sequence[str]],
    errors: list[FieldError],
) -> Any:
    name = ".".join(map(str, loc))
    if shape.kind == "object":
        typed = any("".join(v) for k, v in posted.items() if k.startswith(name + "."))
        if shape.nullable and not typed:
            return None
        found = {}
        for key, sub, req in shape.fields:
            value = _read(sub, [*loc, key], req, posted, errors)
            if value is not MISSING:
                found[key] = value
        return found
    texts = list(posted.get(name, ()))
    if shape.kind == "boolean" and not shape.nullable:
        return bool(texts) and texts[0].strip().lower() in ("true", "on", "yes")
    try:
        empty = not "".join(texts)
        value = MISSING if shape.kind == "string" and empty else from_text(shape, texts)
    except ValueError as exc:
        errors.append({"loc": loc, "msg": str(exc)})
        return MISSING
    if value is MISSING and shape.nullable:
        return None
    if value is MISSING and required:
        errors.append({"loc": loc, "msg": "this field is required"})
    return value


def error_names(errors: Sequence[FieldError]) -> dict[str, str]:
    """Field errors by the name of the field they belong to (`value.replicas`)."""
    named: dict[str, str] = {}
    for error in errors:
        name = ".".join(str(p) for p in error["loc"] if isinstance(p, str)) or "value"
        named.setdefault(name, error["msg"])
    return named
