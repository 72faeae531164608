"""`hitl ls`, `show`, `answer` and `cancel`: events through a `Client`, on the store or an app."""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Annotated, Literal

import typer

from hitlkit._cli_ask import Asker, NoMoreInput
from hitlkit._cli_base import (
    AnswererOption,
    CancellerOption,
    EndpointOption,
    IdArgument,
    JsonOption,
    StoreOption,
    TokenOption,
    _client,
    _fail,
    _find,
    _reporting_errors,
    app,
)
from hitlkit._cli_help import examples
from hitlkit._cli_origin import say_store
from hitlkit._cli_render import (
    answer_line,
    event_details,
    event_table,
    format_value,
    printable,
    show,
    terminal_width,
)
from hitlkit._client import Client, EventInfo
from hitlkit._config import DEFAULT_STORE, parse_duration
from hitlkit._exceptions import AlreadyAnsweredError, HitlError, InvalidValueError
from hitlkit._records import Outcome, is_approval, utcnow
from hitlkit._shell import hitl_command

__all__ = ["answer", "cancel", "list_command", "show_command"]


@app.command(
    "ls",
    epilog=examples(
        "hitl ls",
        "hitl ls --status all --run-id nightly-42",
        "hitl ls --assignee alice --json",
        "hitl ls --endpoint https://hitl.example.com --token $HITL_TOKEN",
    ),
)
def list_command(
    ctx: typer.Context,
    status: Annotated[
        Literal["pending", "resolved", "all"],
        typer.Option(
            envvar="HITL_LS_STATUS", help="pending (open), resolved (also expired), or all."
        ),
    ] = "pending",
    run_id: Annotated[
        str | None,
        typer.Option(metavar="RUN", envvar="HITL_LS_RUN_ID", help="Only events of this run."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(metavar="NAME", envvar="HITL_LS_NAME", help="Only events with this name."),
    ] = None,
    assignee: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", envvar="HITL_LS_ASSIGNEE", help="Only events assigned to this identity."
        ),
    ] = None,
    as_json: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    endpoint: EndpointOption = None,
    token: TokenOption = None,
) -> None:
    """List events, newest first."""
    with _reporting_errors():
        client = _client(ctx, store, endpoint, token=token)
        events = client.list_events(status, run_id=run_id, name=name, assignee=assignee)
        say_store(ctx, client)  # on stderr, once read: stdout stays the listing
        if as_json:
            typer.echo(json.dumps([e.model_dump(mode="json") for e in events], indent=2))
        elif not events:
            where = f" in run {run_id!r}" if run_id else ""
            named = f" named {name!r}" if name else ""
            named += f" assigned to {assignee!r}" if assignee else ""
            kind = "" if status == "all" else f"{status} "
            typer.echo(printable(f"No {kind}events{named}{where}."))
        else:
            show(event_table(events, utcnow(), terminal_width()))
        if events.skipped:
            typer.echo(
                f"note: {events.skipped} record{'' if events.skipped == 1 else 's'} could not "
                f"be read and {'was' if events.skipped == 1 else 'were'} left out; "
                "run `hitl doctor` to see which",
                err=True,
            )


@app.command("show", epilog=examples("hitl show 5f0c1a2b3c", "hitl show 5f0c1a2b3c --json"))
def show_command(
    ctx: typer.Context,
    event_id: IdArgument,
    as_json: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    endpoint: EndpointOption = None,
    token: TokenOption = None,
) -> None:
    """Show one event, its outcome once it has one, and its audit trail."""
    with _reporting_errors():
        client = _client(ctx, store, endpoint, token=token)
        event = _find(client, event_id)
        audit = client.audit(event.request_id)
        if as_json:
            data = event.model_dump(mode="json")
            data["audit"] = [entry.model_dump(mode="json") for entry in audit]
            typer.echo(json.dumps(data, indent=2))
            return
        show(event_details(event, utcnow(), audit))
        if event.status == "pending":
            value = "yes|no" if is_approval(event) else "VALUE"
            command = f"{hitl_command()} answer {event.request_id} {value}"
            typer.echo(f"\nAnswer with: {printable(command)}")


@app.command(
    context_settings={"ignore_unknown_options": True},
    epilog=examples(
        "hitl answer 5f0c1a2b3c 5",
        "hitl answer 5f0c1a2b3c yes --by alice",
        """hitl answer 5f0c1a2b3c '{"approved": true, "comment": "ok"}'""",
        'hitl answer 5f0c1a2b3c no --comment "roll back plan missing"',
        "hitl answer 5f0c1a2b3c yes --grant-for 24h",
        "hitl answer 5f0c1a2b3c          (asks for the value)",
    ),
)
def answer(
    ctx: typer.Context,
    event_id: IdArgument,
    value: Annotated[
        str | None,
        typer.Argument(
            metavar="VALUE",
            help="The answer as text, read as the event's type: 5, 2.5, yes, hello, ship, "
            "2025-01-31, or a JSON object for a model. Without it, you are asked.",
            show_default=False,
        ),
    ] = None,
    by: AnswererOption = None,
    comment: Annotated[
        str | None,
        typer.Option(
            "--comment",
            metavar="TEXT",
            help="Under a policy: why, recorded with your vote (a rejection's reasons).",
            show_default=False,
        ),
    ] = None,
    grant_for: Annotated[
        str | None,
        typer.Option(
            "--grant-for",
            metavar="DURATION",
            help="Under a policy with standing approvals, as a grantor: let the decision "
            "stand for identical requests this long (24h, 7d).",
            show_default=False,
        ),
    ] = None,
    store: StoreOption = DEFAULT_STORE,
    endpoint: EndpointOption = None,
    token: TokenOption = None,
) -> None:
    """Answer an event; the first answer recorded wins. Without VALUE, ask for it.

    Under a policy, the answer is your vote. Running the same command again is a
    retry: it says the answer was already recorded.
    """
    with _reporting_errors():
        client = _client(ctx, store, endpoint, user=by, token=token)
        grant_seconds = (
            None
            if grant_for is None
            else parse_duration(grant_for, what="--grant-for").total_seconds()
        )
        event = _find(client, event_id)
        try:
            if value is not None:
                value = _decision(event, value)
                key = _retry_key(event.request_id, value, client.user, token)
                outcome = client.answer(
                    event.request_id,
                    value,
                    as_text=True,
                    idempotency_key=key,
                    comment=comment,
                    grant_seconds=grant_seconds,
                )
            else:
                outcome = _answer_interactively(client, event)
        except AlreadyAnsweredError as exc:
            _fail(
                f"event {event.request_id} was already answered with "
                f"{answer_line(exc.outcome, utcnow())}; the first answer wins, "
                "so yours was not recorded"
            )
        if outcome is None:  # a vote under a policy, which decides nothing yet
            state = client.policy_state(event.request_id)
            summary = f"; {state.summary}" if state is not None else ""
            typer.echo(
                printable(
                    f"Recorded your vote on {event.name} ({event.request_id}){summary}. "
                    "The event waits for more votes."
                )
            )
        elif event.policy is not None and outcome.decision and event.status == "pending":
            typer.echo(
                printable(
                    f"Recorded your vote on {event.name} ({event.request_id}): {outcome.decision}"
                )
                + f", {format_value(outcome.value)}."
            )
        elif event.status == "answered":  # before this call: the same answer, sent again
            typer.echo(
                f"Already recorded: {answer_line(outcome, utcnow())}, "
                + printable(f"for {event.name} ({event.request_id}).")
            )
        else:
            typer.echo(
                f"Recorded {format_value(outcome.value)} for "
                + printable(f"{event.name} ({event.request_id}).")
            )


_DECISIONS = {
    **dict.fromkeys(("yes", "y", "true", "approve"), True),
    **dict.fromkeys(("no", "n", "false", "reject"), False),
}


def _decision(event: EventInfo, value: str) -> str:
    """An approval answered with yes or no (approve, reject) as its JSON; anything else,
    as given (a JSON object gives a reason too)."""
    decided = _DECISIONS.get(value.strip().lower()) if is_approval(event) else None
    return value if decided is None else json.dumps({"approved": decided})


def _retry_key(request_id: str, value: str, user: str, token: str | None) -> str:
    """The idempotency key of an answer: the same command run again sends the same one."""
    parts = ("hitl answer", request_id, value, user, token or "")
    return "hitl-cli-" + hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]


def _answer_interactively(client: Client, event: EventInfo) -> Outcome | None:
    """Ask on stderr, read stdin line by line, until an answer is recorded."""

    def write(text: str) -> None:
        # What is asked comes from the event: escaped field by field, and here again.
        sys.stderr.write(printable(text, multiline=True))
        sys.stderr.flush()

    def read() -> str | None:
        line = sys.stdin.readline()
        return line or None

    if event.status != "pending":
        raise HitlError(f"event {event.request_id} is {event.status} and takes no answers")
    asker = Asker(read, write)
    write(f"{printable(event.name)}: {printable(event.prompt, multiline=True)}\n")
    if event.description:
        write(f"{printable(event.description, multiline=True)}\n")
    try:
        while True:
            try:
                return client.answer(event.request_id, asker.ask(event))
            except InvalidValueError as exc:
                write(f"  ! {printable(str(exc))}\n")
    except NoMoreInput as exc:
        raise HitlError(str(exc)) from None


@app.command(epilog=examples('hitl cancel 5f0c1a2b3c --reason "superseded by run 43"'))
def cancel(
    ctx: typer.Context,
    event_id: IdArgument,
    reason: Annotated[
        str | None,
        typer.Option(
            metavar="TEXT", envvar="HITL_CANCEL_REASON", help="Why, shown to the workflow."
        ),
    ] = None,
    by: CancellerOption = None,
    store: StoreOption = DEFAULT_STORE,
    endpoint: EndpointOption = None,
    token: TokenOption = None,
) -> None:
    """Cancel an open event; its workflow gets EventCancelledError."""
    with _reporting_errors():
        client = _client(ctx, store, endpoint, user=by, token=token)
        event = _find(client, event_id)
        client.cancel(event.request_id, reason=reason)
        typer.echo(printable(f"Cancelled {event.name} ({event.request_id})."))
