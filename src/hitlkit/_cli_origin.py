"""Where the command line's settings come from: flags, environment, the file, a search.

`cli_defaults` feeds the configuration file to every command as click's
`default_map`, so a flag beats its environment variable, which beats the file,
which beats the built-in default; the store option's default is the store found as
git finds its repository (`_config.store_choice`). `store_origin` says which of
these chose the store, for `hitl ls`'s header and `hitl where`.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlsplit

import typer

from hitlkit import _config
from hitlkit._cli_render import printable
from hitlkit._client import Client
from hitlkit._config_file import KEYS

__all__ = [
    "cli_defaults",
    "endpoint_origin",
    "say_store",
    "shown_store",
    "source_of",
    "store_origin",
]


def cli_defaults(command: Any) -> dict[str, Any]:
    """The `default_map` of `command` and its subcommands, from the configuration file.

    An option takes the file's value for the key its environment variable names
    (`HITL_TOKENS_FILE` -> `tokens_file`); the store option takes the store found.
    Raises `ConfigurationError` for a configuration file that cannot be used.
    """
    file = _config.config_file()
    values = file.values if file is not None else {}
    return _defaults_of(command, values)


def _defaults_of(command: Any, values: dict[str, str]) -> dict[str, Any]:
    # A click command (Typer's own copy of click): its subcommands, then its options.
    defaults: dict[str, Any] = {}
    for name, sub in getattr(command, "commands", {}).items():
        defaults[name] = _defaults_of(sub, values)
    for param in command.params:
        key = _key_of(param)
        if key == "store":
            defaults[str(param.name)] = _found_store
        elif key in values:
            text = values[key]
            defaults[str(param.name)] = text.split(",") if param.multiple else text
    return defaults


def _found_store() -> str:
    return _config.store_choice().url


def _key_of(param: Any) -> str | None:
    """The file key of a parameter read from a `HITL_` variable hitlkit knows, else `None`."""
    envvar = getattr(param, "envvar", None)
    if not isinstance(envvar, str) or not envvar.startswith("HITL_"):
        return None
    key = envvar.removeprefix("HITL_").lower()
    return key if key in KEYS else None


def source_of(ctx: typer.Context, param: str, variable: str) -> str | None:
    """`--flag` or the variable's name when one of them gave `param`, else `None`."""
    source = ctx.get_parameter_source(param)
    name = source.name if source is not None else None
    if name == "COMMANDLINE":
        option = next((p for p in ctx.command.params if p.name == param), None)
        flags = getattr(option, "opts", None) or [f"--{param}"]
        return str(flags[0])
    if name == "ENVIRONMENT":
        return variable
    return None


def store_origin(ctx: typer.Context) -> str:
    """Why the store option holds what it holds: `--store`, `HITL_STORE`, the file, the search."""
    return source_of(ctx, "store", "HITL_STORE") or _config.store_choice().why


def endpoint_origin(ctx: typer.Context) -> str:
    """Why the CLI goes through an app: `--endpoint`, `HITL_CLIENT_ENDPOINT` or the file."""
    return (
        source_of(ctx, "endpoint", "HITL_CLIENT_ENDPOINT")
        or _config.setting("client_endpoint").source
    )


def shown_store(url: str) -> str:
    """A store as a person reads it: a folder's absolute path, else the URL."""
    if url.startswith("file://"):
        return unquote(urlsplit(url).path)
    if "://" not in url:
        return os.path.abspath(os.path.expanduser(url))
    return url


def say_store(ctx: typer.Context, client: Client) -> None:
    """One line on stderr naming the store (or app) a command reads, and why."""
    if client.store is not None:
        line = f"store: {shown_store(client.store.url)} ({store_origin(ctx)})"
    else:
        why = endpoint_origin(ctx)
        line = f"app: {client.endpoint} ({why})"
    typer.echo(printable(line), err=True)
