"""`hitl where` and `hitl config`: which store and app are used, every setting, and why.

A setting comes from a flag, else its `HITL_` variable, else the configuration file
(`[tool.hitlkit]` in the nearest `pyproject.toml`, or a `hitl.toml`), else its
default; the store, when none of these names it, is the nearest `.hitl` folder from
the current one up. Secrets are shown as set or unset, never their values.
"""

from __future__ import annotations

import json
import os
from typing import Any

import typer

from hitlkit import _config
from hitlkit._cli_base import EndpointOption, JsonOption, StoreOption, _reporting_errors, app
from hitlkit._cli_help import examples
from hitlkit._cli_origin import endpoint_origin, shown_store, store_origin
from hitlkit._cli_render import printable
from hitlkit._config_file import KEYS, SECRETS
from hitlkit._discovery import folders_up

__all__ = ["DEFAULTS", "config_command", "where"]

DEFAULTS: dict[str, str] = {
    "store": "nearest .hitl up, else ./.hitl",
    "endpoint": _config.DEFAULT_ENDPOINT,
    "client_endpoint": "none (the store)",
    "run_id": "one per process",
    "autostart": "1",
    "user": "the login name",
    "tokens_file": "none",
    "insecure": "0",
    "remind_before": "none",
    "store_mode": "private",
    "max_record_bytes": str(_config.DEFAULT_MAX_RECORD_BYTES),
    "forwarded_allow_ips": "none",
    "allowed_hosts": "127.0.0.1, localhost, ::1 on loopback",
    "host": "127.0.0.1",
    "port": "8080",
    "headers_timeout": "10",
    "body_timeout": "30",
    "idle_timeout": "5",
    "max_concurrency": "1000",
    "streams_per_client": "8",
    "streams_total": "256",
    "stream_heartbeat_seconds": "15",
    "stream_max_seconds": "300",
    "retention": "keep forever",
    "archive": "none",
    "metrics_port": "none",
    "metrics_token_file": "none",
    "approvers": "none (anyone who can reach the app)",
    "mcp_name": "mcp",
    "mcp_runs": "none",
    "mcp_elicit": "1",
    "grantors": "none (no one makes standing approvals)",
    "evidence_key": "none (evidence is exported unsigned)",
    "slack_users": "none (Slack users answer as their e-mail's local part)",
    "slack_email_domains": "none (any domain of a workspace member)",
    "email_identities": "none (recipients answer as their address's local part)",
}
"""What each file key means when nothing sets it, as `hitl config` shows it."""


@app.command(epilog=examples("hitl where", "hitl where --json"))
def where(
    ctx: typer.Context,
    store: StoreOption = _config.DEFAULT_STORE,
    endpoint: EndpointOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the store the commands use, the app workflows reach, and why each.

    In a project's subfolder, the store is the project's .hitl, found walking up.
    """
    with _reporting_errors():
        shown, why = shown_store(store), store_origin(ctx)
        app_url, app_why = _config.default_endpoint(), _config.setting("endpoint").source
        through = {"url": endpoint, "why": endpoint_origin(ctx)} if endpoint else None
        config_file = _file_found()
    if as_json:
        found = {
            "store": {"url": shown, "why": why},
            "endpoint": {"url": app_url, "why": app_why},
            "client_endpoint": through,
            "config_file": config_file,
        }
        typer.echo(json.dumps(found, indent=2))
        return
    lines = [
        f"store: {shown} ({why})",
        f"app: {app_url} ({app_why}; where workflows reach or start the web app)",
    ]
    if through is not None:
        lines.append(f"commands go through the app at {endpoint} ({through['why']})")
    lines.append(f"configuration file: {config_file}")
    for line in lines:
        typer.echo(printable(line))


def _file_found() -> str:
    file = _config.config_file()
    if file is not None:
        return file.label
    searched = folders_up()
    if not searched:
        return "none found: the current folder is gone"
    span = str(searched[0]) if len(searched) == 1 else f"{searched[0]} .. {searched[-1]}"
    return f"none found in {span}"


@app.command("config", epilog=examples("hitl config", "hitl config --json"))
def config_command(
    ctx: typer.Context,
    store: StoreOption = _config.DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """Print every setting in effect, its value and where it came from.

    From a flag, a HITL_ variable, the configuration file, or the default; secrets: set or unset.
    """
    with _reporting_errors():
        rows = [_store_row(ctx, store)]
        rows += [_row(key) for key in KEYS if key != "store"]
        # A secret read from its own variable; `metrics_token` has none (its file is a setting).
        rows += [_secret_row(k) for k, where in SECRETS.items() if where.split()[0] == _variable(k)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    shown = [(str(row["key"]), str(row["value"] or "unset"), str(row["source"])) for row in rows]
    key_width = max(len(key) for key, _, _ in shown)
    value_width = max(len(value) for _, value, _ in shown)
    for key, value, source in shown:
        typer.echo(printable(f"{key:<{key_width}}  {value:<{value_width}}  {source}"))


def _store_row(ctx: typer.Context, store: str) -> dict[str, Any]:
    return {"key": "store", "value": shown_store(store), "source": store_origin(ctx)}


def _row(key: str) -> dict[str, Any]:
    given = _config.setting(key)
    if given.value is None:
        return {"key": key, "value": DEFAULTS[key], "source": "default"}
    return {"key": key, "value": given.value, "source": given.source}


def _variable(key: str) -> str:
    return f"HITL_{key.upper()}"


def _secret_row(key: str) -> dict[str, Any]:
    """A secret is read from its variable only, and shown as set or unset."""
    variable = _variable(key)
    if os.environ.get(variable):
        return {"key": key, "value": "set", "source": variable}
    return {"key": key, "value": None, "source": f"environment only: {variable}"}
