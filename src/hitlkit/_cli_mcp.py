"""`hitl mcp`: serve hitlkit's questions to MCP clients (needs `pip install "hitlkit[mcp]"`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from hitlkit import _config
from hitlkit._cli_base import (
    AllowedHostOption,
    InsecureOption,
    StoreOption,
    TokensFileOption,
    UsageError,
    _reporting_errors,
    app,
)
from hitlkit._cli_help import examples
from hitlkit._cli_render import printable
from hitlkit._exceptions import ConfigurationError
from hitlkit._shell import hitl_argv
from hitlkit._store import open_store

__all__ = ["mcp"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


@app.command(
    epilog=examples(
        "hitl mcp",
        "hitl mcp --store ~/.hitl",
        "hitl mcp --client-config --store ~/.hitl --endpoint http://127.0.0.1:8181",
        "hitl mcp --http --port 8765",
        "hitl mcp --http --host 0.0.0.0 --tokens-file hitl-tokens.json",
    )
)
def mcp(
    http: Annotated[
        bool,
        typer.Option("--http", help="Serve streamable HTTP at /mcp instead of stdin and stdout."),
    ] = False,
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="With --http: the address to listen on.")
    ] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="With --http: the port to listen on.")
    ] = DEFAULT_PORT,
    store: StoreOption = _config.DEFAULT_STORE,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            metavar="URL",
            envvar="HITL_ENDPOINT",
            help="Where the forms are served (form_url), by an app this server starts "
            "on first use unless HITL_AUTOSTART=0. Default: http://127.0.0.1:8080.",
            show_default=False,
        ),
    ] = None,
    tokens_file: TokensFileOption = None,
    insecure: InsecureOption = False,
    allowed_host: AllowedHostOption = None,
    client_config: Annotated[
        bool,
        typer.Option(
            "--client-config",
            help="Print the JSON that starts this server from a desktop MCP client "
            "(absolute paths), and exit.",
        ),
    ] = False,
    elicit: Annotated[
        bool | None,
        typer.Option(
            "--elicit/--no-elicit",
            envvar="HITL_MCP_ELICIT",
            help="Also ask in the client while a call waits; its answers are recorded as "
            "HITL_USER (over --http with a tokens file, the token's identity). Default: on, "
            "but off over --http without a tokens file, where any caller would be HITL_USER.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            envvar="HITL_MCP_NAME",
            help="This server's name: its questions live in the runs NAME.RUN, and its "
            "tools see only those (and HITL_MCP_RUNS).",
            show_default="mcp",
        ),
    ] = None,
) -> None:
    """Serve ask_human, get_answer, list_pending and cancel_request to MCP clients.

    Questions are kept in the store: a client back after a restart gets its answers.

    Forms are served by the app at HITL_ENDPOINT, started here unless HITL_AUTOSTART=0.

    Assignees (HITL_APPROVERS) and notify targets (HITL_NOTIFY_TARGETS) are set here.
    """
    with _reporting_errors():
        if not http and (host != DEFAULT_HOST or port != DEFAULT_PORT):
            raise UsageError("--host and --port are for --http; over stdio there is no port")
        if client_config:
            if http:
                raise UsageError(
                    "--client-config prints how a desktop client starts hitl mcp over stdio; "
                    f"an HTTP client is given the URL http://{host}:{port}/mcp instead"
                )
            config = _client_config(store, name, endpoint, tokens_file)
            typer.echo(json.dumps(config, indent=2))
            return
        try:
            from hitlkit._mcp_desk import Desk, Policy
            from hitlkit._mcp_server import serve_http, serve_stdio
        except ImportError as exc:
            if "mcp" not in str(exc):
                raise
            raise ConfigurationError(
                'hitl mcp needs the MCP SDK: pip install "hitlkit[mcp]"'
            ) from None
        sock = None
        if http:
            from hitlkit._server._auth import check_serving
            from hitlkit._server._embedded import bind_or_explain

            check_serving(host, tokens_file=tokens_file, insecure=insecure)
            sock = bind_or_explain(host, port, "--port")
        if tokens_file is not None:  # the forms' app, started by this process, needs it too
            os.environ["HITL_TOKENS_FILE"] = str(tokens_file)
        the_store = open_store(store)
        the_store.probe()  # a store that cannot be used fails here, not at the first question
        forms = (endpoint or _config.default_endpoint()).rstrip("/")
        if elicit is None:
            elicit = not http or tokens_file is not None
        desk = Desk(the_store, forms, Policy.from_settings(name, elicit=elicit))
        desk.serve_forms = _config.autostart()
        hosts = [h.strip() for item in allowed_host or [] for h in item.split(",") if h.strip()]
        where = f"http://{host}:{port}/mcp" if http else "stdin and stdout"
        # stdout is the protocol's over stdio: everything else goes to stderr.
        print(
            printable(
                f"hitlkit MCP server on {where}, store {the_store.url}, "
                f"forms at {forms}; Ctrl-C stops it."
            ),
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            if sock is not None:
                asyncio.run(
                    serve_http(
                        desk,
                        sock,
                        host=host,
                        tokens_file=str(tokens_file) if tokens_file else None,
                        allowed_hosts=hosts or None,
                    )
                )
            else:
                asyncio.run(serve_stdio(desk))


# Settings a desktop client's configuration carries, when set here: it starts the server
# with none of the shell's variables. Secrets (HITL_SECRET, HITL_NOTIFY_TARGETS) are left
# for the person to add, rather than printed.
_CARRIED = ("HITL_USER", "HITL_APPROVERS", "HITL_MCP_RUNS", "HITL_MCP_ELICIT", "HITL_TOKENS_FILE")


def _client_config(
    store: str, name: str | None, endpoint: str | None, tokens_file: Path | None
) -> dict[str, object]:
    """`mcpServers` JSON for `hitl mcp` over stdio: a desktop app starts it in a folder of
    its own choosing and without the shell's PATH, so the command and store are absolute."""
    the_store = open_store(store)
    where = the_store.url
    if where.startswith("file://"):
        where = str(Path(where.removeprefix("file://")))
    command, *args = hitl_argv()
    args += ["mcp", "--store", where]
    if name:
        args += ["--name", name]
    if endpoint:
        args += ["--endpoint", endpoint]
    server: dict[str, object] = {"command": command, "args": args}
    env = {key: os.environ[key] for key in _CARRIED if os.environ.get(key)}
    if tokens_file is not None:  # a path: the client starts it in another folder
        env["HITL_TOKENS_FILE"] = str(tokens_file.absolute())
    if env:
        server["env"] = env
    return {"mcpServers": {"hitlkit": server}}
