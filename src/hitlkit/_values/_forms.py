"""Answer forms: the fields to show for an answer.

`form_fields` turns an answer's shape (`ValueAdapter.shape`) into a tree of
`FormField`s (text, textarea, radio, select, checkboxes, checkbox, each scalar
kind's input, and fieldsets for nested objects), which the page renders with the
macros in `_fields.html` and the CLI asks one by one. What is posted back is read
by `ValueAdapter.parse_form`, with the same rules as every other answer.

Field names are paths: the answer is `value`, a model's field `value.replicas`,
a nested one `value.limits.cpu`, the same as the `loc` of an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hitlkit._exceptions import FieldError
from hitlkit._values._limits import constraint_attrs, constraint_hint
from hitlkit._values._posted import CHECKED
from hitlkit._values._shape import Shape, option_text

__all__ = ["FormField", "Option", "error_names", "form_fields"]

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
    """HTML attributes: the kind's (step, inputmode) and the constraints a browser checks
    as the app does (min, max, step, minlength, maxlength, pattern; see `_limits`)."""
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
    shape: Shape,
    *,
    data: Any = None,
    posted: Mapping[str, Sequence[str]] | None = None,
    errors: Mapping[str, str] | None = None,
    label: str = "Your answer",
) -> FormField:
    """The form for an answer of `shape`, filled with `posted` input or else `data`.

    `data` is JSON (an initial, partial answer); defaults in the schema fill the rest.
    `errors` maps field names to messages, as `error_names` gives them.
    """
    return _field(shape, "value", label, True, data, posted, errors or {})


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
    if shape.structure == "object":
        form.kind = "fieldset"
        values = data if isinstance(data, dict) else {}
        form.children = [
            _field(sub, f"{name}.{key}", sub.title or key, req, values.get(key), posted, errors)
            for key, sub, req in shape.fields
        ]
        return form
    texts = list(posted.get(name, ())) if posted is not None else _texts(shape, data)
    form.kind = _kind(shape, name)
    form.attrs = _attrs(shape, form.kind)
    if shape.structure in ("choice", "multi"):
        form.options = [
            Option(option_text(o), option_text(o), option_text(o) in texts) for o in shape.options
        ]
        if shape.structure == "choice" and (not form.required or form.kind == "select"):
            # A way back to "no answer", or a select's prompt to choose.
            blank = "(none)" if not form.required else "Choose…"
            form.options.insert(0, Option("", blank, not any(o.checked for o in form.options)))
    elif form.kind == "checkbox":
        form.checked = bool(texts) and texts[0] in CHECKED
    elif shape.kind is not None and shape.kind.name == "boolean":
        form.options = [
            Option(text, words, texts[:1] == [text])
            for text, words in (("", "not set"), ("true", "yes"), ("false", "no"))
        ]
    else:
        form.value = texts[0] if texts else ""
    hints = [constraint_hint(shape), shape.kind.hint if shape.kind is not None else None]
    form.hint = " ".join(h for h in hints if h) or None
    return form


def _kind(shape: Shape, name: str) -> str:
    if shape.structure == "choice":
        return "radio" if len(shape.options) <= MAX_RADIOS else "select"
    if shape.structure == "multi":
        return "checkboxes"
    assert shape.kind is not None
    if shape.kind.name == "string":
        limit = shape.schema.get("maxLength")
        long = not isinstance(limit, int) or limit > MAX_LINE_LENGTH
        return "textarea" if long and name == "value" else "text"
    if shape.kind.name == "boolean" and shape.nullable:
        return "select"
    return shape.kind.input


def _texts(shape: Shape, data: Any) -> list[str]:
    """Stored JSON data as the texts an input shows."""
    if data is None:
        return []
    if shape.structure == "multi":
        return [option_text(d) for d in data] if isinstance(data, list) else []
    if shape.kind is not None:
        try:
            return [shape.kind.shown(shape.kind.check(data))]
        except ValueError:
            return [data] if isinstance(data, str) else []
    return [option_text(data)] if isinstance(data, (str, int)) else []


def _attrs(shape: Shape, kind: str) -> dict[str, str]:
    kind_attrs = shape.kind.attrs if shape.kind is not None else {}
    return {**kind_attrs, **constraint_attrs(shape, kind)}


def error_names(errors: Sequence[FieldError]) -> dict[str, str]:
    """Field errors by the name of the field they belong to (`value.replicas`)."""
    named: dict[str, str] = {}
    for error in errors:
        name = ".".join(str(p) for p in error["loc"] if isinstance(p, str)) or "value"
        named.setdefault(name, error["msg"])
    return named
