"""The `hitl` command: serve the app, list, show, answer and cancel events, run the demo.

`ls`, `show`, `answer` and `cancel` go through a `Client`: on the store by
default, over HTTP when `--endpoint` (or `HITL_CLIENT_ENDPOINT`) names an app.
Errors become one `error: ...` line on stderr and a non-zero exit code;
`--debug` (or `HITL_DEBUG=1`) prints the traceback too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import re
import sys
import traceback
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal, NoReturn

import click
import typer

from hitlkit import __version__, _doctor
from hitlkit._cli_ask import Asker, NoMoreInput
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
from hitlkit._config import DEFAULT_ENDPOINT, DEFAULT_STORE, previous_secrets
from hitlkit._demo import new_run_id, run_demo
from hitlkit._exceptions import (
    AlreadyAnsweredError,
    ConfigurationError,
    EventNotFoundError,
    HitlError,
    InvalidValueError,
)
from hitlkit._links import answer_url, sign_answer_link
from hitlkit._records import Outcome, is_event_id, utcnow
from hitlkit._store import open_store
from hitlkit._sync import run_sync
from hitlkit._types import value_type_named

__all__ = ["app", "main"]

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
MIN_PREFIX = 6
_HEX = re.compile(r"[0-9a-f]+")

EPILOG = (
    "Where events are: ls, show, answer and cancel read and write the store "
    "(--store, HITL_STORE, default .hitl). With --endpoint (or HITL_CLIENT_ENDPOINT) "
    "they go through a running hitlkit app instead. HITL_ENDPOINT, where workflows "
    "start their app, is not used for this.\n\n"
    "Exit codes: 0 done; 1 hitlkit error (invalid value, already answered, not found, "
    "app or store unreachable, no answer in time, doctor found problems); 2 usage error; "
    "130 interrupted."
)

app = typer.Typer(
    name="hitl",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

# -- options shared by several commands -----------------------------------------

StoreOption = Annotated[
    str,
    typer.Option(
        "--store",
        envvar="HITL_STORE",
        help="Store folder or URL (file://, s3://, gs://, az://, memory://).",
    ),
]
EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        envvar="HITL_CLIENT_ENDPOINT",
        help="Go through the hitlkit app at this URL instead of the store.",
        show_default=False,
    ),
]
IdArgument = Annotated[
    str,
    typer.Argument(
        metavar="ID", help="Event id, or its first 6 or more hex digits.", show_default=False
    ),
]
AnswererOption = Annotated[
    str | None,
    typer.Option(
        "--by", envvar="HITL_USER", help="Who answers, as recorded.", show_default="login name"
    ),
]
CancellerOption = Annotated[
    str | None,
    typer.Option(
        "--by", envvar="HITL_USER", help="Who cancels, as recorded.", show_default="login name"
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="HITL_TOKEN",
        help="API token (or answer-link token) to send with --endpoint.",
        show_default=False,
    ),
]
TokensFileOption = Annotated[
    Path | None,
    typer.Option(
        "--tokens-file",
        envvar="HITL_TOKENS_FILE",
        help="File of API token hashes; with it, every request needs a token or link.",
        show_default=False,
    ),
]
SecretOption = Annotated[
    str | None,
    typer.Option(
        "--secret",
        envvar="HITL_SECRET",
        help="Signs answer links and form tokens; give every replica the same one.",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", envvar="HITL_JSON", help="Print JSON for scripts.")
]


def _fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    # Messages may quote what a store or an app holds: printed escaped, on one line.
    typer.echo(f"error: {printable(' '.join(message.split()))}", err=True)
    raise typer.Exit(code)


_debug = False  # set from --debug (or HITL_DEBUG) by the root command


def _debugging() -> bool:
    return _debug


@contextlib.contextmanager
def _reporting_errors(interrupted: str = "interrupted") -> Iterator[None]:
    """Turn hitlkit errors, bad input and Ctrl-C into one stderr line and an exit code.

    Anything else is a bug: one line too, saying how to see the traceback.
    """
    try:
        yield
    except (typer.Exit, typer.Abort, click.exceptions.Exit, click.ClickException, click.Abort):
        raise
    except KeyboardInterrupt:
        _fail(interrupted, EXIT_INTERRUPTED)
    except (HitlError, ValueError, OSError) as exc:
        _show_traceback()
        _fail(str(exc) or type(exc).__name__)
    except Exception as exc:
        _show_traceback()
        first = (str(exc).splitlines() or [""])[0]
        hint = "" if _debugging() else " (run with --debug to see where)"
        _fail(f"unexpected {type(exc).__name__}: {first}{hint}")


def _show_traceback() -> None:
    if _debugging():
        traceback.print_exc(file=sys.stderr)


def _client(
    ctx: typer.Context,
    store: str,
    endpoint: str | None,
    user: str | None = None,
    token: str | None = None,
) -> Client:
    """The client for `--store` or `--endpoint`; a command-line option beats the environment."""
    store_given = _on_command_line(ctx, "store")
    endpoint_given = _on_command_line(ctx, "endpoint")
    if store_given and endpoint_given:
        _fail("give either --store or --endpoint, not both", EXIT_USAGE)
    if endpoint and (endpoint_given or not store_given):
        if not endpoint.startswith(("http://", "https://")):
            _fail(f"--endpoint must be an http:// or https:// URL, got {endpoint!r}", EXIT_USAGE)
        return Client(endpoint=endpoint, user=user, via="cli", token=token)
    return Client(store=store, user=user, via="cli")


def _on_command_line(ctx: typer.Context, param: str) -> bool:
    source = ctx.get_parameter_source(param)
    return source is not None and source.name == "COMMANDLINE"


def _find(client: Client, text: str) -> EventInfo:
    """The event whose id is `text`, or the only one whose id starts with it."""
    wanted = text.strip().lower()
    if is_event_id(wanted):
        return client.get_event(wanted)
    if not _HEX.fullmatch(wanted):
        raise EventNotFoundError(text)
    if len(wanted) < MIN_PREFIX:
        raise ValueError(f"give at least {MIN_PREFIX} hex digits of the event id, got {text!r}")
    listed = client.list_events("all")
    matches = [e for e in listed if e.request_id.startswith(wanted)]
    if not matches and listed.skipped:
        raise ValueError(
            f"no readable event with an id starting {text!r}; {listed.skipped} record"
            f"{' could' if listed.skipped == 1 else 's could'} not be read: give the whole id, "
            "or run `hitl doctor` to see which"
        )
    if not matches:
        raise EventNotFoundError(text)
    if len(matches) > 1:
        shown = ", ".join(f"{e.request_id} ({e.name})" for e in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        raise ValueError(
            f"id prefix {text!r} matches {len(matches)} events: {shown}{more}; give more digits"
        )
    return matches[0]


# -- commands -------------------------------------------------------------------


def expected_words(data_type: str) -> str:
    """An int, float, str or bool answer in words."""
    return value_type_named(data_type).expected


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"hitl (hitlkit) {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="HITL_DEBUG", help="On an error, print the traceback too."),
    ] = False,
) -> None:
    """Answer the questions hitlkit workflows ask, and serve the web app they use.

    New here? Run [bold]hitl demo[/bold].
    """
    global _debug
    _debug = debug


@app.command("ls")
def list_command(
    ctx: typer.Context,
    status: Annotated[
        Literal["pending", "resolved", "all"],
        typer.Option(
            envvar="HITL_LS_STATUS", help="pending (open), resolved (also expired), or all."
        ),
    ] = "pending",
    run_id: Annotated[
        str | None, typer.Option(envvar="HITL_LS_RUN_ID", help="Only events of this run.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(envvar="HITL_LS_NAME", help="Only events with this name.")
    ] = None,
    assignee: Annotated[
        str | None,
        typer.Option(envvar="HITL_LS_ASSIGNEE", help="Only events assigned to this identity."),
    ] = None,
    as_json: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    endpoint: EndpointOption = None,
    token: TokenOption = None,
) -> None:
    """List events, newest first."""
    with _reporting_errors():
        events = _client(ctx, store, endpoint, token=token).list_events(
            status, run_id=run_id, name=name, assignee=assignee
        )
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


@app.command("show")
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
            typer.echo(f"\nAnswer with: hitl answer {printable(event.request_id)} VALUE")


@app.command(context_settings={"ignore_unknown_options": True})
def answer(
    ctx: typer.Context,
    event_id: IdArgument,
    value: Annotated[
        str | None,
        typer.Argument(
            metavar="[VALUE]",
            help="The answer as text, read as the event's type: 5, 2.5, yes, hello, ship, "
            "2025-01-31, or a JSON object for a model. Without it, you are asked.",
            show_default=False,
        ),
    ] = None,
    by: AnswererOption = None,
    store: StoreOption = DEFAULT_STORE,
    endpoint: EndpointOption = None,
    token: TokenOption = None,
) -> None:
    """Answer an event; the first answer recorded wins. Without VALUE, ask for it.

    Running the same command again is a retry: it says the answer was already recorded.
    """
    with _reporting_errors():
        client = _client(ctx, store, endpoint, user=by, token=token)
        event = _find(client, event_id)
        try:
            if value is not None:
                key = _retry_key(event.request_id, value, client.user, token)
                outcome = client.answer(event.request_id, value, as_text=True, idempotency_key=key)
            else:
                outcome = _answer_interactively(client, event)
        except AlreadyAnsweredError as exc:
            _fail(
                f"event {event.request_id} was already answered with "
                f"{answer_line(exc.outcome, utcnow())}; the first answer wins, "
                "so yours was not recorded"
            )
        if event.status == "answered":  # before this call: the same answer, sent again
            typer.echo(
                f"Already recorded: {answer_line(outcome, utcnow())}, "
                + printable(f"for {event.name} ({event.request_id}).")
            )
        else:
            typer.echo(
                f"Recorded {format_value(outcome.value)} for "
                + printable(f"{event.name} ({event.request_id}).")
            )


def _retry_key(request_id: str, value: str, user: str, token: str | None) -> str:
    """The idempotency key of an answer: the same command run again sends the same one."""
    parts = ("hitl answer", request_id, value, user, token or "")
    return "hitl-cli-" + hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]


def _answer_interactively(client: Client, event: EventInfo) -> Outcome:
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
                if event.validation == "schema":
                    value = asker.ask_schema(event)
                    return client.answer(event.request_id, value)
                text = asker.ask_text(expected_words(event.data_type))
                return client.answer(event.request_id, text, as_text=True)
            except InvalidValueError as exc:
                write(f"  ! {printable(str(exc))}\n")
    except NoMoreInput as exc:
        raise HitlError(str(exc)) from None


@app.command()
def cancel(
    ctx: typer.Context,
    event_id: IdArgument,
    reason: Annotated[
        str | None, typer.Option(envvar="HITL_CANCEL_REASON", help="Why, shown to the workflow.")
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


@app.command()
def doctor(
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """Read every record in the store and name those that cannot be read, with why.

    Also checks that the store answers and (for a folder) takes writes. Exits 1
    if anything is wrong, 0 if not.
    """
    with _reporting_errors():
        report = run_sync(_doctor.examine(open_store(store)))
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(report) | {"ok": report.ok}, indent=2))
    else:
        for kind, findings in (("problem", report.problems), ("note", report.notes)):
            for finding in findings:
                where = f"{printable(finding.key)}: " if finding.key else ""
                typer.echo(f"{kind}: {where}{printable(finding.reason)}")
        problems = len(report.problems)
        verdict = (
            "no problems" if not problems else f"{problems} problem{'' if problems == 1 else 's'}"
        )
        records = f"{report.records} record{'' if report.records == 1 else 's'}"
        typer.echo(f"Checked {records} in {report.store}: {verdict}.")
    if not report.ok:
        raise typer.Exit(EXIT_ERROR)


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="HITL_HOST", help="Address to listen on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int, typer.Option(envvar="HITL_PORT", min=1, max=65535, help="Port to listen on.")
    ] = 8080,
    store: StoreOption = DEFAULT_STORE,
    tokens_file: TokensFileOption = None,
    secret: SecretOption = None,
    insecure: Annotated[
        bool,
        typer.Option(
            envvar="HITL_INSECURE",
            help="Serve beyond loopback without a tokens file (behind an authenticating proxy).",
        ),
    ] = False,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            envvar="HITL_ALLOWED_HOSTS",
            help="Host name the app answers to (repeat; * for any). "
            "Default on loopback: 127.0.0.1, localhost, ::1.",
            show_default=False,
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            envvar="HITL_FORWARDED_ALLOW_IPS",
            help="Proxies (addresses or networks, comma-separated) whose X-Forwarded-For "
            "and X-Forwarded-Proto are believed. Default: none.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the web app in the foreground, until Ctrl-C."""
    with _reporting_errors():
        from hitlkit._server._auth import AuthSettings, check_serving
        from hitlkit._server._embedded import serve as serve_app

        check_serving(host, tokens_file=tokens_file, insecure=insecure)
        # Fail before announcing.
        AuthSettings.build(
            tokens_file=tokens_file, secret=secret, previous_secrets=previous_secrets()
        )
        the_store = open_store(store)
        shown_host = f"[{host}]" if ":" in host else host
        typer.echo(
            f"Starting the hitlkit app at http://{shown_host}:{port} "
            f"for store {the_store.url}; Ctrl-C stops it."
        )
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it stops
            serve_app(
                the_store,
                host=host,
                port=port,
                tokens_file=str(tokens_file) if tokens_file else None,
                secret=secret,
                insecure=insecure,
                allowed_hosts=_split_hosts(allowed_host),
                forwarded_allow_ips=_split_hosts([forwarded_allow_ips or ""]),
            )


def _split_hosts(given: list[str] | None) -> list[str] | None:
    # The environment variable holds a comma-separated list.
    hosts = [h.strip() for item in given or [] for h in item.split(",") if h.strip()]
    return hosts or None


token_app = typer.Typer(
    name="token", help="Make API tokens for an app that requires them.", no_args_is_help=True
)
app.add_typer(token_app)


@token_app.command("create")
def token_create(
    name: Annotated[
        str, typer.Argument(help="The identity the token stands for.", show_default=False)
    ],
    tokens_file: Annotated[
        Path,
        typer.Option(
            "--tokens-file", envvar="HITL_TOKENS_FILE", help="File of token hashes to add to."
        ),
    ] = Path("hitl-tokens.json"),
) -> None:
    """Make a token for NAME: printed once, only its SHA-256 is stored."""
    from hitlkit._tokens import create_token

    with _reporting_errors():
        token = create_token(tokens_file, name)
        typer.echo(token)
        typer.echo(
            f"Stored its hash in {tokens_file} for {name}; the token is not shown again.",
            err=True,
        )


@app.command()
def link(
    ctx: typer.Context,
    event_id: IdArgument,
    identity: Annotated[
        str | None,
        typer.Option(help="Who the link answers as (recorded, and checked against assignees)."),
    ] = None,
    expires_in: Annotated[
        float | None,
        typer.Option(min=1, help="Seconds the link works.", show_default="until the deadline"),
    ] = None,
    base_url: Annotated[
        str,
        typer.Option(envvar="HITL_ENDPOINT", help="The app's public URL, used in the link."),
    ] = DEFAULT_ENDPOINT,
    secret: SecretOption = None,
    store: StoreOption = DEFAULT_STORE,
    endpoint: EndpointOption = None,
    token: TokenOption = None,
) -> None:
    """Print a signed link that lets its holder answer one event."""
    with _reporting_errors():
        if not secret:
            raise ConfigurationError("answer links need --secret or HITL_SECRET, as the app has")
        event = _find(_client(ctx, store, endpoint, token=token), event_id)
        expires_at = (
            event.deadline if expires_in is None else utcnow() + timedelta(seconds=expires_in)
        )
        signed = sign_answer_link(
            secret, event.request_id, identity=identity, expires_at=expires_at
        )
        typer.echo(answer_url(base_url, event.request_id, signed))


@app.command()
def demo(
    run_id: Annotated[
        str | None,
        typer.Option(
            envvar="HITL_RUN_ID",
            help="Run to start or re-attach to.",
            show_default="a new one",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            envvar="HITL_DEMO_TIMEOUT", min=1, help="Seconds each question waits for an answer."
        ),
    ] = 3600,
) -> None:
    """Run a small workflow that asks you two questions and waits for the answers.

    It keeps events in HITL_STORE (default .hitl) and starts the web app at
    HITL_ENDPOINT (default http://127.0.0.1:8080). Stop it, answer, run it
    again with the same --run-id: it picks up the answers.
    """
    run_id = run_id or new_run_id()
    hint = f"interrupted; run `hitl demo --run-id {run_id}` to pick up where you left off"
    with _reporting_errors(interrupted=hint):
        run_demo(run_id, timeout, sys.stdout)


def main() -> None:
    """Entry point of the `hitl` script."""
    # Commands say themselves how many records they left out; one line each is enough.
    logging.getLogger("hitlkit.listing").setLevel(logging.ERROR)
    app(prog_name="hitl")


if __name__ == "__main__":
    main()
