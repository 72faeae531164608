"""What `hitl mcp`'s tools do, apart from MCP: ask, read, list and cancel questions.

A `Desk` holds the server's policy and its store. The model calling the tools is
not trusted, so the policy, not the model, decides:

- which runs it sees: each question lives in the run `<name>.<run>` (`name` is the
  server's, `HITL_MCP_NAME`, default `mcp`), and `get_answer`, `list_pending` and
  `cancel_request` see only those runs and the ones configured (`HITL_MCP_RUNS`);
- who may answer: the configured approvers (`HITL_APPROVERS`) by default, and the
  model may narrow them, never name others;
- whether the client may answer: a waiting call asks in the client too (elicitation),
  recorded as `HITL_USER`, unless `hitl mcp --no-elicit` (`HITL_MCP_ELICIT=0`);
- who is told: `notify` takes aliases of targets configured in the environment
  (`HITL_NOTIFY_TARGETS="ops=slack://... mail=mailtos://..."`), never URLs;
- how it is decided: `policy` (a quorum, separation of duties, escalation steps,
  delegation, a grant scope) names only approvers and takes no URLs, and the question
  is asked on behalf of the caller: the identity of its API token over HTTP, else
  `HITL_USER`; a standing approval (`grant_scope`) stands for the same question only.

Results are plain JSON: `{"request_id", "status", "form_url", "expires_at"}`, with
`value`, `by`, `at` and `channel` (how it was answered: form, api, cli, mcp, ...)
once resolved, and under a policy `policy` (its state: a summary, the votes, who may
answer now). Bad arguments raise `DeskError`, which the server turns into a
tool error with the message.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from hitlkit import _config, _notify, _ops, _policy_ops, _reading
from hitlkit._exceptions import (
    ConfigurationError,
    EventConflictError,
    EventNotFoundError,
    HitlError,
    UnsupportedTypeError,
)
from hitlkit._options import check_options
from hitlkit._policy import Policy as DecisionPolicy
from hitlkit._policy import as_policy
from hitlkit._records import EventRecord, Outcome, utcnow
from hitlkit._store import Store
from hitlkit._values import UnsupportedSchema, ValueAdapter, adapter_for, adapter_of
from hitlkit._values._adapter import Named
from hitlkit._values._shape import shape_of
from hitlkit._waiting import Waiting, wait_async

__all__ = ["MAX_WAIT_SECONDS", "Desk", "DeskError", "Policy"]

log = logging.getLogger("hitlkit.mcp")

MAX_WAIT_SECONDS = 50.0
"""The longest a tool call waits: MCP clients give up on a request after 60 seconds."""
MAX_SCHEMA_BYTES = 64 * 1024
MAX_CHOICES = 100
MAX_CHOICE = 500
MAX_LISTED = 100
NAMED_TYPES = ("bool", "int", "float", "str")
MAX_GRANT_SCOPE = 120
POLICY_FIELDS = (
    "quorum",
    "separate_duties",
    "excluded",
    "escalation",
    "on_timeout",
    "delegation",
    "delegate_to",
    "grant_scope",
)
"""What a model may set in a question's policy: not `escalate_to`, whose values are URLs."""

_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
"""A server's name or a run: no dot, the separator of the two in a run id."""
_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class DeskError(HitlError):
    """A tool was called with arguments it cannot use; the message says what was expected."""


@dataclass(frozen=True)
class Policy:
    """What the server lets the model do: its runs, approvers and notification targets."""

    name: str = "mcp"
    runs: frozenset[str] = frozenset()
    approvers: tuple[str, ...] | None = None
    targets: Mapping[str, str] = field(default_factory=dict)
    user: str = "mcp"
    elicit: bool = True
    """Whether a waiting call also asks in the client (elicitation)."""

    @classmethod
    def from_settings(cls, name: str | None = None, *, elicit: bool = True) -> Policy:
        """The policy the settings give: `HITL_MCP_NAME`, `HITL_MCP_RUNS`,
        `HITL_APPROVERS`, `HITL_NOTIFY_TARGETS` and `HITL_USER`."""
        chosen = name or _config.setting("mcp_name").value or "mcp"
        if not _RUN.fullmatch(chosen):
            raise ConfigurationError(
                f"HITL_MCP_NAME must be 1 to 100 letters, digits, '_' or '-'; got {chosen!r}"
            )
        approvers = _config.setting_list("approvers")
        return cls(
            name=chosen,
            runs=frozenset(_config.setting_list("mcp_runs") or ()),
            approvers=tuple(dict.fromkeys(approvers)) if approvers else None,
            targets=notify_targets(_config.mcp_notify_targets()),
            user=_config.current_user(),
            elicit=elicit,
        )

    def run_id(self, run: str | None) -> str:
        """The run a question asked with `run` lives in."""
        given = "default" if run is None else run
        if not isinstance(given, str) or not _RUN.fullmatch(given):
            raise DeskError(
                "run must be 1 to 100 letters, digits, '_' or '-', starting with a letter "
                f"or digit; got {_shown(run)}"
            )
        return f"{self.name}.{given}"

    def sees(self, run_id: str) -> bool:
        """Whether the model may see (and cancel) events of `run_id`."""
        return run_id.startswith(f"{self.name}.") or run_id in self.runs

    def assignees(self, asked: Sequence[str] | None) -> tuple[str, ...] | None:
        """Who may answer: the approvers, or those of them the model named."""
        if asked is None:
            return self.approvers
        if isinstance(asked, str) or not all(isinstance(a, str) for a in asked) or not asked:
            raise DeskError(
                f"assignees must be a non-empty list of identities; got {_shown(asked)}"
            )
        if self.approvers is None:
            raise DeskError(
                "this server lets no one be named as assignee; its operator sets the identities "
                "allowed with HITL_APPROVERS"
            )
        unknown = [a for a in asked if a not in self.approvers]
        if unknown:
            raise DeskError(
                f"assignees must be among this server's approvers ({', '.join(self.approvers)}); "
                f"not allowed: {', '.join(unknown)}"
            )
        return tuple(dict.fromkeys(asked))

    def decision_policy(self, given: object) -> DecisionPolicy | None:
        """The policy the model asked for, naming only approvers (when there are: else
        anyone may answer, and naming people only narrows that) and no URLs."""
        if given is None:
            return None
        if not isinstance(given, dict):
            raise DeskError(f"policy must be a JSON object; got {_shown(given)}")
        unknown = sorted(set(given) - set(POLICY_FIELDS))
        if unknown:
            raise DeskError(
                f"policy takes {', '.join(POLICY_FIELDS)}; not: {', '.join(map(str, unknown))}"
            )
        steps = given.get("escalation")
        if isinstance(steps, list) and any(isinstance(s, dict) and "notify" in s for s in steps):
            raise DeskError(
                "an escalation step's notify takes no URLs here: the question's notify "
                "names this server's targets"
            )
        try:
            policy = as_policy(given)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "policy"
            raise DeskError(f"policy.{where}: {first['msg']}") from None
        except (TypeError, ValueError) as exc:
            raise DeskError(f"policy: {exc}") from None
        assert policy is not None
        named = [
            *(policy.quorum.of if policy.quorum is not None else ()),
            *(who for step in policy.escalation for who in step.assignees),
            *(policy.delegate_to or ()),
        ]
        if self.approvers is not None:
            others = [who for who in dict.fromkeys(named) if who not in self.approvers]
            if others:
                raise DeskError(
                    f"a policy may name only this server's approvers "
                    f"({', '.join(self.approvers)}); not allowed: {', '.join(others)}"
                )
            if policy.delegation and policy.delegate_to is None:
                # Handing the question to anyone would widen who answers.
                policy = policy.model_copy(update={"delegate_to": self.approvers})
        return policy

    def grant_scope(self, scope: str, question: str) -> str:
        """The grant scope of a question the model asks: its own, with this server's
        name and the question's digest. A standing approval stands for the same question
        only: a model cannot reuse one made for other words, or for a program's events."""
        if len(scope) > MAX_GRANT_SCOPE:
            raise DeskError(f"policy.grant_scope must be at most {MAX_GRANT_SCOPE} characters")
        digest = hashlib.sha256(question.encode()).hexdigest()[:16]
        return f"{scope} (mcp {self.name}, question {digest})"

    def notify_urls(self, aliases: Sequence[str] | None) -> list[str] | None:
        """The URLs of the targets named by alias."""
        if aliases is None:
            return None
        if isinstance(aliases, str) or not all(isinstance(a, str) for a in aliases):
            raise DeskError(f"notify must be a list of target names; got {_shown(aliases)}")
        unknown = [a for a in aliases if a not in self.targets]
        if unknown:
            known = ", ".join(sorted(self.targets)) or "none (HITL_NOTIFY_TARGETS is not set)"
            raise DeskError(f"unknown notify target {unknown[0]!r}; this server's targets: {known}")
        return [self.targets[a] for a in dict.fromkeys(aliases)]


def notify_targets(text: str | None) -> dict[str, str]:
    """`alias=URL` pairs separated by spaces (or new lines), as `HITL_NOTIFY_TARGETS`."""
    targets: dict[str, str] = {}
    for number, item in enumerate((text or "").split(), start=1):
        alias, sep, url = item.partition("=")
        if not sep or not _ALIAS.fullmatch(alias) or not url:
            # Not the item itself: its URL may carry a credential.
            raise ConfigurationError(
                "HITL_NOTIFY_TARGETS must be space-separated ALIAS=URL pairs (an alias is "
                f"letters, digits, '_' or '-'); item {number} is not"
            )
        targets[alias] = url
    return targets


def _shown(value: object) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= 80 else text[:77] + "..."


def answer_type(given: object, choices: object) -> ValueAdapter[Any]:
    """The answer type the model asked for: a name, a JSON Schema object, or choices."""
    if choices is not None:
        if given not in ("str", None):
            raise DeskError(f'choices take answer_type "str"; got answer_type {_shown(given)}')
        if (
            not isinstance(choices, list)
            or not 1 <= len(choices) <= MAX_CHOICES
            or not all(isinstance(c, str) and c.strip() and len(c) <= MAX_CHOICE for c in choices)
            or len(set(choices)) != len(choices)
        ):
            raise DeskError(
                f"choices must be 1 to {MAX_CHOICES} different, non-empty strings of at most "
                f"{MAX_CHOICE} characters; got {_shown(choices)}"
            )
        return adapter_for(Literal.__getitem__(tuple(choices)))
    if given is None or isinstance(given, str):
        name = given or "str"
        if name not in NAMED_TYPES:
            raise DeskError(
                f'answer_type must be "bool", "int", "float", "str" or a JSON Schema object; '
                f"got {_shown(given)}"
            )
        return adapter_of(Named(name))
    if not isinstance(given, dict):
        raise DeskError(
            f"answer_type must be a type name or a JSON Schema object; got {_shown(given)}"
        )
    return _schema_type(given)


def _schema_type(schema: dict[str, Any]) -> ValueAdapter[Any]:
    if schema.get("type") == "object" and not schema.get("properties"):
        raise DeskError(
            'answer_type as a JSON Schema object needs "properties": the fields to ask for, '
            'e.g. {"type": "object", "properties": {"day": {"type": "string"}}}'
        )
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise DeskError(
            'answer_type as a JSON Schema must be an object schema ({"type": "object", '
            '"properties": {...}}); ask for a single value with "bool", "int", "float" or "str"'
        )
    if len(json.dumps(schema)) > MAX_SCHEMA_BYTES:
        raise DeskError(f"answer_type's schema must be at most {MAX_SCHEMA_BYTES} bytes as JSON")
    try:
        # Named as a Python type of that shape would be ("Deploy", "object"), as recorded.
        return ValueAdapter(shape_of(schema, schema).type_name(), schema)
    except (UnsupportedSchema, UnsupportedTypeError, ValueError, TypeError, KeyError) as exc:
        raise DeskError(f"answer_type's schema cannot be asked: {exc}") from None


@dataclass
class Desk:
    """The tools' work, on `store`, under `policy`; links point at `endpoint`."""

    store: Store
    endpoint: str
    policy: Policy
    serve_forms: bool = False
    """Whether to make sure an app serves the forms at `endpoint` (started on first use)."""

    async def forms(self) -> None:
        """Start the app that serves the forms, unless one serves them already."""
        if self.serve_forms:
            from hitlkit._server._embedded import ensure_app

            await ensure_app(self.store, self.endpoint)

    async def ask(
        self,
        question: str,
        answer_type_given: object = "str",
        choices: object = None,
        name: str | None = None,
        run: str | None = None,
        timeout_seconds: float = 3600,
        assignees: Sequence[str] | None = None,
        notify: Sequence[str] | None = None,
        policy: object = None,
        requested_by: str | None = None,
    ) -> tuple[EventRecord, bool]:
        """Create the question, or find it (same `name` and `run`); returns it and
        whether this call created it. `requested_by` is who asks (for separation of
        duties): the caller's identity, else the server's user."""
        if not isinstance(question, str) or not question.strip():
            raise DeskError("question must be non-empty text")
        value_type = answer_type(answer_type_given, choices)
        run_id = self.policy.run_id(run)
        chosen = name if name is not None else f"ask-{secrets.token_hex(8)}"
        try:
            check_options(chosen, "run", question, timeout_seconds, 5, None, "text")
        except ValueError as exc:
            raise DeskError(str(exc).replace("prompt", "question")) from None
        decided = self.policy.decision_policy(policy)
        if decided is not None and decided.grant_scope is not None:
            decided = decided.model_copy(
                update={"grant_scope": self.policy.grant_scope(decided.grant_scope, question)}
            )
        who = self.policy.assignees(assignees)
        urls = self.policy.notify_urls(notify)
        notices = _notify.notices_for(urls, None, timeout_seconds=timeout_seconds)
        asker = requested_by or self.policy.user
        if decided is not None:
            try:
                decided, notices = _policy_ops.prepare_policy(
                    decided,
                    notices,
                    value_type=value_type,
                    timeout_seconds=timeout_seconds,
                    has_default=False,
                    requested_by=asker,
                )
                assert decided is not None
                # The quorum's members, or the first step's people, say who answers,
                # unless the model named some of them.
                narrowed = who if assignees is not None else None
                if decided.quorum is None and not decided.escalation:
                    narrowed = who
                who = _policy_ops.first_assignees(decided, narrowed)
            except ValueError as exc:
                raise DeskError(f"policy: {exc}") from None
        await self.forms()
        try:
            record, created = await _ops.open_event(
                self.store,
                name=chosen,
                value_type=value_type,
                scope="run",
                run_id=run_id,
                prompt=question,
                timeout_seconds=timeout_seconds,
                poll_interval_seconds=5,
                default=None,
                created_by=f"mcp:{self.policy.name}",
                assignees=who,
                prompt_type="markdown",
                policy=decided,
                requested_by=asker if decided is not None else None,
            )
        except EventConflictError:
            raise DeskError(
                f"a question named {chosen!r} in run {run or 'default'!r} asks for another "
                "answer_type; give this one another name"
            ) from None
        except ValueError as exc:  # a record the store will not keep (too large)
            raise DeskError(f"the question cannot be kept: {exc}") from None
        if not created and (
            record.prompt != question
            or set(record.assignees or ()) != set(who or ())
            or record.policy != decided
        ):
            # Its answer is about other words, or from other people: never pass it off
            # as the answer to this question.
            raise DeskError(
                f"a question named {chosen!r} in run {run or 'default'!r} was asked before "
                f"with other words, assignees or policy ({_shown(record.prompt)}); asking the same "
                "name again finds that question: give this one another name"
            )
        if created and notices is not None:
            _notify.announce(self.store, record, notices, self.endpoint)
        return record, created

    async def find(self, request_id: object) -> EventRecord:
        """The event `request_id`, if it is in a run this server sees."""
        if not isinstance(request_id, str):
            raise DeskError(f"request_id must be text; got {_shown(request_id)}")
        try:
            await self.forms()
        except HitlError as exc:  # an answer can be read without its form: say, go on
            log.warning("the forms cannot be served at %s: %s", self.endpoint, exc)
        try:
            record = await _reading.load_event(self.store, request_id)
        except EventNotFoundError:
            record = None
        if record is None or not self.policy.sees(record.run_id):
            raise DeskError(f"no question with request_id {_shown(request_id)} on this server")
        return record

    async def outcome(self, record: EventRecord) -> Outcome | None:
        """The recorded outcome; past the deadline, the timeout (or default) recorded now."""
        outcome = await _reading.load_outcome(self.store, record.id)
        if outcome is None and utcnow() >= record.deadline:
            outcome = await _ops.expire_event(self.store, record)
        return outcome

    async def wait(self, record: EventRecord, seconds: float) -> Outcome | None:
        """The outcome, waiting up to `seconds` (at most `MAX_WAIT_SECONDS`) for one."""
        outcome = await self.outcome(record)
        if outcome is not None or seconds <= 0:
            return outcome
        waiting = Waiting(self.store, record, self.endpoint, None)
        try:
            return await asyncio.wait_for(wait_async(waiting), timeout=clamp_wait(seconds))
        except asyncio.TimeoutError:
            return None

    async def result(self, record: EventRecord, outcome: Outcome | None) -> dict[str, Any]:
        """The JSON a tool returns for `record` and its outcome (and its policy's state)."""
        shown = {
            "request_id": record.id,
            "status": "pending" if outcome is None else outcome.status,
            "form_url": f"{self.endpoint}/form/{record.id}",
            "expires_at": _iso(record.deadline),
            "value": None if outcome is None else outcome.value,
            "by": None if outcome is None else outcome.by,
            "at": None if outcome is None else _iso(outcome.at),
            "channel": None if outcome is None else outcome.via,
        }
        if record.policy is not None:
            shown["policy"] = await self.policy_state(record)
        return shown

    async def policy_state(self, record: EventRecord) -> dict[str, Any]:
        """Where `record` stands under its policy, as JSON: a summary, the votes, who may
        answer now, the steps taken and the standing approval used."""
        state = await _policy_ops.current_state(self.store, record)
        return {
            "summary": state.summary,
            "rules": state.policy.describe(),
            "requested_by": state.requested_by,
            "needed": state.needed,
            "approvals": state.approvals,
            "rejections": state.rejections,
            "votes": [
                {"by": v.by, "value": v.value, "at": _iso(v.at), "comment": v.comment}
                for v in state.votes
            ],
            "may_answer": None if state.may_answer is None else list(state.may_answer),
            "step": state.step,
            "delegations": [
                {"by": d.by, "to": d.to, "reason": d.reason, "at": _iso(d.at)}
                for d in state.delegations
            ],
            "grant": None
            if state.grant is None
            else {"by": state.grant.by, "expires_at": _iso(state.grant.expires_at)},
        }

    async def pending(self, run: str | None = None) -> list[dict[str, Any]]:
        """This server's open questions (of `run`, else of all its runs), oldest first."""
        run_id = None if run is None else self.policy.run_id(run)
        infos = await _listing_pending(self.store, run_id)
        shown = [i for i in infos if self.policy.sees(i.run_id)][:MAX_LISTED]
        return [
            {
                "request_id": i.request_id,
                "name": i.name,
                "run": i.run_id.removeprefix(f"{self.policy.name}."),
                "question": i.prompt,
                "answer_type": i.data_type,
                "form_url": f"{self.endpoint}/form/{i.request_id}",
                "expires_at": _iso(i.deadline),
            }
            for i in shown
        ]

    async def cancel(self, request_id: object, reason: object = None) -> dict[str, Any]:
        """Call the question off; an answered one keeps its answer."""
        record = await self.find(request_id)
        if reason is not None and (not isinstance(reason, str) or len(reason) > 2000):
            raise DeskError("reason must be text of at most 2000 characters")
        try:
            outcome = await _ops.cancel_event(
                self.store, record.id, by=f"mcp:{self.policy.name}", via="mcp", reason=reason
            )
        except HitlError as exc:
            resolved = getattr(exc, "outcome", None)
            if resolved is None:
                raise
            outcome = resolved
        return await self.result(record, outcome)


async def _listing_pending(store: Store, run_id: str | None) -> list[_reading.EventInfo]:
    from hitlkit._client import Client

    listing = await Client(store=store).list_events.aio("pending", run_id=run_id)
    return list(listing)


def clamp_wait(seconds: object) -> float:
    """`wait_seconds` as given, between 0 and `MAX_WAIT_SECONDS`."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds != seconds:
        raise DeskError(f"wait_seconds must be a number of seconds; got {_shown(seconds)}")
    return float(min(max(seconds, 0.0), MAX_WAIT_SECONDS))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
