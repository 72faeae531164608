"""What an answer's JSON Schema asks for: a tree of `Shape`s.

An event records its answer's JSON Schema (pydantic emits Draft 2020-12), so the
app, which cannot import a workflow's classes, knows the answer by the schema alone.
`shape_of` reads one schema node: a scalar kind (see `_kinds`), a choice, several
choices, or an object with fields, each maybe nullable (`Optional[X]`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from hitlkit._values._kinds import KINDS, Kind, kind_for

__all__ = ["SUPPORTED", "Shape", "UnsupportedSchema", "option_text", "shape_of"]


def _supported() -> str:
    def name(kind: Kind) -> str:
        python = kind.python
        return (
            python.__name__
            if python.__module__ == "builtins"
            else f"{python.__module__}.{python.__name__}"
        )

    scalars = [name(k) for k in KINDS]
    return (
        f"{', '.join(scalars[:4])}, Literal[...] of str or int, Enum, list[...] or set[...] of "
        f"such choices, Optional[X], {', '.join(scalars[4:])}, and pydantic models, dataclasses "
        "and TypedDicts whose fields are of these types"
    )


SUPPORTED = _supported()
"""What hitlkit can ask for, in words: the scalar kinds (the first four asked in one line)."""

MAX_DEPTH = 8
MAX_FIELDS_TOLD = 6
"""A model told in words names this many fields, then says how many more it has."""
MAX_OPTIONS_TOLD = 4

Structure = Literal["scalar", "choice", "multi", "object"]


class UnsupportedSchema(Exception):
    """A JSON Schema hitlkit cannot ask a person for; the message says which part."""


@dataclass(frozen=True)
class Shape:
    """One schema node as hitlkit reads it: what to ask, and its rules.

    `schema` is the node with `$ref`s resolved and the null branch removed; it
    keeps the title, description, default and constraints.
    """

    structure: Structure
    schema: dict[str, Any]
    kind: Kind | None = None
    """The scalar kind, for "scalar"."""
    nullable: bool = False
    options: tuple[Any, ...] = ()
    """The choices, for "choice" and "multi"."""
    fields: tuple[tuple[str, Shape, bool], ...] = field(default=())
    """(name, shape, required) of each property, for "object"."""

    @property
    def title(self) -> str | None:
        """The node's title, if the schema gives one."""
        title = self.schema.get("title")
        return title if isinstance(title, str) else None

    @property
    def description(self) -> str | None:
        """The node's description (from `Field(description=...)` or a docstring)."""
        text = self.schema.get("description")
        return text if isinstance(text, str) else None

    @property
    def texts_are_data(self) -> bool:
        """Whether a JSON string is the answer itself, rather than text to read."""
        if self.structure in ("choice", "multi"):
            return any(isinstance(o, str) for o in self.options)
        return self.kind is not None and self.kind.name == "string"

    def words(self) -> str:
        """The answer in words, without "or nothing": "an integer", "one of "a", "b"", ...

        A model is told by its fields: "Review: approved (yes/no), comment (text, optional)".
        """
        if self.kind is not None:
            return self.kind.words
        if self.structure == "object":
            told = [
                f"{name} ({sub.noun()}{'' if required and not sub.nullable else ', optional'})"
                for name, sub, required in self.fields[:MAX_FIELDS_TOLD]
            ]
            more = len(self.fields) - MAX_FIELDS_TOLD
            if more > 0:
                told.append(f"and {more} more")
            return f"{self.title or 'An object'}: {', '.join(told)}"
        listed = ", ".join(json.dumps(o) for o in self.options)
        return f"one of {listed}" if self.structure == "choice" else f"any of {listed}"

    def noun(self) -> str:
        """The answer in a few words, for a model's field: "integer", "prod or staging"."""
        if self.kind is not None:
            return self.kind.noun
        if self.structure == "object":
            return self.title or "object"
        told = [option_text(o) for o in self.options[:MAX_OPTIONS_TOLD]]
        if len(self.options) > MAX_OPTIONS_TOLD:
            told.append("…")
        if self.structure == "multi":
            return f"any of {', '.join(told)}"
        return " or ".join(told) if len(told) == 2 else f"one of {', '.join(told)}"

    def expected(self) -> str:
        """The answer in words, saying when it may be left empty."""
        return f"{self.words()}, or nothing" if self.nullable else self.words()

    def type_name(self) -> str:
        """The `data_type` recorded for an answer of this shape: "int", "int | None", ..."""
        if self.kind is not None:
            base = self.kind.type_name
        else:
            names = {"choice": "choice", "multi": "list[choice]"}
            base = names.get(self.structure) or self.title or "object"
        return f"{base} | None" if self.nullable else base


def option_text(option: Any) -> str:
    """A choice as typed or posted: `ship`, `3`."""
    return option if isinstance(option, str) else json.dumps(option)


def shape_of(node: dict[str, Any], root: dict[str, Any], _depth: int = 0) -> Shape:
    """Read `node` of the schema `root`; `UnsupportedSchema` if hitlkit cannot ask for it."""
    if _depth > MAX_DEPTH:
        raise UnsupportedSchema(f"types nested more than {MAX_DEPTH} deep (or recursive types)")
    node = _resolve(node, root)
    variants = node.get("anyOf") or node.get("oneOf")
    if isinstance(variants, list):
        others = [v for v in variants if v != {"type": "null"}]
        if len(others) != 1:
            raise UnsupportedSchema("unions of several types (only Optional[X] is supported)")
        outer = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
        inner = shape_of({**others[0], **outer}, root, _depth + 1)
        return _nullable(inner, len(others) < len(variants))
    if isinstance(node.get("type"), list):
        types = [t for t in node["type"] if t != "null"]
        if len(types) != 1:
            raise UnsupportedSchema("unions of several types (only Optional[X] is supported)")
        return _nullable(shape_of({**node, "type": types[0]}, root, _depth + 1), True)
    if "const" in node or "enum" in node:
        options = (node["const"],) if "const" in node else tuple(node["enum"])
        if not options or not all(
            isinstance(o, (str, int)) and not isinstance(o, bool) for o in options
        ):
            raise UnsupportedSchema("choices other than text or whole numbers")
        return Shape("choice", node, options=options)
    kind = kind_for(node)
    if kind is not None:
        return Shape("scalar", node, kind)
    if node.get("type") == "string":
        raise UnsupportedSchema(f"text of format {node.get('format')!r} (e.g. bytes)")
    if node.get("type") == "array":
        items = shape_of(node.get("items", {}), root, _depth + 1)
        if items.structure != "choice" or items.nullable or "prefixItems" in node:
            raise UnsupportedSchema("lists other than list[...] or set[...] of choices")
        return Shape("multi", node, options=items.options)
    if node.get("type") == "object":
        return _object_shape(node, root, _depth)
    raise UnsupportedSchema("values of any type (give the answer a concrete type)")


def _nullable(shape: Shape, nullable: bool) -> Shape:
    return Shape(shape.structure, shape.schema, shape.kind, nullable, shape.options, shape.fields)


def _object_shape(node: dict[str, Any], root: dict[str, Any], depth: int) -> Shape:
    properties = node.get("properties")
    if not isinstance(properties, dict) or not properties:
        raise UnsupportedSchema("dicts and objects without declared fields (e.g. dict[str, Any])")
    if isinstance(node.get("additionalProperties"), dict):
        raise UnsupportedSchema("objects with extra fields of their own type")
    required = set(node.get("required", ()))
    fields = tuple(
        (name, shape_of(sub, root, depth + 1), name in required) for name, sub in properties.items()
    )
    return Shape("object", node, fields=fields)


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """`node` with a local `$ref` (or a one-item `allOf`) replaced by its target."""
    for _ in range(MAX_DEPTH):
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1:
            node = {**all_of[0], **{k: v for k, v in node.items() if k != "allOf"}}
        ref = node.get("$ref")
        if ref is None:
            return node
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            raise UnsupportedSchema(f"references outside the schema ({ref!r})")
        target = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"))
        if not isinstance(target, dict):
            raise UnsupportedSchema(f"a reference to a missing definition ({ref!r})")
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    raise UnsupportedSchema("references that do not end")
