"""The bridge's Temporal side: signal workflows through a client, pass after pass.

`hitl temporal-bridge` runs `run_bridge`; `signaller` is the `send` a pass uses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from temporalio.client import Client
from temporalio.envconfig import ClientConfig, ClientConnectConfig
from temporalio.service import RPCError, RPCStatusCode

from hitlkit import _config
from hitlkit._exceptions import StoreUnavailableError
from hitlkit._store import Store, open_store
from hitlkit._sync import syncify
from hitlkit.contrib.temporal._bridge import (
    CLAIM_SECONDS,
    Delivery,
    Send,
    Undeliverable,
    bridge_id,
    bridge_pass,
)
from hitlkit.contrib.temporal._targets import Resolution, Target

__all__ = ["DEFAULT_ADDRESS", "connect_config", "run_bridge", "signaller"]

log = logging.getLogger("hitlkit")

DEFAULT_ADDRESS = "localhost:7233"


def connect_config(address: str | None, namespace: str | None) -> ClientConnectConfig:
    """How to reach Temporal: its own client settings, with `address` and `namespace` winning.

    Temporal's settings are its environment variables (`TEMPORAL_ADDRESS`,
    `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS`, ...) and the profile of its
    configuration file (`temporal.toml`), so a bridge for Temporal Cloud needs no flags of
    its own. Without any: `localhost:7233`, namespace `default`.
    """
    config = ClientConfig.load_client_connect_config()
    if address:
        config["target_host"] = address
    if namespace:
        config["namespace"] = namespace
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config.setdefault("namespace", "default")
    return config


def signaller(client: Client) -> Send:
    """Signal a target's workflow (its latest run: one reset or continued as new too)."""

    async def send(target: Target, resolution: Resolution) -> None:
        handle = client.get_workflow_handle(target.workflow_id)
        try:
            await handle.signal(target.signal, resolution)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:  # ended, or never existed
                raise Undeliverable(exc.message) from exc
            raise
        except RuntimeError as exc:  # how a lazy client says it could not connect
            if "connect" not in str(exc).lower():
                raise
            where = client.service_client.config.target_host
            raise ConnectionError(
                f"cannot reach Temporal at {where}: is a server running there? Name it with "
                "--address or TEMPORAL_ADDRESS"
            ) from None

    return send


@syncify
async def run_bridge(
    *,
    address: str | None = None,
    namespace: str | None = None,
    store: Store | str | None = None,
    interval: float = 2.0,
    once: bool = False,
    claim_seconds: float = CLAIM_SECONDS,
    client: Client | None = None,
    report: Callable[[Delivery], None] | None = None,
    announce: Callable[[str], None] | None = None,
) -> list[Delivery]:
    """Signal the workflows whose questions resolve, every `interval` seconds.

    Blocks; `await run_bridge.aio(...)` is the async form. `hitl temporal-bridge` runs it.

    Connects to the Temporal frontend at `address` in `namespace` (see `connect_config`
    for the defaults) on the first signal: a bridge with nothing to do needs no server.
    With `once`, makes one pass and returns what it did; otherwise runs until cancelled,
    through store outages (logged, tried again). `report` is told of every target handled,
    `announce` what the bridge watches and where it signals, once it starts.
    """
    the_store = open_store(store if store is not None else _config.default_store_url())
    if client is None:
        config = connect_config(address, namespace)
        client = await Client.connect(**config, lazy=True)
    send, me = signaller(client), bridge_id()
    started = (
        f"watching {the_store.url} for questions of namespace {client.namespace!r} at "
        f"{client.service_client.config.target_host}"
        + ("" if once else f", every {interval:g} s (Ctrl-C stops)")
    )
    log.info("temporal bridge %s: %s", me, started)
    if announce is not None:
        announce(started)
    while True:
        try:
            done = await bridge_pass.aio(
                the_store,
                send,
                bridge=me,
                namespace=client.namespace,
                claim_seconds=claim_seconds,
            )
        except StoreUnavailableError as exc:
            if once:
                raise
            log.warning("the store does not answer, trying again: %s", exc)
            done = []
        if report is not None:
            for delivery in done:
                report(delivery)
        if once:
            return done
        await asyncio.sleep(interval)
