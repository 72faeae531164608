"""`hitl doctor`, `serve`, `token create`, `link` and `demo`: the store, the app and the demo."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from hitlkit import _doctor
from hitlkit._cli_base import (
    AllowedHostOption,
    ArchiveOption,
    EndpointOption,
    IdArgument,
    InsecureOption,
    JsonOption,
    SecretOption,
    StoreOption,
    TokenOption,
    TokensFileOption,
    _client,
    _find,
    _reporting_errors,
    app,
)
from hitlkit._cli_help import HelpGroup, examples
from hitlkit._cli_render import printable
from hitlkit._config import (
    DEFAULT_ENDPOINT,
    DEFAULT_STORE,
    metrics_tokens_file,
    parse_retention,
    previous_secrets,
)
from hitlkit._demo import new_run_id, run_demo
from hitlkit._errors import EXIT_ERROR
from hitlkit._exceptions import ConfigurationError
from hitlkit._links import answer_url, sign_answer_link
from hitlkit._records import utcnow
from hitlkit._shell import hitl_command
from hitlkit._store import open_store
from hitlkit._sync import run_sync

__all__ = ["demo", "doctor", "link", "serve", "token_app", "token_create"]


@app.command(epilog=examples("hitl doctor", "hitl doctor --store s3://bucket/hitl --json"))
def doctor(
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """Read every record in the store and name those that cannot be read, with why.

    Also checks that the store answers and (for a folder) takes writes, and, with
    HITL_SLACK_BOT_TOKEN, that Slack takes the token. Exits 1 if anything is wrong,
    0 if not.
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


@app.command(
    epilog=examples(
        "hitl serve",
        "hitl serve --port 9000 --store s3://bucket/hitl",
        "hitl serve --host 0.0.0.0 --tokens-file hitl-tokens.json --secret $HITL_SECRET",
    )
)
def serve(
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", envvar="HITL_HOST", help="Address to listen on.")
    ] = ("127.0.0.1"),
    port: Annotated[
        int, typer.Option(envvar="HITL_PORT", min=1, max=65535, help="Port to listen on.")
    ] = 8080,
    store: StoreOption = DEFAULT_STORE,
    tokens_file: TokensFileOption = None,
    secret: SecretOption = None,
    insecure: InsecureOption = False,
    allowed_host: AllowedHostOption = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            metavar="ADDRESSES",
            envvar="HITL_FORWARDED_ALLOW_IPS",
            help="Proxies (addresses or networks, comma-separated) whose X-Forwarded-For "
            "and X-Forwarded-Proto are believed. Default: none.",
            show_default=False,
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            metavar="PORT",
            envvar="HITL_METRICS_PORT",
            min=1,
            max=65535,
            help="Also serve /metrics, /healthz and /readyz on 127.0.0.1:PORT, with no token.",
            show_default=False,
        ),
    ] = None,
    retention: Annotated[
        str | None,
        typer.Option(
            "--retention",
            envvar="HITL_RETENTION",
            metavar="DURATION",
            help="Prune events resolved longer ago than this (30d, 12h), hourly. "
            "Default: keep them forever.",
            show_default=False,
        ),
    ] = None,
    archive: ArchiveOption = None,
) -> None:
    """Run the web app in the foreground, until Ctrl-C.

    With HITL_SLACK_BOT_TOKEN and HITL_SLACK_SIGNING_SECRET it also takes answers from
    Slack at /slack/interact (HITL_SLACK_APP_TOKEN: through Socket Mode) and shows each
    event's outcome on its Slack messages; with HITL_SECRET, one-click links from e-mail
    and Teams at /choose. See the README's Chat section.
    """
    with _reporting_errors():
        from hitlkit._server._auth import AuthSettings, check_serving
        from hitlkit._server._embedded import serve as serve_app

        check_serving(host, tokens_file=tokens_file, insecure=insecure)
        # Fail before announcing.
        AuthSettings.build(
            tokens_file=tokens_file,
            secret=secret,
            previous_secrets=previous_secrets(),
            metrics_tokens_file=metrics_tokens_file(),
        )
        pruning = ""
        if parse_retention(retention, what="--retention (HITL_RETENTION)") is not None:
            pruning = f"; it prunes events resolved more than {retention} ago"
            pruning += f" (archived to {archive})" if archive else ""
        the_store = open_store(store)
        shown_host = f"[{host}]" if ":" in host else host
        typer.echo(
            f"Starting the hitlkit app at http://{shown_host}:{port} "
            + printable(f"for store {the_store.url}{pruning}; Ctrl-C stops it.")
        )
        if metrics_port is not None:
            typer.echo(f"Metrics and probes also at http://127.0.0.1:{metrics_port}/metrics.")
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
                metrics_port=metrics_port,
                retention=retention,
                archive=archive,
            )


def _split_hosts(given: list[str] | None) -> list[str] | None:
    # The environment variable holds a comma-separated list.
    hosts = [h.strip() for item in given or [] for h in item.split(",") if h.strip()]
    return hosts or None


token_app = typer.Typer(
    cls=HelpGroup,
    name="token",
    help="Make API tokens for an app that requires them.",
    no_args_is_help=True,
)
app.add_typer(token_app)


@token_app.command(
    "create",
    epilog=examples(
        "hitl token create ci-bot --tokens-file hitl-tokens.json",
        "hitl token create prometheus --metrics",
    ),
)
def token_create(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help="The identity the token stands for.", show_default=False
        ),
    ],
    tokens_file: Annotated[
        Path | None,
        typer.Option(
            "--tokens-file",
            help="File of token hashes to add to. Default: HITL_TOKENS_FILE, else "
            "hitl-tokens.json; with --metrics, HITL_METRICS_TOKEN_FILE, else "
            "hitl-metrics-tokens.json.",
            show_default=False,
        ),
    ] = None,
    metrics: Annotated[
        bool,
        typer.Option(
            "--metrics",
            help="A scrape token: it reads /metrics and nothing else "
            "(the app takes it from HITL_METRICS_TOKEN_FILE).",
        ),
    ] = False,
) -> None:
    """Make a token for NAME: printed once, only its SHA-256 is stored."""
    from hitlkit._tokens import create_token

    tokens_file = _tokens_file(tokens_file, metrics=metrics)
    with _reporting_errors():
        token = create_token(tokens_file, name)
        typer.echo(token)
        typer.echo(
            f"Stored its hash in {tokens_file} for {name}; the token is not shown again.",
            err=True,
        )


@token_app.command(
    "revoke",
    epilog=examples(
        "hitl token revoke ci-bot --tokens-file hitl-tokens.json",
        "hitl token revoke prometheus --metrics",
    ),
)
def token_revoke(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help="The identity whose tokens stop working.", show_default=False
        ),
    ],
    tokens_file: Annotated[
        Path | None,
        typer.Option(
            "--tokens-file",
            help="File of token hashes to remove them from. Default: as for create.",
            show_default=False,
        ),
    ] = None,
    metrics: Annotated[
        bool, typer.Option("--metrics", help="Revoke scrape tokens (HITL_METRICS_TOKEN_FILE).")
    ] = False,
) -> None:
    """Remove every token of NAME from the tokens file: the app refuses them at once."""
    from hitlkit._tokens import revoke_tokens

    with _reporting_errors():
        path = _tokens_file(tokens_file, metrics=metrics)
        removed = revoke_tokens(path, name)
        if not removed:
            raise ValueError(f"no token of {name!r} in {path}")
        plural = "" if removed == 1 else "s"
        typer.echo(printable(f"Revoked {removed} token{plural} of {name} in {path}."))


def _tokens_file(given: Path | None, *, metrics: bool) -> Path:
    """`--tokens-file`, else the configured file of its kind, else the default name."""
    from hitlkit._config import tokens_file as api_tokens_file

    if given is not None:
        return given
    configured = metrics_tokens_file() if metrics else api_tokens_file()
    return Path(configured or ("hitl-metrics-tokens.json" if metrics else "hitl-tokens.json"))


@app.command(
    epilog=examples(
        "hitl link 5f0c1a2b3c --identity alice --base-url https://hitl.example.com",
        "hitl link 5f0c1a2b3c --expires-in 3600",
    )
)
def link(
    ctx: typer.Context,
    event_id: IdArgument,
    identity: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Who the link answers as (recorded, and checked against assignees).",
        ),
    ] = None,
    expires_in: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            min=1,
            help="Seconds the link works.",
            show_default="until the deadline",
        ),
    ] = None,
    base_url: Annotated[
        str,
        typer.Option(
            metavar="URL", envvar="HITL_ENDPOINT", help="The app's public URL, used in the link."
        ),
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


@app.command(epilog=examples("hitl demo", "hitl demo --run-id demo-1a2b3c --timeout 600"))
def demo(
    run_id: Annotated[
        str | None,
        typer.Option(
            metavar="RUN",
            envvar="HITL_RUN_ID",
            help="Run to start or re-attach to.",
            show_default="a new one",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            envvar="HITL_DEMO_TIMEOUT",
            min=1,
            help="Seconds each question waits for an answer.",
        ),
    ] = 3600,
) -> None:
    """Run a small workflow that asks you two questions and waits for the answers.

    It keeps events in HITL_STORE (default .hitl) and starts the web app at
    HITL_ENDPOINT (default http://127.0.0.1:8080). Stop it, answer, run it
    again with the same --run-id: it picks up the answers.
    """
    run_id = run_id or new_run_id()
    again = f"{hitl_command()} demo --run-id {run_id}"
    hint = f"interrupted; run `{again}` to pick up where you left off"
    with _reporting_errors(interrupted=hint):
        run_demo(run_id, timeout, sys.stdout)
