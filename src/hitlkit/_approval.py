"""Approvals: ask a person whether a call may run, before it runs.

An approval is an event whose answer is an `Approval`: a yes or no, and an optional
reason that the caller sees when the answer is no. The decorator and the agent
adapters (`hitlkit.contrib`) ask through `ask_approval`:

```python
@hitlkit.require_approval(assignees=["ana"])
def send_email(to: str, subject: str, body: str) -> None: ...

send_email("team@example.com", "Release", "...")  # asks ana first; a "no" raises
```

Each distinct call asks once: the event is named after the action and a hash of the
call's arguments, so a retried identical call (in the same run) finds its answer.
The arguments are shown through `show_args`, by default `redact`, which hides what
looks secret and shortens long values: the prompt is read by people, and kept.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import inspect
import json
import re
import secrets
import sys
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast, overload

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticSerializationError, to_jsonable_python

from hitlkit import _config
from hitlkit._event import Event
from hitlkit._exceptions import EventCancelledError, EventTimeoutError, HitlError
from hitlkit._options import MAX_NAME_LENGTH, NOT_GIVEN, _NotGiven
from hitlkit._policy import Policy, Quorum
from hitlkit._printable import printable
from hitlkit._records import Outcome
from hitlkit._shell import hitl_command
from hitlkit._store import Store, open_store
from hitlkit._sync import syncify
from hitlkit._values import canonical_json

__all__ = [
    "Approval",
    "ApprovalRejected",
    "ApprovalTimeout",
    "ArgumentsView",
    "approval_name",
    "approval_prompt",
    "ask_approval",
    "check_approval",
    "redact",
    "require_approval",
    "wait_for_approval",
]

F = TypeVar("F", bound=Callable[..., Any])

ArgumentsView = Callable[[Mapping[str, Any]], Mapping[str, Any]]
"""What a person is shown of a call's arguments (a `show_args` hook)."""

REDACTED = "[redacted]"
SHOWN_CHARACTERS = 200
"""How much of one argument's value `redact` shows."""
SCANNED_BEYOND = 200
"""How far past what it shows `redact` looks for credentials: one cut in two shows no half."""
MAX_REASON_LENGTH = 2000

_SECRET_WORDS = frozenset(
    {
        "apikey",
        "auth",
        "authorization",
        "card",
        "cookie",
        "credential",
        "credentials",
        "creds",
        "cvc",
        "cvv",
        "iban",
        "otp",
        "pan",
        "pass",
        "passcode",
        "passphrase",
        "passwd",
        "password",
        "pin",
        "privkey",
        "pw",
        "pwd",
        "secret",
        "sas",
        "session",
        "ssn",
        "token",
    }
)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_SECRET_TEXT = re.compile(
    # An Authorization header's value: a token has digits or signs, a word has none.
    r"(?i)\b(bearer|basic|token)\s+(?=[\w.~+/=-]*[\d.~+/=-])[\w.~+/=-]{8,}"
    r"|\b(sk|rk|pk)_(live|test)_\w+"  # payment provider keys
    r"|\bsk-(proj-)?[\w-]{20,}"  # OpenAI
    r"|\bAKIA[0-9A-Z]{16}\b"  # AWS access key ids
    r"|\b(ghp|gho|ghs|ghu|ghr)_\w{20,}|\bgithub_pat_\w+|\bglpat-[\w-]{20,}"  # GitHub, GitLab
    r"|\bxox[abprs]-[\w-]+|hooks\.slack\.com/services/[\w/]+"  # Slack
    r"|\bAIza[\w-]{30,}|\bASIA[0-9A-Z]{16}\b|\bSG\.[\w-]{16,}\.[\w-]{16,}"  # Google, AWS, SendGrid
    r"|\b(npm_|pypi-|whsec_)[\w-]{16,}"  # npm, PyPI, Stripe webhooks
    r"|\bhitl_[\w-]{20,}"  # hitlkit's own API tokens
    r"|\beyJ[\w-]+\.eyJ[\w-]+\.[\w-]*"  # a JSON Web Token
    r"|-----BEGIN [A-Z ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?"
    r"(-----END [A-Z ]*PRIVATE KEY( BLOCK)?-----|$)"
)
"""Credentials by their look, wherever they stand in a text (`redact` hides each)."""
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:token|access_token|api_key|apikey|key|secret|client_secret|password|pwd|auth"
    r"|sig|signature|x-amz-signature|x-amz-credential)=)[^&#\s]+"
)
_SECRET_ASSIGNED = re.compile(
    r"(?i)((?:^|[\s;,{\"'])-{0,2}[\w-]*(?:password|passwd|pwd|secret|token|api_?key)[\"']?"
    r"\s*[=:]\s*[\"']?)[^\s;,\"'&]+"
)
"""A value given a secret-sounding name inside text: `PASSWORD=x`, `Password=x;` of a
connection string, `"password": "x"` of JSON in a string, `--token=x`."""


class Approval(BaseModel):
    """A person's decision on whether an action may run: the answer to every approval."""

    # The form shows the schema's description: words for the person deciding.
    model_config = ConfigDict(
        title="Approval",
        extra="forbid",
        json_schema_extra={"description": "Decide whether it may run."},
    )

    approved: bool = Field(
        title="Approve", description="Tick to let it run; leave it unticked to reject it."
    )
    reason: str | None = Field(
        default=None,
        title="Reason",
        description="Optional: why, shown to the caller (most useful with a rejection).",
        max_length=MAX_REASON_LENGTH,
    )


class ApprovalRejected(HitlError):
    """The person said no, or the approval was cancelled: the action did not run.

    `reason` is the person's (or the canceller's) text, `by` who decided, `outcome`
    the recorded outcome (`None` when a default decided).
    """

    def __init__(
        self,
        message: str,
        *,
        request_id: str,
        reason: str | None = None,
        by: str | None = None,
        outcome: Outcome | None = None,
    ) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.reason = reason
        self.by = by
        self.outcome = outcome


class ApprovalTimeout(ApprovalRejected, TimeoutError):
    """Nobody answered before the deadline, and no default was given."""


_URL_PASSWORD = re.compile(r"(?<![a-zA-Z0-9+.-])([a-zA-Z][a-zA-Z0-9+.-]{0,31}://[^/\s:@]*:)\S*@")
"""The password of a URL (`postgres://app:PASSWORD@db/x`), which `redact` hides."""

_KEY_KINDS = frozenset(
    {
        "access",
        "api",
        "auth",
        "client",
        "encryption",
        "hmac",
        "license",
        "master",
        "private",
        "secret",
        "signing",
        "ssh",
    }
)
"""Words that make a `key` secret: `api_key`, `privateKey`; a bare `key` (a dictionary's,
an object's in a bucket) is what the approver needs to see."""


def looks_secret(name: str) -> bool:
    """Whether an argument's name says its value is secret: `api_key`, `password`,
    `authToken`, `client_secret`... (words of snake, kebab and camel case)."""
    words = {word.lower() for word in _WORD.findall(name)}
    if words & _SECRET_WORDS:
        return True
    lowered = name.lower()
    return ("key" in words and bool(words & _KEY_KINDS)) or any(
        f"{kind}key" in lowered for kind in ("api", "private", "secret", "access")
    )


def redact(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The default `show_args`: values under names that look secret are hidden (at
    any depth), and so is text that looks like a credential (`Bearer ...`, a JSON Web
    Token, `sk_live_...`, a private key); long values are shortened, and values that
    are not JSON are shown by their type name.

    ```python
    redact({"to": "ana@example.com", "api_key": "sk-..."})
    # {"to": "ana@example.com", "api_key": "[redacted]"}
    ```
    """
    return {
        str(name): _shown(str(name), value, SHOWN_CHARACTERS) for name, value in arguments.items()
    }


def _hidden(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """`redact` without shortening: what names a call (two long values that differ
    after the shown part are two calls)."""
    return {str(name): _shown(str(name), value, None) for name, value in arguments.items()}


def _shown(name: str, value: Any, limit: int | None) -> Any:
    if looks_secret(name):
        return REDACTED
    data = _json(value)
    if isinstance(data, str):
        if limit is not None and len(data) > limit + SCANNED_BEYOND:
            data = data[: limit + SCANNED_BEYOND]  # what is shown, and what could straddle it
        data = _hide_credentials(data)
    if isinstance(data, dict):
        return {_hide_credentials(str(k)): _shown(str(k), v, limit) for k, v in data.items()}
    if isinstance(data, list):
        return [_shown("", item, limit) for item in data]
    if limit is not None and isinstance(data, str) and len(data) > limit:
        return data[:limit] + f"... ({len(data) - limit} more characters)"
    return data


def _hide_credentials(text: str) -> str:
    """`text` with each credential it holds replaced by `[redacted]`."""
    text = _SECRET_TEXT.sub(REDACTED, text)
    text = _SECRET_ASSIGNED.sub(r"\1" + REDACTED, text)
    text = _URL_PASSWORD.sub(r"\1" + REDACTED + "@", text)
    return _SECRET_QUERY.sub(r"\1" + REDACTED, text)


def _instance(value: Any) -> Any:
    """What a method's `self` shows of itself: its data, or nothing for a plain object
    without public attributes (or a class)."""
    if isinstance(value, type):
        return None
    data = _json(value)
    if isinstance(data, str) and data == f"<{type(value).__name__}>":
        public = {k: v for k, v in getattr(value, "__dict__", {}).items() if not k.startswith("_")}
        return _json(public) if public else None
    return data


def _json(value: Any) -> Any:
    try:
        return to_jsonable_python(value)
    except (PydanticSerializationError, ValueError):  # an object; bytes that are not text
        return f"<{type(value).__name__}>"


def _told_apart(value: Any) -> Any:
    """`value` as JSON for an approval's name; one that is not JSON (a client, a
    connection) by which object it is, so that it never makes two calls one."""
    data = _json(value)
    if data == f"<{type(value).__name__}>" and not isinstance(value, str):
        return f"<{type(value).__name__} {id(value):#x}>"
    return data


def approval_name(
    action: str,
    arguments: Mapping[str, Any],
    show_args: ArgumentsView = redact,
    *,
    call_id: str | None = None,
    key: bytes | None = None,
) -> str:
    """The name of the approval of one call: `action`, then a hash of the arguments
    as shown (secrets hidden, so the name tells nothing of them); with `key` (the
    store's, as `ask_approval` gives), an HMAC of all the arguments as they are, so
    calls that differ only in a hidden value are told apart, and the name still tells
    nothing of it.

    `call_id` (a framework's tool call id) goes between them, `refund:call_8f2c:<hash>`:
    calls are told apart by their id, and an id used again (some models number their
    calls) with other arguments still gets a question of its own.
    """
    if key is not None:  # every value counts, hidden ones too; the key keeps them unguessable
        data = canonical_json({str(k): _told_apart(v) for k, v in arguments.items()}).encode()
        digest = hmac.new(key, data, hashlib.sha256).hexdigest()[:16]
    else:
        shown = _hidden(arguments) if show_args is redact else show_args(arguments)
        digest = hashlib.sha256(canonical_json(_json(shown)).encode()).hexdigest()[:16]
    head = action if call_id is None else f"{action}:{call_id}"
    return f"{head[: MAX_NAME_LENGTH - len(digest) - 1]}:{digest}"


def approval_prompt(
    action: str,
    arguments: Mapping[str, Any],
    prompt: str | None = None,
    show_args: ArgumentsView = redact,
) -> str:
    """The question in markdown: `prompt` (default "May `action` run?"), then the
    arguments as shown, in a code block that their text cannot close."""
    question = prompt if prompt is not None else f"May `{_code_text(action)}` run?"
    shown = show_args(arguments)
    if not shown:
        return question
    body = canonical_json(_json(shown)) if len(shown) == 1 else _pretty(_json(shown))
    fence = "`" * max(3, _longest_backtick_run(body) + 1)
    return f"{question}\n\nWith these arguments:\n\n{fence}json\n{body}\n{fence}"


def _pretty(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False)


def _code_text(text: str) -> str:
    return text.replace("`", "'").replace("\n", " ")


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


NAME_KEY = "keys/approval-names"
"""Where a store keeps the key that approvals' names are made with (`name_key`)."""


_name_keys: weakref.WeakKeyDictionary[Store, bytes] = weakref.WeakKeyDictionary()
"""Each store's key, once read: it never changes, so a call reads it once per store."""


async def name_key(store: Store) -> bytes:
    """The store's key for approvals' names, made once (the first writer's is kept), so
    every process names the same call alike and a restarted one finds its approval."""
    known = _name_keys.get(store)
    if known is not None:
        return known
    found = await store.get_async(NAME_KEY)
    if found is None:
        await store.put_if_absent_async(NAME_KEY, secrets.token_hex(32).encode())
        found = await store.get_async(NAME_KEY)
    if not found:
        raise HitlError(
            f"the store {store.url} holds an empty key at {NAME_KEY}; delete it, and the "
            "next approval makes a new one (approvals asked before are then asked again)"
        )
    _name_keys[store] = found
    return found


@syncify
async def ask_approval(
    action: str,
    arguments: Mapping[str, Any] | None = None,
    *,
    prompt: str | None = None,
    show_args: ArgumentsView = redact,
    assignees: Sequence[str] | None = None,
    timeout_seconds: float = 3600,
    default: bool | _NotGiven = NOT_GIVEN,
    name: str | None = None,
    run_id: str | None = None,
    store: Store | str | None = None,
    notify: Sequence[str] | None = None,
    serve: bool | None = None,
    endpoint: str | None = None,
    policy: Policy | Quorum | None = None,
    requested_by: str | None = None,
) -> Event[Approval]:
    """Ask whether `action` may run with `arguments`; returns the event, without waiting.

    Asking again with the same action and arguments in the same run finds the same
    event (after a restart too, given the same `run_id`). `default` (a bool) is the
    decision when nobody answers in time; without one, the deadline rejects with
    `ApprovalTimeout`. `name` replaces the name made from the action and arguments.
    `policy` decides it as for `new_event` (two of three must approve, ...).

    ```python
    event = hitlkit.ask_approval("deploy", {"service": "api", "version": "2.1"})
    print(event.form_url)
    hitlkit.wait_for_approval(event)  # returns when approved, else raises
    ```
    """
    given = dict(arguments or {})
    the_store = open_store(store if store is not None else _config.default_store_url())
    if name is None:
        name = approval_name(action, given, show_args, key=await name_key(the_store))
    return await Event.create.aio(
        name,
        Approval,
        prompt=approval_prompt(action, given, prompt, show_args),
        prompt_type="markdown",
        timeout_seconds=timeout_seconds,
        default=NOT_GIVEN if isinstance(default, _NotGiven) else Approval(approved=default),
        run_id=run_id,
        store=the_store,
        endpoint=endpoint,
        serve=serve,
        assignees=assignees,
        notify=notify,
        policy=policy,
        requested_by=requested_by,
    )


def check_approval(event: Event[Approval], outcome: Outcome) -> Approval:
    """The approval in `outcome` when it says yes; raises `ApprovalRejected` for a no
    or a cancellation, `ApprovalTimeout` for a deadline that passed with no default."""
    if outcome.status == "timed_out":
        raise ApprovalTimeout(
            f"nobody approved {event.name!r} within {event.timeout_seconds:g} seconds",
            request_id=event.request_id,
            by=outcome.by,
            outcome=outcome,
        )
    if outcome.status == "cancelled":
        raise ApprovalRejected(
            f"the approval of {event.name!r} was cancelled{_because(outcome.reason)}",
            request_id=event.request_id,
            reason=outcome.reason,
            by=outcome.by,
            outcome=outcome,
        )
    approval = Approval.model_validate(outcome.value)
    if not approval.approved:
        said = "" if outcome.status == "answered" else " (by default, at the deadline)"
        who = f" by {printable(outcome.by)}" if outcome.status == "answered" and outcome.by else ""
        raise ApprovalRejected(
            f"{event.name!r} was rejected{said}{who}{_because(approval.reason)}",
            request_id=event.request_id,
            reason=approval.reason,
            by=outcome.by,
            outcome=outcome,
        )
    return approval


def tell_where(event: Event[Approval]) -> None:
    """Say on stderr where the approval is answered: its form, and the command."""
    command = f"{hitl_command()} answer {event.request_id} yes"
    line = f"hitlkit: {event.name} waits for approval at {event.form_url} (or: {command})"
    print(printable(line), file=sys.stderr, flush=True)


def _because(reason: str | None) -> str:
    # The reason is anyone's text: an uncaught error prints it on a terminal.
    return f": {printable(reason)}" if reason else ""


@syncify
async def wait_for_approval(event: Event[Approval]) -> Approval:
    """Wait for `event`'s decision: the `Approval` when yes; raises as `check_approval`
    when no. `await wait_for_approval.aio(event)` is the async form."""
    with contextlib.suppress(EventTimeoutError, EventCancelledError):
        await event.wait.aio()
    outcome = await event.outcome.aio()
    assert outcome is not None  # wait() returned or raised: the event is resolved
    return check_approval(event, outcome)


@overload
def require_approval(prompt: F, /) -> F: ...


@overload
def require_approval(
    prompt: str | None = None,
    *,
    assignees: Sequence[str] | None = None,
    timeout_seconds: float = 3600,
    show_args: ArgumentsView = redact,
    default: bool | _NotGiven = NOT_GIVEN,
    run_id: str | None = None,
    store: Store | str | None = None,
    notify: Sequence[str] | None = None,
    on_ask: Callable[[Event[Approval]], object] | None = None,
    policy: Policy | Quorum | None = None,
) -> Callable[[F], F]: ...


def require_approval(
    prompt: str | F | None = None,
    *,
    assignees: Sequence[str] | None = None,
    timeout_seconds: float = 3600,
    show_args: ArgumentsView = redact,
    default: bool | _NotGiven = NOT_GIVEN,
    run_id: str | None = None,
    store: Store | str | None = None,
    notify: Sequence[str] | None = None,
    on_ask: Callable[[Event[Approval]], object] | None = None,
    policy: Policy | Quorum | None = None,
) -> F | Callable[[F], F]:
    """Ask a person before each call of the decorated function (sync or async).

    The call runs once approved. A no raises `ApprovalRejected` with the person's
    reason; no answer by the deadline raises `ApprovalTimeout`, unless `default`
    (a bool) decides. The prompt shows the call's arguments through `show_args`
    (default `redact`); `self` and `cls` are left out. `on_ask(event)` is called when
    a call waits for a person (not for an answer found again); by default one line on
    stderr says where to answer. `policy` decides each call's approval (see `new_event`).

    ```python
    @hitlkit.require_approval("Send this email?", assignees=["ana"], timeout_seconds=600)
    async def send_email(to: str, body: str, smtp_password: str) -> None: ...
    ```
    """
    if callable(prompt):
        return require_approval()(prompt)
    options: dict[str, Any] = {
        "prompt": prompt,
        "assignees": assignees,
        "timeout_seconds": timeout_seconds,
        "show_args": show_args,
        "default": default,
        "run_id": run_id,
        "store": store,
        "notify": notify,
        "policy": policy,
    }

    def decorate(func: F) -> F:
        action = f"{func.__module__}.{func.__qualname__}"
        signature = inspect.signature(func)

        def arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            given = dict(bound.arguments)
            first = next(iter(signature.parameters), None)
            if first in ("self", "cls"):
                # The instance is part of the call when it has data to show (a dataclass,
                # a model, public attributes): which account a withdrawal is from.
                instance = given.pop(first)
                # One with nothing to show is told apart by which object it is: a
                # restarted program asks again rather than reuse another's approval.
                shown = _instance(instance) or f"<{type(instance).__name__} {id(instance):#x}>"
                given = {first: shown, **given}
            return given

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def approved_async(*args: Any, **kwargs: Any) -> Any:
                event = await ask_approval.aio(action, arguments(args, kwargs), **options)
                if await event.outcome.aio() is None:
                    (on_ask or tell_where)(event)
                await wait_for_approval.aio(event)
                return await func(*args, **kwargs)

            return cast(F, approved_async)

        @functools.wraps(func)
        def approved(*args: Any, **kwargs: Any) -> Any:
            event = ask_approval(action, arguments(args, kwargs), **options)
            if event.outcome() is None:
                (on_ask or tell_where)(event)
            wait_for_approval(event)
            return func(*args, **kwargs)

        return cast(F, approved)

    return decorate
