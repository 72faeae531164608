"""`create_app`: the web app over one store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry import metrics, trace

from hitlkit import _config
from hitlkit._server import (
    _api,
    _changes,
    _choose,
    _docs,
    _inbox,
    _login,
    _page_posts,
    _pages,
    _policy_api,
    _probes,
    _slack,
)
from hitlkit._server._auth import AuthSettings
from hitlkit._server._chat_driver import CHAT_EVERY_SECONDS, Interactions, chatting
from hitlkit._server._context import app_version
from hitlkit._server._errors import install_error_handlers
from hitlkit._server._guards import MAX_BODY_BYTES, Guards
from hitlkit._server._metrics import PENDING_REFRESH_SECONDS, AppMetrics
from hitlkit._server._policy_driver import DRIVE_EVERY_SECONDS, driving
from hitlkit._server._pruning import PRUNE_EVERY_SECONDS, Retention, pruning
from hitlkit._server._streams import StreamGate, StreamLimits
from hitlkit._server._uvicorn import install_redaction
from hitlkit._store import Store

__all__ = ["create_app"]

_DESCRIPTION = f"""
Answer the questions that running workflows ask, from programs.

- The first answer recorded wins: later answers get **409** `already_answered`,
  answers after the deadline or a cancel get **410** `closed`; both carry the
  recorded `outcome` (its `value`, `by`, `at`, `via`).
- The same answer sent again (the same value from the same identity, or the same
  `Idempotency-Key` header) is a retry: **200** with the recorded outcome and
  `"already_recorded": true`. One key with another value is a **409**.
- A value is checked against the type recorded with the event (**422** `invalid_value`
  says what was expected). A JSON string is parsed as text: `"42"` answers an `int`.
- Every error body is `{{"error": code, "message": sentence, ...}}`.
- Request bodies are limited to {MAX_BODY_BYTES} bytes (**413** `payload_too_large`).
- Where the app has a tokens file, send `Authorization: Bearer TOKEN` (an API token,
  or the token of an answer link, which allows its one event). Without a valid one:
  **401** `unauthorized` (the same for every wrong token) or `link_expired`; a link
  used beyond its event: **403** `forbidden` / `wrong_event`. The identity recorded
  is the credential's; `by` in a body counts only where the app needs no credential.
- An event with assignees refuses everyone else with **403** `not_assigned`.
- Under a decision policy (`policy` on the event; `policy_state` says where it stands),
  an answer is a vote: **202** with a null `outcome` while the votes decide nothing
  yet. Policies that count identities need a token or a link made for one
  (**403** `identity_required`); who asked may not answer under separation of duties
  (**403** `separation_of_duties`); a changed vote is **409** `vote_changed`. See
  `/delegate`, `/api/grants` and `/evidence` (signed with `HITL_EVIDENCE_KEY`).
- A browser's request that changes state must come from this app's own pages
  (`Sec-Fetch-Site: same-origin`, else an `Origin` equal to the app's): others,
  including other ports of the same host, get **403** `cross_site`.
- API tokens go in the `Authorization` header only; `?token=` takes answer links.
- `/healthz` (the process answers) and `/readyz` (the store answers, with its latency;
  **503** `store_unavailable` if not) need no credential; `/metrics` (Prometheus text)
  takes a scrape token or an API token where the app has tokens.
- A store that does not answer gives **503** `store_unavailable` with `Retry-After`
  (nothing was recorded); a stored record that cannot be read, **500** `corrupt_record`.
- The change streams take the same credential as reading events, and only from the
  app's own pages or programs; each client may hold a few open (**429**
  `too_many_streams` with `Retry-After` beyond), and each ends after a while: connect
  again with `since=` (or `Last-Event-ID`) to miss nothing.

People answer at `/` (the inbox, which `/api/inbox/changes` keeps live) and
`/form/{{request_id}}`.
"""


def create_app(
    store: Store | None = None,
    *,
    tokens_file: str | Path | None = None,
    secret: str | None = None,
    allowed_hosts: Sequence[str] | None = None,
    streams: StreamLimits | None = None,
    previous_secrets: Sequence[str] | None = None,
    fast_lane: bool = True,
    metrics_tokens_file: str | Path | None = None,
    pending_refresh_seconds: float = PENDING_REFRESH_SECONDS,
    retention: timedelta | str | None = None,
    archive: str | None = None,
    prune_every: float = PRUNE_EVERY_SECONDS,
    drive_every: float | None = None,
    chat_every: float | None = None,
    slack_interactions: Interactions | None = None,
) -> FastAPI:
    """The hitlkit web app (inbox, forms, JSON API) over `store`.

    Without a store, set `app.state.store` before the first request: a host
    that opens its store at startup (the Flyte app environment) does that.

    - `tokens_file`: a file of API token hashes (`hitl token create NAME`); with it,
      every request needs a token or an answer link. Without it the app trusts its
      callers: serve it on loopback only.
    - `secret`: verifies answer links and signs form tokens; replicas need the same one.
    - `previous_secrets`: former secrets, still verifying the links, sign-ins and forms
      they signed (rotation); default `HITL_SECRET_PREVIOUS` (comma-separated).
    - `allowed_hosts`: the Host names the app answers to (others get 400), against
      DNS rebinding; `None` accepts any.
    - `streams`: caps, heartbeat and length of the change streams; by default from
      the `HITL_STREAM…` variables (`StreamLimits.from_env`).
    - `fast_lane`: serve `POST /submit/json` with a JSON body ahead of FastAPI's routing
      (`_api.SubmitJsonLane`); it answers as the route does, only sooner. `False`
      leaves every request to FastAPI (the parity test compares the two).
    - `metrics_tokens_file`: a file of scrape token hashes (`hitl token create NAME
      --metrics`), which read `/metrics` and nothing else; default
      `HITL_METRICS_TOKEN_FILE`. With it or `tokens_file`, `/metrics` needs a token.
    - `pending_refresh_seconds`: how long `/metrics` reuses its count of pending events
      before listing the index again.
    - `retention`: prune events resolved (or past their deadline, unanswered) longer ago
      than this, a `timedelta` or text such as `"30d"`, in the background, once soon after
      the start and then every `prune_every` seconds (jittered); default `HITL_RETENTION`,
      unset keeps them forever, and `"forever"` too. `archive` (default `HITL_ARCHIVE`): a
      folder or bucket URL each pruned event is copied to first.
    - `drive_every`: how often (seconds, jittered) the app takes the escalation steps and
      timeout actions of events under a policy that are due (`_policy_driver`); default
      `HITL_POLICY_EVERY`, else 5.
    - `chat_every`: with `HITL_SLACK_BOT_TOKEN`, how often (seconds, jittered) the app
      updates the Slack messages of events that ended (`_chat_driver`); default
      `HITL_CHAT_EVERY`, else 2. `slack_interactions`: what takes the interactions Socket
      Mode brings (with `HITL_SLACK_APP_TOKEN`); default `/slack/interact`'s handler.

    `/healthz`, `/readyz` and `/health` need no credential. The store's calls are
    timed for `/metrics` through a wrapper (`TimedStore`) that `app.state.store` holds.

    ```python
    import uvicorn
    uvicorn.run(create_app(LocalStore(".hitl")), host="127.0.0.1", port=8080)
    ```
    """
    app = FastAPI(
        title="hitlkit",
        version=app_version(),
        description=_DESCRIPTION,
        docs_url=None,  # ours, made here: FastAPI's loads Swagger UI from a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
        telemetry=_telemetry(),
        lifespan=chatting(
            _config.seconds("HITL_CHAT_EVERY", CHAT_EVERY_SECONDS)
            if chat_every is None
            else _positive(chat_every, "chat_every"),
            driving(
                _config.seconds("HITL_POLICY_EVERY", DRIVE_EVERY_SECONDS)
                if drive_every is None
                else _positive(drive_every),
                pruning(_retention(retention, archive, prune_every)),
            ),
            slack_interactions,
        ),
    )
    app.state.metrics = metrics = AppMetrics(pending_refresh_seconds=pending_refresh_seconds)
    if store is not None:
        app.state.store = metrics.store(store)
    if previous_secrets is None:
        previous_secrets = _config.previous_secrets()
    if metrics_tokens_file is None:
        metrics_tokens_file = _config.metrics_tokens_file()
    app.state.auth = AuthSettings.build(
        tokens_file=tokens_file,
        secret=secret,
        previous_secrets=previous_secrets,
        metrics_tokens_file=metrics_tokens_file,
    )
    # Here, not where hitlkit starts uvicorn: `uvicorn --factory` started by hand redacts too.
    install_redaction()
    app.state.streams = StreamGate(streams or StreamLimits.from_env())
    install_error_handlers(app)
    if fast_lane:
        app.add_middleware(_api.SubmitJsonLane)  # after the guards: it needs their checks
    app.add_middleware(Guards, hosts=allowed_hosts, max_bytes=MAX_BODY_BYTES)
    app.include_router(_api.router)
    app.include_router(_policy_api.router)
    app.include_router(_probes.router)
    app.include_router(_changes.router)
    app.include_router(_inbox.router)
    app.include_router(_pages.router)
    app.include_router(_page_posts.router)
    app.include_router(_choose.router)
    app.include_router(_login.router)
    app.include_router(_docs.router)
    app.include_router(_slack.router)
    return app


def _retention(
    retention: timedelta | str | None, archive: str | None, every: float
) -> Retention | None:
    """What the app prunes, from its arguments or else the environment."""
    if retention is None:
        older_than = _config.retention()
    elif isinstance(retention, str):
        older_than = _config.parse_retention(retention)
    else:
        if retention <= timedelta(0):
            raise ValueError(f"retention must be a positive duration, got {retention}")
        older_than = retention
    if older_than is None:
        return None
    if not every > 0:
        raise ValueError(f"prune_every must be a positive number of seconds, got {every!r}")
    return Retention(older_than, archive or _config.retention_archive(), every)


def _positive(every: float, what: str = "drive_every") -> float:
    if not every > 0:
        raise ValueError(f"{what} must be a positive number of seconds, got {every!r}")
    return every


def _telemetry() -> TelemetryConfig:
    # FastAPI looks for OpenTelemetry providers on every request, which costs about a tenth
    # of a short request; look once instead: spans and metrics are on when a provider is set
    # up before the app is made (in code, or by OTEL_PYTHON_TRACER_PROVIDER and the like).
    tracing = not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    meter = type(metrics.get_meter_provider()).__name__
    return {
        "tracing": tracing,
        "metrics": meter not in ("_ProxyMeterProvider", "NoOpMeterProvider"),
    }
