"""`hitl temporal-bridge`: signal Temporal workflows when their hitlkit questions resolve.

The bridge itself is `hitlkit.contrib.temporal` (needs `pip install "hitlkit[temporal]"`),
imported only when the command runs, so hitlkit installs and type-checks without it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Annotated, Any

import typer

from hitlkit import _config
from hitlkit._cli_base import StoreOption, _reporting_errors, app
from hitlkit._cli_help import examples
from hitlkit._cli_render import printable
from hitlkit._exceptions import ConfigurationError, HitlError

__all__ = ["temporal_bridge"]


def _bridge_module() -> ModuleType:
    try:
        return importlib.import_module("hitlkit.contrib.temporal._serve")
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != "temporalio":
            raise
        raise ConfigurationError(
            'hitl temporal-bridge needs temporalio: pip install "hitlkit[temporal]"'
        ) from None


def _report(delivery: Any) -> None:
    """One line per workflow signalled, given up on, or to try again."""
    target = delivery.target
    what = f"{target.workflow_id} ({target.namespace}) {target.signal}: event {target.request_id}"
    status = delivery.resolution.status
    if delivery.sent:
        typer.echo(printable(f"signalled {what} {status}"))
    elif delivery.result == "undeliverable":
        typer.echo(printable(f"gone, not signalled {what}: {delivery.error}"), err=True)
    else:
        typer.echo(printable(f"failed, will retry {what}: {delivery.error}"), err=True)


@app.command(
    "temporal-bridge",
    epilog=examples(
        "hitl temporal-bridge --store ~/.hitl",
        "hitl temporal-bridge --address temporal.internal:7233 --namespace prod",
        "hitl temporal-bridge --once",
    ),
)
def temporal_bridge(
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            metavar="HOST:PORT",
            help="The Temporal frontend to signal through. Default: Temporal's own setting "
            "(TEMPORAL_ADDRESS, its temporal.toml profile), else localhost:7233.",
            show_default=False,
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            metavar="NAME",
            help="The namespace of the workflows to signal. Default: Temporal's own setting "
            "(TEMPORAL_NAMESPACE, its profile), else default.",
            show_default=False,
        ),
    ] = None,
    store: StoreOption = _config.DEFAULT_STORE,
    interval: Annotated[
        float,
        typer.Option(min=0.1, metavar="SECONDS", help="How often to look for resolved events."),
    ] = 2.0,
    once: Annotated[
        bool,
        typer.Option("--once", help="Make one pass and exit (non-zero if a signal failed)."),
    ] = False,
) -> None:
    """Signal each Temporal workflow once when the hitlkit question it waits for resolves.

    Workflows ask through hitlkit.contrib.temporal's activity; this signals each one
    with its question's outcome (answered, timed out, cancelled), once, even with
    several bridges on one store. Run one per namespace. TLS and API keys (Temporal
    Cloud) come from Temporal's own settings: TEMPORAL_API_KEY, TEMPORAL_TLS, ...
    """
    with _reporting_errors():
        bridge = _bridge_module()
        done = bridge.run_bridge(
            address=address,
            namespace=namespace,
            store=store,
            interval=interval,
            once=once,
            report=_report,
            announce=lambda line: typer.echo(printable(line), err=True),
        )
        if once and not done:
            typer.echo("nothing to signal: no waiting workflow's question has resolved", err=True)
        failed = [delivery for delivery in done if delivery.result == "failed"]
        if failed:
            raise HitlError(f"{len(failed)} signal(s) failed; they are tried again next time")
