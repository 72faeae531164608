"""`hitl answer ID` without a value: ask for the answer on the terminal.

The questions come from the same field tree as the web form (`hitlkit._values._forms`):
choices are listed and picked by number or value, models are asked field by
field (int, float, str and bool in one line), and what a person typed is read
back with `ValueAdapter.parse_form`, by the same rules as every other answer.
Fields with errors are asked again. Works with piped input, one answer per line.
Labels, descriptions and values come from the event: they are printed with
control characters escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hitlkit._cli_render import printable
from hitlkit._exceptions import FieldError, InvalidValueError
from hitlkit._reading import EventInfo
from hitlkit._values import FormField, ValueAdapter, adapter_of, error_names

__all__ = ["Asker", "NoMoreInput"]


class NoMoreInput(Exception):
    """The input ended before the answer was complete."""


class Asker:
    """Asks for an event's answer with `read` (one line, `None` at the end) and `write`."""

    def __init__(self, read: Callable[[], str | None], write: Callable[[str], None]) -> None:
        self._read = read
        self._write = write

    def ask(self, event: EventInfo) -> Any:
        """The answer to `event`, as the JSON to record.

        An int, float, str or bool is one line, read by the caller's loop (an
        `InvalidValueError` says what was wrong); other types are asked field by
        field until they fit.
        """
        adapter = adapter_of(event)
        if adapter.plain:
            return adapter.parse_form(
                {"value": [self._line(f"Your answer ({adapter.expected}): ")]}
            )
        return self._ask_fields(adapter, event.initial)

    def _ask_fields(self, adapter: ValueAdapter[Any], initial: Any) -> Any:
        posted: dict[str, list[str]] = {}
        fields = adapter.form(data=initial)
        pending = _leaves(fields)
        while True:
            for leaf in pending:
                posted[leaf.name] = self._ask(leaf)
            try:
                return adapter.parse_form(posted)
            except InvalidValueError as exc:
                pending = self.show_errors(fields, exc.errors)
            fields = adapter.form(data=initial, posted=posted)
            pending = [f for f in _leaves(fields) if f.name in {p.name for p in pending}]

    def show_errors(self, fields: FormField, errors: list[FieldError]) -> list[FormField]:
        """Print each error with its field's label; return the fields to ask again."""
        named = error_names(errors)
        labels = {f.name: f.label for f in fields.walk()}
        for name, message in named.items():
            self._write(f"  ! {printable(labels.get(name, name))}: {printable(message)}\n")
        leaves = _leaves(fields)
        again = [f for f in leaves if any(_inside(f.name, n) for n in named)]
        return again or leaves

    def _ask(self, field: FormField) -> list[str]:
        label = printable(field.label)
        if field.description:
            self._write(f"  {printable(field.description, multiline=True)}\n")
        if field.kind == "checkbox":
            current = "Y/n" if field.checked else "y/N"
            text = self._line(f"{label}? [{current}]: ").strip().lower()
            if not text:
                return ["true"] if field.checked else []
            return ["true"] if text in ("y", "yes", "true", "1", "on") else []
        if field.options:
            return self._ask_options(field)
        suffix = f" ({printable(field.hint)})" if field.hint else ""
        shown = f" [{printable(field.value)}]" if field.value else ""
        text = self._line(f"{label}{suffix}{shown}: ")
        return [text if text.strip() else field.value]

    def _ask_options(self, field: FormField) -> list[str]:
        options = [o for o in field.options if o.value or not field.required]
        for number, option in enumerate(options, 1):
            self._write(f"  {number}) {printable(option.label)}\n")
        several = field.kind == "checkboxes"
        chosen = [o.value for o in options if o.checked]
        how = "numbers or values, separated by commas" if several else "number or value"
        current = f" [{', '.join(printable(v) or '(none)' for v in chosen)}]" if chosen else ""
        text = self._line(f"{printable(field.label)} ({how}){current}: ").strip()
        if not text:
            return chosen
        picks = [t.strip() for t in text.split(",")] if several else [text]
        by_value = {o.value for o in options}
        return [
            options[int(p) - 1].value
            if p not in by_value and p.isdigit() and 1 <= int(p) <= len(options)
            else p
            for p in picks
        ]

    def _line(self, prompt: str) -> str:
        self._write(prompt)
        line = self._read()
        if line is None:
            self._write("\n")
            raise NoMoreInput("the input ended before the answer was complete")
        return line.rstrip("\r\n")


def _leaves(fields: FormField) -> list[FormField]:
    return [f for f in fields.walk() if f.kind != "fieldset"]


def _inside(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")
