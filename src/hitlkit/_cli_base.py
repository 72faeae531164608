"""What every `hitl` command shares: the app and its root options, the options several
commands take, errors as one stderr line and an exit code, and finding an event by id.
"""

from __future__ import annotations

import contextlib
import re
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import click
import typer

from hitlkit import __version__
from hitlkit._cli_help import HelpGroup
from hitlkit._cli_render import printable
from hitlkit._client import Client, EventInfo
from hitlkit._errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, exit_code_of
from hitlkit._exceptions import EventNotFoundError, HitlError
from hitlkit._records import is_event_id

__all__ = [
    "AllowedHostOption",
    "AnswererOption",
    "ArchiveOption",
    "CancellerOption",
    "EndpointOption",
    "IdArgument",
    "InsecureOption",
    "JsonOption",
    "SecretOption",
    "StoreOption",
    "TokenOption",
    "TokensFileOption",
    "app",
]

MIN_PREFIX = 6
_HEX = re.compile(r"[0-9a-f]+")

EPILOG = (
    "Where events are: ls, show, answer and cancel read and write the store "
    "(--store, HITL_STORE, the configuration file, else the nearest .hitl up: "
    "hitl where). With --endpoint (or HITL_CLIENT_ENDPOINT) "
    "they go through a running hitlkit app instead. HITL_ENDPOINT, where workflows "
    "start their app, is not used for this.\n\n"
    f"Exit codes: 0 done; {EXIT_ERROR} hitlkit error (invalid value, already answered, "
    "not found, app or store unreachable, no answer in time, doctor found problems); "
    f"{EXIT_USAGE} usage error; {EXIT_INTERRUPTED} interrupted."
)

app = typer.Typer(
    cls=HelpGroup,
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
        metavar="FOLDER|URL",
        envvar="HITL_STORE",
        help="Store folder or URL (file://, s3://, gs://, az://, memory://).",
        show_default="nearest .hitl up, else ./.hitl",
    ),
]
EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        metavar="URL",
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
        "--by",
        metavar="NAME",
        envvar="HITL_USER",
        help="Who answers, as recorded.",
        show_default="login name",
    ),
]
CancellerOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        metavar="NAME",
        envvar="HITL_USER",
        help="Who cancels, as recorded.",
        show_default="login name",
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        metavar="TOKEN",
        envvar="HITL_TOKEN",
        help="API token (or answer-link token) to send with --endpoint.",
        show_default=False,
    ),
]
InsecureOption = Annotated[
    bool,
    typer.Option(
        "--insecure",
        envvar="HITL_INSECURE",
        help="Serve beyond loopback without a tokens file (behind an authenticating proxy).",
    ),
]
AllowedHostOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allowed-host",
        metavar="HOST",
        envvar="HITL_ALLOWED_HOSTS",
        help="Host name it answers to (repeat; * for any). "
        "Default on loopback: 127.0.0.1, localhost, ::1.",
        show_default=False,
    ),
]
TokensFileOption = Annotated[
    Path | None,
    typer.Option(
        "--tokens-file",
        metavar="FILE",
        envvar="HITL_TOKENS_FILE",
        help="File of API token hashes; with it, every request needs a token or link.",
        show_default=False,
    ),
]
SecretOption = Annotated[
    str | None,
    typer.Option(
        "--secret",
        metavar="TEXT",
        envvar="HITL_SECRET",
        help="Signs answer links and form tokens; give every replica the same one.",
        show_default=False,
    ),
]
ArchiveOption = Annotated[
    str | None,
    typer.Option(
        "--archive",
        envvar="HITL_ARCHIVE",
        metavar="URL",
        help="Folder or bucket URL each pruned event is copied to before it is deleted.",
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


class UsageError(ValueError):
    """The command was given something it cannot take: exit 2, as click's own usage errors."""


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
    except UsageError as exc:
        _fail(str(exc), EXIT_USAGE)
    except (HitlError, ValueError, OSError) as exc:
        _show_traceback()
        _fail(str(exc) or type(exc).__name__, exit_code_of(type(exc)))
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
    """The event whose id is `text`, or the only one whose id starts with it.

    Not found, the error names where it looked: a person in the wrong folder sees why.
    """
    try:
        return _find_in(client, text)
    except EventNotFoundError as exc:
        raise EventNotFoundError(exc.request_id, where=_where(client)) from None


def _where(client: Client) -> str:
    if client.store is None:
        return f"the app at {client.endpoint}"
    root = getattr(client.store, "root", None)
    if isinstance(root, Path) and not root.exists():
        return f"{client.store.url} (no store there yet: see `hitl where`)"
    return client.store.url


def _find_in(client: Client, text: str) -> EventInfo:
    wanted = text.strip().lower()
    if is_event_id(wanted):
        return client.get_event(wanted)
    if not _HEX.fullmatch(wanted):
        raise EventNotFoundError(text)
    if len(wanted) < MIN_PREFIX:
        raise UsageError(f"give at least {MIN_PREFIX} hex digits of the event id, got {text!r}")
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
