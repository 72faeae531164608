"""Reading a posted answer form (or the CLI's answers to its fields) into JSON.

Field names are paths: the answer is `value`, a model's field `value.replicas`, a
nested one `value.limits.cpu`, the same as the `loc` of an error. Several choices
come as repeated keys. Each field's text is read by its kind's rules (`read_text`);
the JSON that results is then checked like any other answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema.protocols import Validator

from hitlkit._exceptions import FieldError
from hitlkit._values._check import MISSING, invalid, read_text, schema_errors, shown
from hitlkit._values._shape import Shape

__all__ = ["CHECKED", "read_posted"]

CHECKED = frozenset({"true", "on", "yes"})
"""What a checked checkbox posts (browsers send "on" when it has no value)."""


def read_posted(
    shape: Shape, constraints: Validator | None, posted: Mapping[str, Sequence[str]]
) -> Any:
    """The JSON answer in `posted` form fields, or `InvalidValueError` with field errors.

    Empty optional fields are left out (so defaults apply) or become null.
    """
    errors: list[FieldError] = []
    value = _read(shape, ["value"], True, posted, errors)
    if errors:
        # Also report what the schema says about the fields that could be read.
        unread = {tuple(e["loc"]) for e in errors}
        if value is not MISSING:
            errors += [
                e
                for e in schema_errors(constraints, value)
                if tuple(e["loc"]) not in unread and e["msg"] != "this field is required"
            ]
        raise invalid(shape, _got(posted), errors)
    return value


def _got(posted: Mapping[str, Sequence[str]]) -> object:
    """What was posted for the answer (not the form's other fields, such as its token)."""
    fields = {k: list(v) for k, v in posted.items() if k == "value" or k.startswith("value.")}
    texts = fields.get("value")
    return texts[0] if texts is not None and len(fields) == 1 and len(texts) == 1 else fields


def _read(
    shape: Shape,
    loc: list[str | int],
    required: bool,
    posted: Mapping[str, Sequence[str]],
    errors: list[FieldError],
) -> Any:
    name = ".".join(map(str, loc))
    if shape.structure == "object":
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
    if _is_checkbox(shape, loc):
        return bool(texts) and texts[0].strip().lower() in CHECKED
    try:
        if not texts and shape.texts_are_data and shape.structure == "scalar":
            value = None if shape.nullable else MISSING  # not even an empty field was posted
        else:
            value = read_text(shape, texts, required=required)
    except ValueError as exc:
        errors.append({"loc": loc, "msg": str(exc)})
        return MISSING
    if value is MISSING and required:
        root = len(loc) == 1
        message = f"expected {shape.words()}, got {shown(MISSING)}"
        errors.append({"loc": loc, "msg": message if root else "this field is required"})
    return value


def _is_checkbox(shape: Shape, loc: list[str | int]) -> bool:
    """A yes-or-no field of a model: a checkbox, which posts nothing when not checked."""
    return (
        shape.kind is not None
        and shape.kind.name == "boolean"
        and not shape.nullable
        and len(loc) > 1
    )
