"""Serve the web app: inside a workflow process when none answers yet, or in the foreground.

`ensure_app(store, endpoint)` runs when an event is created. It asks
`{endpoint}/health` who is there:

- a hitlkit app serving the same store: nothing to do;
- a hitlkit app serving another store, or another program: `ConfigurationError`,
  since forms there would not show this process's events;
- nobody, at a local address: start the app on a daemon thread of this process;
- nobody, at a remote (or https) address: log a warning; waiting still works
  through the store.

The answer is remembered per endpoint and store, so later events cost nothing.
When this process uses an app that another process started, a keeper thread
checks on it every few seconds while this process has waiters, and starts the
app here if its owner has exited: so forms keep loading as long as any process
sharing the store still waits.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn
from fastapi import FastAPI

from hitlkit import _config
from hitlkit._config import LOCAL_HOSTS, LOOPBACK_HOSTS
from hitlkit._exceptions import ConfigurationError
from hitlkit._runtime import Runtime, runtime
from hitlkit._server._app import create_app
from hitlkit._server._auth import check_serving
from hitlkit._server._context import store_fingerprint
from hitlkit._server._probes import ByPort, metrics_port_app
from hitlkit._server._sse import end_streams
from hitlkit._server._uvicorn import (
    ConnectionLimits,
    HttpProtocol,
    ServerConfig,
    log_config,
)
from hitlkit._store import Store

__all__ = ["bind_or_explain", "ensure_app", "serve", "stop_started_apps"]

log = logging.getLogger("hitlkit")

PROBE_TIMEOUT_SECONDS = 1.0
START_TIMEOUT_SECONDS = 5.0
KEEPER_INTERVAL_SECONDS = 2.0


class _Apps:
    """The apps a runtime started or borrows, and the endpoints it has checked.

    Part of the runtime (`runtime().get(_Apps)`): its shutdown stops the apps, at
    exit letting each finish the request that brought the last answer.
    """

    def __init__(self, owner: Runtime) -> None:
        self.owner = owner
        self.lock = threading.Lock()
        self.checked: set[tuple[str, str]] = set()
        self.started: dict[str, tuple[uvicorn.Server, threading.Thread]] = {}
        self.borrowed: dict[str, Store] = {}
        self.keeper: threading.Thread | None = None
        owner.on_shutdown(self.stop)

    def stop(self) -> None:
        with self.lock:
            started = list(self.started.values())
            self.started.clear()
            self.checked.clear()
            self.borrowed.clear()
        for server, _ in started:
            server.should_exit = True
        for _, thread in started:
            thread.join(START_TIMEOUT_SECONDS)


def _apps() -> _Apps:
    return runtime().get(_Apps)


async def ensure_app(store: Store, endpoint: str) -> None:
    """Make sure a hitlkit app serving `store` answers at `endpoint`, starting one if needed.

    Raises `ConfigurationError` when the endpoint is taken by another program or
    by a hitlkit app serving another store.

    ```python
    await ensure_app(LocalStore(".hitl"), "http://127.0.0.1:8080")
    ```
    """
    endpoint = endpoint.rstrip("/")
    if (endpoint, store_fingerprint(store)) in _apps().checked:
        return
    await asyncio.to_thread(_ensure, store, endpoint)


def serve(
    store: Store,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    tokens_file: str | None = None,
    secret: str | None = None,
    insecure: bool = False,
    allowed_hosts: list[str] | None = None,
    forwarded_allow_ips: Sequence[str] | None = None,
    metrics_port: int | None = None,
    retention: str | None = None,
    archive: str | None = None,
) -> None:
    """Serve the app over `store` on `host:port` until interrupted (`hitl serve`).

    Options as in `create_app`. Without `tokens_file`, a non-loopback `host` is
    refused unless `insecure`; on loopback, `allowed_hosts` defaults to the
    loopback names. `forwarded_allow_ips`: the proxies whose `X-Forwarded-*`
    headers are believed (default `HITL_FORWARDED_ALLOW_IPS`, else none).
    `metrics_port`: also serve `/metrics`, `/healthz` and `/readyz` on
    127.0.0.1:`metrics_port`, with no token (loopback only), by the same server.
    Raises `ConfigurationError` when an address cannot be bound.

    ```python
    serve(LocalStore(".hitl"), port=8090)
    ```
    """
    check_serving(host, tokens_file=tokens_file, insecure=insecure)
    if tokens_file is None:
        _warn_if_exposed(host, port)
    app = create_app(
        store,
        tokens_file=tokens_file,
        secret=secret,
        allowed_hosts=allowed_hosts or _default_hosts(host),
        retention=retention,
        archive=archive,
    )
    if metrics_port == port:
        raise ConfigurationError(
            f"the metrics port must differ from the app's port {port}; "
            f"e.g. --metrics-port {_another_port(port)}"
        )
    sockets = [bind_or_explain(host, port, "--port")]
    served: Any = app
    if metrics_port is not None:
        sockets.append(bind_or_explain("127.0.0.1", metrics_port, "--metrics-port"))
        served = ByPort(app, port=metrics_port, side=metrics_port_app(app))
    server = uvicorn_server(served, embedded=False, forwarded_allow_ips=forwarded_allow_ips)
    # What exists now (modules, the app, its models) lives as long as the process: the
    # collector need not go through it again, which it would do in long pauses under load.
    gc.collect()
    gc.freeze()
    server.run(sockets=sockets)


def bind_or_explain(host: str, port: int, option: str) -> socket.socket:
    """A listening socket on `host:port`, or `ConfigurationError` naming the `option` to change."""
    try:
        return _bind(host, port)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot serve on {host}:{port}: {exc.strerror or exc}; "
            f"choose another port, e.g. {option} {_another_port(port)}"
        ) from None


def stop_started_apps() -> None:
    """Stop the apps `ensure_app` started in this process, and forget what it checked."""
    _apps().stop()


def _ensure(store: Store, endpoint: str) -> None:
    fingerprint = store_fingerprint(store)
    apps = _apps()
    with apps.lock:
        if (endpoint, fingerprint) in apps.checked:
            return
        host, port = _host_and_port(endpoint)
        can_start = host in LOCAL_HOSTS and endpoint.startswith("http://")
        if _answers(endpoint, fingerprint, PROBE_TIMEOUT_SECONDS):
            if can_start and endpoint not in apps.started:
                _borrow(apps, store, endpoint)
        else:
            if can_start:
                _start(apps, store, endpoint, host, port, fingerprint)
            else:
                log.warning(
                    "no hitlkit app answers at %s, so its forms will not load until one runs "
                    "there; waiting for answers still works through the store",
                    endpoint,
                )
        apps.checked.add((endpoint, fingerprint))


def _borrow(apps: _Apps, store: Store, endpoint: str) -> None:
    """Remember that another process serves `endpoint`, and keep an eye on it."""
    apps.borrowed[endpoint] = store
    if apps.keeper is None or not apps.keeper.is_alive():
        apps.keeper = apps.owner.start_thread(_keep, apps, name="hitlkit-app-keeper")


def _keep(apps: _Apps) -> None:
    from hitlkit._watch import watcher_for

    while not apps.owner.stopping.wait(KEEPER_INTERVAL_SECONDS):
        with apps.lock:
            borrowed = list(apps.borrowed.items())
        for endpoint, store in borrowed:
            if watcher_for(store).subscriber_count() == 0:
                continue  # nobody here waits: nothing to keep serving
            try:
                _take_over_if_gone(apps, store, endpoint)
            except ConfigurationError as exc:
                log.warning("cannot keep serving forms at %s: %s", endpoint, exc)


def _take_over_if_gone(apps: _Apps, store: Store, endpoint: str) -> None:
    fingerprint = store_fingerprint(store)
    with apps.lock:
        if endpoint in apps.started or _answers(endpoint, fingerprint, PROBE_TIMEOUT_SECONDS):
            return
        host, port = _host_and_port(endpoint)
        _start(apps, store, endpoint, host, port, fingerprint)
        apps.borrowed.pop(endpoint, None)
        log.warning("the hitlkit app at %s had stopped; this process serves it now", endpoint)


def _answers(endpoint: str, fingerprint: str, timeout: float) -> bool:
    """Whether a hitlkit app serving this store answers; False if nothing answers at all."""
    local = _host_and_port(endpoint)[0] in LOCAL_HOSTS
    try:
        # A proxy from the environment must not stand in for a local address.
        with httpx.Client(timeout=timeout, trust_env=not local) as client:
            response = client.get(f"{endpoint}/health")
    except httpx.TransportError:
        return False
    if response.status_code in (502, 503, 504):
        return False  # a proxy or gateway with nothing behind it
    try:
        health = response.json()
    except ValueError:
        health = None
    if (
        response.status_code != 200
        or not isinstance(health, dict)
        or health.get("app") != "hitlkit"
    ):
        raise _taken(endpoint)
    if health.get("store") != fingerprint:
        port = _another_port(_host_and_port(endpoint)[1])
        raise ConfigurationError(
            f"the hitlkit app at {endpoint} serves another store; set HITL_ENDPOINT to another "
            f"port (e.g. http://127.0.0.1:{port}), or HITL_STORE to the store that app serves"
        )
    return True


def _start(
    apps: _Apps, store: Store, endpoint: str, host: str, port: int, fingerprint: str
) -> None:
    tokens_file = _config.tokens_file()
    check_serving(host, tokens_file=tokens_file, insecure=_config.insecure())
    if tokens_file is None:
        _warn_if_exposed(host, port)
    try:
        sock = _bind(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            # Another process may have just started its app here: ask once more.
            if _answers(endpoint, fingerprint, START_TIMEOUT_SECONDS):
                return
            raise _taken(endpoint) from None
        raise ConfigurationError(
            f"cannot start the hitlkit app at {endpoint}: {exc.strerror or exc}; set "
            f"HITL_ENDPOINT to a free local port, e.g. http://127.0.0.1:{_another_port(port)}"
        ) from None
    server = uvicorn_server(_embedded_app(store, host), embedded=True)
    thread = apps.owner.start_thread(server.run, sockets=[sock], name="hitlkit-app")
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise ConfigurationError(f"the hitlkit app did not start at {endpoint}; see the log")
        time.sleep(0.01)
    apps.started[endpoint] = (server, thread)
    log.info("hitlkit app started at %s", endpoint)


def _embedded_app(store: Store, host: str) -> FastAPI:
    """The app a workflow process serves, configured from the environment."""
    return create_app(
        store,
        tokens_file=_config.tokens_file(),
        secret=_config.secret(),
        allowed_hosts=_default_hosts(host),
        retention="forever",  # a workflow's app serves while it waits; it deletes nothing
    )


def _default_hosts(host: str) -> list[str] | None:
    """Loopback names for a loopback app (against DNS rebinding); any host otherwise."""
    return sorted(LOOPBACK_HOSTS) if host in LOOPBACK_HOSTS else None


def uvicorn_server(
    app: Any,
    *,
    embedded: bool,
    limits: ConnectionLimits | None = None,
    forwarded_allow_ips: Sequence[str] | None = None,
) -> uvicorn.Server:
    """The uvicorn server that runs `app` as hitlkit does (`embedded`: in a workflow process).

    `limits` default to the environment's (`HITL_HEADERS_TIMEOUT` and the like).
    `X-Forwarded-For` and `X-Forwarded-Proto` are believed only from the proxies in
    `forwarded_allow_ips` (default `HITL_FORWARDED_ALLOW_IPS`): from nobody unless set.
    """
    if forwarded_allow_ips is None:
        forwarded_allow_ips = _config.forwarded_allow_ips()
    # Inside a workflow process, leave its logging setup alone and report only problems.
    config = ServerConfig(
        app,
        limits=limits or _limits_from_environment(),
        log_level="warning" if embedded else "info",
        log_config=None if embedded else log_config(),
        http=HttpProtocol,
        lifespan="auto",  # the app's background prune (`_pruning`); raw ASGI apps have none
        ws="none",
        server_header=False,
        timeout_graceful_shutdown=1,
        proxy_headers=bool(forwarded_allow_ips),
        forwarded_allow_ips=list(forwarded_allow_ips) or None,
    )
    return _Server(config)  # the app redacts links in the access log itself


class _Server(uvicorn.Server):
    """uvicorn's server, which ends the app's change streams before it stops.

    Otherwise uvicorn waits for them, then cancels them with an error in the log:
    a stream never ends by itself until its client goes away.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        end_streams()
        await super().shutdown(sockets)


def _limits_from_environment() -> ConnectionLimits:
    default = ConnectionLimits()
    return ConnectionLimits(
        headers_seconds=_config.seconds("HITL_HEADERS_TIMEOUT", default.headers_seconds),
        body_seconds=_config.seconds("HITL_BODY_TIMEOUT", default.body_seconds),
        idle_seconds=_config.seconds("HITL_IDLE_TIMEOUT", default.idle_seconds),
        concurrency=_config.count("HITL_MAX_CONCURRENCY", default.concurrency),
    )


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on `host:port`; binding first makes "port taken" an `OSError`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name != "nt":  # on Windows the option lets a second server share the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1" if host == "localhost" else host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _warn_if_exposed(host: str, port: int) -> None:
    if host not in LOOPBACK_HOSTS:
        log.warning(
            "the hitlkit app has no login: anyone who can reach %s:%d can read and answer events",
            host,
            port,
        )


def _host_and_port(endpoint: str) -> tuple[str, int]:
    parts = urlsplit(endpoint)
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"the endpoint {endpoint!r} has an invalid port") from None
    return parts.hostname or "", port or (443 if parts.scheme == "https" else 80)


def _another_port(port: int) -> int:
    return 8090 if port != 8090 else 8091


def _taken(endpoint: str) -> ConfigurationError:
    return ConfigurationError(
        f"{endpoint} is in use by another program; set HITL_ENDPOINT to a free port, "
        f"e.g. http://127.0.0.1:{_another_port(_host_and_port(endpoint)[1])}"
    )
