"""The options of `new_event`, defined once: names, order, defaults, docs and checks.

`new_event`, `Event.create` and the Flyte drop-in spell their parameters out, so that
`help()`, `inspect.signature`, IDEs and mypy see them; `tests/unit/test_options.py`
holds each of those signatures, and the README's table, to `OPTIONS`. The docstring
of `Event.create` lists `OPTIONS` (`documented`), and a call that passes them on
gathers them with `given(locals())`, so a new option is one row here plus one
parameter in each signature, which the test asks for.

```python
[option.name for option in OPTIONS if option.keyword_only][:2]   # ['default', 'initial']
```
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar

__all__ = [
    "NOT_GIVEN",
    "OPTIONS",
    "REQUIRED",
    "Option",
    "PromptType",
    "check_assignees",
    "check_options",
    "documented",
    "given",
    "options_doc",
    "readme_heading",
    "readme_table",
]

F = TypeVar("F", bound=Callable[..., Any])

MAX_NAME_LENGTH = 200
MAX_SECONDS = 10 * 366 * 24 * 3600
"""The longest timeout or poll interval: ten years (a deadline further off is a mistake)."""
MAX_PROMPT_LENGTH = 20_000
MAX_ASSIGNEES = 100
MAX_IDENTITY_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 5_000
MAX_REASON_LENGTH = 1000
"""The longest reason a cancel records."""

PromptType = Literal["text", "markdown"]
"""How a prompt is shown: as plain text, or as Markdown (tables, code, links; no raw HTML)."""


class _NotGiven(enum.Enum):
    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = _NotGiven.NOT_GIVEN
"""Marks an option that was not given, where `None` is a meaningful value."""


class _Required(enum.Enum):
    REQUIRED = "REQUIRED"


REQUIRED: Final = _Required.REQUIRED
"""The default of an option that has none: the caller must pass it."""


@dataclass(frozen=True)
class Option:
    """One parameter of `new_event`.

    - `default`: the Python default (`REQUIRED` when there is none);
    - `shown_default`: the default as the README states it (environment variables and all);
    - `doc`: what it means, in Markdown, for the README's table and the docstring.
    """

    name: str
    default: object
    keyword_only: bool
    shown_default: str
    doc: str


OPTIONS: Final[tuple[Option, ...]] = (
    Option("name", REQUIRED, False, "—", "the event's name, unique within its run"),
    Option(
        "data_type",
        REQUIRED,
        False,
        "—",
        "`int`, `float`, `str`, `bool`, or a richer type (see [Answer types](#answer-types)); "
        "answers are validated against it on the server",
    ),
    Option("scope", "run", False, '`"run"`', 'where the name is unique: `"run"` only'),
    Option(
        "prompt",
        "Please provide a value",
        False,
        '`"Please provide a value"`',
        "the question shown",
    ),
    Option(
        "timeout_seconds",
        3600,
        False,
        "3600",
        "the deadline, fixed when the event is first created; a restart does not extend it",
    ),
    Option(
        "poll_interval_seconds",
        5,
        False,
        "5",
        "how often to check storage where it cannot notify (the local folder notifies)",
    ),
    Option(
        "default",
        NOT_GIVEN,
        True,
        "none",
        "returned by `wait()` at the deadline instead of raising `EventTimeoutError`; recorded "
        "when the event is first created (a restart's default does not change it)",
    ),
    Option(
        "initial", None, True, "none", "pre-fills the form: a value, a dict, or a partial model"
    ),
    Option("description", None, True, "none", "help text shown with the answer's fields"),
    Option(
        "prompt_type",
        "text",
        True,
        '`"text"`',
        '`"markdown"` renders the prompt as Markdown (tables, code, links; never raw HTML)',
    ),
    Option(
        "run_id",
        None,
        True,
        "`HITL_RUN_ID`, else one per process",
        "the run that scopes event names",
    ),
    Option(
        "store",
        None,
        True,
        "`HITL_STORE`, else `store` in the configuration file, else the nearest `.hitl` up",
        "a `Store`, a folder, `file://…` or `memory://name`",
    ),
    Option(
        "endpoint",
        None,
        True,
        "`HITL_ENDPOINT`, else `http://127.0.0.1:8080`",
        "where the web app answers",
    ),
    Option(
        "serve",
        None,
        True,
        "`HITL_AUTOSTART`, else on (off for an in-memory store)",
        "start the web app in this process if none answers",
    ),
    Option(
        "assignees",
        None,
        True,
        "anyone",
        "identities that may answer (token names, link identities, user names); others get "
        "`NotAssignedError` (HTTP 403)",
    ),
    Option(
        "notify",
        None,
        True,
        "`HITL_NOTIFY`, else none",
        "Apprise URLs told when the event opens (see [Notifications](#notifications)); "
        "`[]` tells nobody",
    ),
    Option(
        "remind_before",
        None,
        True,
        "`HITL_REMIND_BEFORE`, else none",
        "seconds before the deadline to remind the same URLs, once, if the event is still open",
    ),
    Option(
        "policy",
        None,
        True,
        "none: the first answer allowed decides",
        "how the event is decided: a `Quorum`, or a `Policy` (separation of duties, "
        "escalation, delegation, standing approvals; see [Policies](#policies))",
    ),
    Option(
        "requested_by",
        None,
        True,
        "`HITL_USER`, else the login name",
        "the identity that asks, recorded with the event; separation of duties keeps it "
        "from answering",
    ),
)


def given(scope: Mapping[str, Any]) -> dict[str, Any]:
    """Every option's value in `scope` (a call's `locals()`), in order, to pass on by name."""
    return {option.name: scope[option.name] for option in OPTIONS}


def _shown(value: object) -> str:
    if value is NOT_GIVEN:
        return "..."
    return f'"{value}"' if isinstance(value, str) else repr(value)


def readme_heading(result: str = "Event[T]") -> str:
    """The README's heading for `new_event`: its signature, as the README writes it."""
    parts: list[str] = []
    for option in OPTIONS:
        if option.keyword_only and "*" not in parts:
            parts.append("*")
        given_default = "" if option.default is REQUIRED else f"={_shown(option.default)}"
        parts.append(option.name + given_default)
    return f"### `new_event({', '.join(parts)}) -> {result}`"


def readme_table() -> list[str]:
    """The README's table of options, one line per row (header included)."""
    rows = ["| option | default | meaning |", "|---|---|---|"]
    for option in OPTIONS:
        name = f"`{option.name}=`" if option.keyword_only else f"`{option.name}`"
        rows.append(f"| {name} | {option.shown_default} | {option.doc} |")
    return rows


def options_doc(indent: str = "") -> str:
    """One Markdown bullet per option, for a docstring; lines after the first get `indent`."""
    lines = []
    for option in OPTIONS:
        default = "" if option.default is REQUIRED else f" Default: {option.shown_default}."
        lines.append(f"- `{option.name}`: {option.doc}.{default}")
    return f"\n{indent}".join(lines)


def documented(fn: F) -> F:
    """Fill the `{options}` mark in `fn`'s (method-indented) docstring with `options_doc()`."""
    fn.__doc__ = (fn.__doc__ or "").replace("{options}", options_doc(" " * 8))
    return fn


def check_options(
    name: object,
    scope: object,
    prompt: object,
    timeout_seconds: object,
    poll_interval_seconds: object,
    description: object,
    prompt_type: object,
) -> None:
    """Raise `ValueError` naming the first option that is out of its range."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"name must be non-empty text of at most {MAX_NAME_LENGTH} characters")
    if scope != "run":
        raise ValueError(f'scope must be "run", got {scope!r}')
    if not isinstance(prompt, str) or len(prompt) > MAX_PROMPT_LENGTH:
        raise ValueError(f"prompt must be text of at most {MAX_PROMPT_LENGTH} characters")
    for option, value in (
        ("timeout_seconds", timeout_seconds),
        ("poll_interval_seconds", poll_interval_seconds),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{option} must be a positive number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{option} must be finite, got {value!r}")
        if value > MAX_SECONDS:
            raise ValueError(
                f"{option} must be at most {MAX_SECONDS} seconds (ten years), got {value!r}"
            )
    if description is not None and (
        not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH
    ):
        raise ValueError(f"description must be text of at most {MAX_DESCRIPTION_LENGTH} characters")
    if prompt_type not in ("text", "markdown"):
        raise ValueError(f'prompt_type must be "text" or "markdown", got {prompt_type!r}')


def check_assignees(assignees: Sequence[str] | None) -> tuple[str, ...] | None:
    """The assignees without repeats, or `None` for anyone; raises on a bad list."""
    if assignees is None:
        return None
    if isinstance(assignees, str):
        raise TypeError("assignees must be a list of identities, not one string")
    chosen = tuple(dict.fromkeys(assignees))
    if not chosen or len(chosen) > MAX_ASSIGNEES:
        raise ValueError(f"assignees must name 1 to {MAX_ASSIGNEES} identities")
    for who in chosen:
        if not isinstance(who, str) or not who.strip() or len(who) > MAX_IDENTITY_LENGTH:
            raise ValueError(
                f"each assignee must be non-empty text of at most {MAX_IDENTITY_LENGTH} "
                f"characters, got {who!r}"
            )
    return chosen
