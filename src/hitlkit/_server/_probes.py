"""`/healthz`, `/readyz` and `/metrics`: for probes and Prometheus, not for people.

- `GET /healthz`: the process answers (200 `{"status": "ok"}`); the store is not read.
- `GET /readyz`: the store answers a small read within `READY_TIMEOUT_SECONDS`: 200 with
  its kind and how long the read took, else 503 `store_unavailable` with `Retry-After`.
- `GET /metrics`: Prometheus text (`hitlkit._server._metrics`); it needs a scrape token or
  an API token where the app has tokens (`hitlkit._server._auth.authenticate_scrape`).

The probes need no credential, and say nothing a stranger could use: the store's kind
(`file`, `s3`, ...), never its URL, folder or bucket. `hitl serve --metrics-port N` also
serves the three on 127.0.0.1:N, where `/metrics` needs no token (`metrics_port_app`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from hitlkit import _errors
from hitlkit._config import LOOPBACK_HOSTS
from hitlkit._exceptions import StoreUnavailableError
from hitlkit._server._auth import authenticate_scrape
from hitlkit._server._context import store_of
from hitlkit._server._errors import RETRY_AFTER_SECONDS, error_response
from hitlkit._server._guards import Guards
from hitlkit._server._metrics import CONTENT_TYPE, AppMetrics, backend_of
from hitlkit._server._views import REFUSED, ErrorBody
from hitlkit._store import Store

__all__ = ["READY_TIMEOUT_SECONDS", "ByPort", "metrics_port_app", "router"]

READY_TIMEOUT_SECONDS = 2.0
"""How long `/readyz` waits for the store before it says the store did not answer."""

router = APIRouter(tags=["operations"])


_BAD_HOST: dict[int | str, dict[str, Any]] = {400: REFUSED[400]}


@router.get("/healthz", responses={200: {"description": '`{"status": "ok"}`'}, **_BAD_HOST})
async def healthz() -> dict[str, str]:
    """The process answers: for a liveness probe. Reads nothing, needs no credential."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        200: {"description": '`{"status": "ready", "store": {"backend", "latency_ms"}}`'},
        **_BAD_HOST,
        503: {
            "model": ErrorBody,
            "description": "`store_unavailable`: the store did not answer; see `Retry-After`",
        },
    },
)
async def readyz(request: Request) -> Response:
    """The store answers a small read: for a readiness probe. Needs no credential."""
    return await _ready(store_of(request))


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
        **_BAD_HOST,
        401: {"model": ErrorBody, "description": "`unauthorized`: no valid scrape or API token"},
    },
)
async def metrics(request: Request) -> Response:
    """This app's metrics, for Prometheus; a scrape token (or an API token) where the app
    has tokens."""
    if not getattr(request.app.state, "metrics_open", False):
        authenticate_scrape(request)
    return await _metrics(request)


async def _ready(store: Store) -> Response:
    backend = backend_of(store)
    start = time.perf_counter()
    try:
        await asyncio.wait_for(store.probe_async(), READY_TIMEOUT_SECONDS)
    except (StoreUnavailableError, asyncio.TimeoutError) as exc:
        cause = (
            exc.cause
            if isinstance(exc, StoreUnavailableError)
            else f"no answer within {READY_TIMEOUT_SECONDS:g} s"
        )
        return error_response(
            _errors.STORE_UNAVAILABLE,
            f"the store did not answer ({cause})",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            status="unavailable",
            store={"backend": backend},
            cause=cause,
        )
    latency_ms = round((time.perf_counter() - start) * 1000, 3)
    return JSONResponse(
        {"status": "ready", "store": {"backend": backend, "latency_ms": latency_ms}}
    )


async def _metrics(request: Request) -> Response:
    found: Any = getattr(request.app.state, "metrics", None)
    if not isinstance(found, AppMetrics):  # a host that replaced the app's state
        found = request.app.state.metrics = AppMetrics()
    store = getattr(request.app.state, "store", None)
    body = await found.render(store if isinstance(store, Store) else None)
    return Response(body, media_type=CONTENT_TYPE)


def metrics_port_app(app: Any) -> ASGIApp:
    """`/healthz`, `/readyz` and `/metrics` of `app`, for loopback only: no token needed.

    It answers only to loopback host names, so that no web page can read it by
    pointing a name of its own at 127.0.0.1.
    """
    side = Starlette(
        routes=[
            Route("/healthz", _healthz_response),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )
    side.state.store = app.state.store
    side.state.metrics = app.state.metrics
    side.state.metrics_open = True
    return Guards(side, hosts=sorted(LOOPBACK_HOSTS))


async def _healthz_response(request: Request) -> Response:
    return JSONResponse(await healthz())


class ByPort:
    """Send the requests that arrive on local port `port` to `side`, the rest to `app`.

    One server listens on both sockets (`hitl serve --metrics-port`): one loop, one
    shutdown, and the app's objects shared without copies.
    """

    def __init__(self, app: ASGIApp, *, port: int, side: ASGIApp) -> None:
        self.app = app
        self.port = port
        self.side = side

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        if server is not None and server[1] == self.port:
            await self.side(scope, receive, send)
        else:
            await self.app(scope, receive, send)
