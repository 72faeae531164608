"""How `hitl` describes itself: what each option takes, in words, and examples per command.

Typer shows the Python annotation of every parameter (`<str>`, `<bool>`). `HelpGroup`
replaces that with what a person types: nothing for a flag, the option's own metavar
(`URL`, `SECONDS`) where one is given, else the kind of value (`TEXT`, `INTEGER`, `NUMBER`,
`PATH`, or the choices). An argument's name (`ID`, `VALUE`) says it all: no kind is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

__all__ = ["HelpGroup", "examples"]

_KINDS = {"text": "TEXT", "integer": "INTEGER", "float": "NUMBER", "path": "PATH"}
_ANNOTATIONS: tuple[tuple[type, str], ...] = (
    (bool, "BOOLEAN"),
    (int, "INTEGER"),
    (float, "NUMBER"),
    (PurePath, "PATH"),
)


class HelpGroup(TyperGroup):
    """A command group whose help, and its commands' help, name values as people do."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _name_values(params)
        return params

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if isinstance(command, TyperCommand):
            _name_values(command.get_params(ctx))
        return command


def examples(*lines: str) -> str:
    """A command's epilog: its examples, one command line each."""
    return "Examples:\n\n" + "\n".join(f"  {escape(line)}" for line in lines)


def _name_values(params: Iterable[Any]) -> None:
    for param in params:
        if isinstance(param, TyperArgument) and not isinstance(param, _Argument):
            param.__class__ = _Argument
        elif isinstance(param, TyperOption) and param.metavar is None:
            param.metavar = "" if param.is_flag else _kind(param)


def _kind(option: TyperOption) -> str:
    # Typer describes an option by its annotation (`type_descriptor`); older releases by
    # a click type (`type`). Either way the choices, else the kind of value, are shown.
    described = getattr(option, "type_descriptor", None)
    kind = getattr(option, "type", None)
    choices = getattr(described, "choices", None) or getattr(kind, "choices", None)
    if choices:
        return "|".join(str(choice) for choice in choices)
    annotation = getattr(described, "annotation", None)
    for base, name in _ANNOTATIONS:
        if isinstance(annotation, type) and issubclass(annotation, base):
            return name
    return _KINDS.get(str(getattr(kind, "name", "text")), "TEXT")


class _Argument(TyperArgument):
    """An argument whose name is its description: no type column."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None
