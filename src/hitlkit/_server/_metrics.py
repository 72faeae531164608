"""The app's Prometheus metrics, in a registry of its own (several apps may share a process).

| metric                         | type      | what                                            |
|--------------------------------|-----------|-------------------------------------------------|
| `hitlkit_build_info`           | info      | hitlkit's version (label `version`)             |
| `hitlkit_events_pending`       | gauge     | pending events, counted from the index          |
| `hitlkit_outcomes_total`       | counter   | outcomes the app recorded, by `status`, `via`   |
| `hitlkit_answer_wake_seconds`  | histogram | outcome recorded → sent on a change stream      |
| `hitlkit_store_call_seconds`   | histogram | store calls, by `backend` and `op`              |
| `hitlkit_store_errors_total`   | counter   | failed store calls, by `backend`, `op`, `error` |
| `hitlkit_notifications_total`  | counter   | notifications sent by this process              |
| `process_*`, `python_*`        |           | prometheus-client's process and runtime metrics |

The pending count lists two index folders (names only): it is refreshed when a scrape
finds it older than `pending_refresh_seconds` (15 by default), so however often
Prometheus scrapes, and however many scrape, the store is listed at most that often.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hitlkit import _index, _notify
from hitlkit._exceptions import HitlError
from hitlkit._records import OUTCOMES_PREFIX, Outcome, utcnow
from hitlkit._server._context import app_version
from hitlkit._store import Store
from hitlkit._store._timed import TimedStore

__all__ = ["CONTENT_TYPE", "PENDING_REFRESH_SECONDS", "AppMetrics", "backend_of"]

log = logging.getLogger("hitlkit")

CONTENT_TYPE = CONTENT_TYPE_LATEST
PENDING_REFRESH_SECONDS = 15.0
"""The longest a scrape reuses the pending count before listing the index again."""
PENDING_TIMEOUT_SECONDS = 5.0
"""How long a scrape waits for the index to be listed; past it, the last count stays."""

_STORE_OPS = ("get", "put_if_absent", "list", "list_entries", "delete", "probe")
_STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_WAKE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_LABEL = re.compile(r"[a-z][a-z0-9_-]{0,31}")


class AppMetrics:
    """One app's metrics: what it records, counts and times, and its registry.

    `store(inner)` wraps the app's store so that its calls are timed and the outcomes
    written through it counted; `render` refreshes the pending count if it is due and
    returns the text a scrape gets.
    """

    def __init__(
        self,
        *,
        pending_refresh_seconds: float = PENDING_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = CollectorRegistry()
        self.pending = _PendingCollector(pending_refresh_seconds, clock)
        registry = self.registry
        Info("hitlkit_build", "The hitlkit serving this app.", registry=registry).info(
            {"version": app_version()}
        )
        self.outcomes = Counter(
            "hitlkit_outcomes",
            "Outcomes this app recorded: status (answered, cancelled, timed_out, defaulted) "
            "and the channel (via: form, api, cli, python, timeout).",
            ["status", "via"],
            registry=registry,
        )
        self.wake = Histogram(
            "hitlkit_answer_wake_seconds",
            "Seconds from an outcome's recorded time (by the recording process's clock) to "
            "this app sending it on a change stream (/api/changes: a waiting program, an "
            "open form) that was open when it was recorded.",
            buckets=_WAKE_BUCKETS,
            registry=registry,
        )
        self.store_seconds = Histogram(
            "hitlkit_store_call_seconds",
            "Seconds each call of this app to its store took, failed calls too.",
            ["backend", "op"],
            buckets=_STORE_BUCKETS,
            registry=registry,
        )
        self.store_errors = Counter(
            "hitlkit_store_errors",
            "Calls of this app to its store that failed, by the error's class.",
            ["backend", "op", "error"],
            registry=registry,
        )
        registry.register(self.pending)
        registry.register(_NotificationsCollector())
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)

    def store(self, inner: Store) -> TimedStore:
        """`inner`, timed and counted in these metrics."""
        backend = backend_of(inner)
        timers = {op: self.store_seconds.labels(backend, op) for op in _STORE_OPS}

        def on_call(op: str, seconds: float, error: BaseException | None) -> None:
            timers[op].observe(seconds)
            if isinstance(error, Exception):  # not a cancelled request
                self.store_errors.labels(backend, op, type(error).__name__).inc()

        return TimedStore(inner, on_call=on_call, on_write=self._on_write)

    def _on_write(self, key: str, data: bytes) -> None:
        if key.startswith(OUTCOMES_PREFIX) and key.endswith(".json"):
            try:
                outcome = json.loads(data)
                status, via = str(outcome["status"]), str(outcome["via"])
            except (ValueError, KeyError, TypeError):
                return
            self.outcomes.labels(_label(status), _label(via)).inc()

    def sent_on_stream(self, outcome: Outcome, *, stream_opened: float) -> None:
        """An outcome went out on a change stream opened at `stream_opened` (epoch seconds)."""
        recorded = outcome.at.timestamp()
        if recorded >= stream_opened:  # older ones are news to the stream, not to its waiter
            self.wake.observe(max(0.0, utcnow().timestamp() - recorded))

    async def render(self, store: Store | None) -> bytes:
        """The scrape's text, the pending count refreshed first if it is due."""
        if store is not None:
            await self.pending.refresh(store)
        return generate_latest(self.registry)


def backend_of(store: Store) -> str:
    """The store's kind, safe to show anyone: its URL's scheme (`file`, `memory`, `s3`, ...)."""
    return store.url.partition("://")[0] or "file"


def _label(text: str) -> str:
    """`text` as a label value if it looks like a channel or status, else `other`."""
    return text if _LABEL.fullmatch(text) else "other"


class _PendingCollector(Collector):
    """`hitlkit_events_pending`: the count as of the last refresh; none before the first."""

    def __init__(self, refresh_seconds: float, clock: Callable[[], float]) -> None:
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._count: int | None = None
        self._counted_at: float | None = None
        self._lock = asyncio.Lock()

    async def refresh(self, store: Store) -> None:
        """Count again if the last count is older than `refresh_seconds` (tried or not)."""
        async with self._lock:  # scrapes at once wait for one listing
            now = self._clock()
            if self._counted_at is not None and now - self._counted_at < self.refresh_seconds:
                return
            self._counted_at = now
            try:
                count = _index.count_pending(store)
                self._count = await asyncio.wait_for(count, PENDING_TIMEOUT_SECONDS)
            except (HitlError, asyncio.TimeoutError) as exc:
                log.warning("could not count the pending events for /metrics: %s", exc)

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "hitlkit_events_pending",
            "Events waiting for an answer, from the store's index (counted again by a "
            "scrape at most every 15 s by default: pending_refresh_seconds).",
        )
        if self._count is not None:
            gauge.add_metric([], self._count)
        yield gauge


class _NotificationsCollector(Collector):
    """`hitlkit_notifications_total`, from what this process delivered (`_notify`)."""

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "hitlkit_notifications",
            "Notifications this process delivered (a process that creates events sends "
            "them), by the target's scheme, kind (opened, reminder) and result (sent, failed).",
            labels=["scheme", "kind", "result"],
        )
        for (scheme, kind, result), count in sorted(_notify.delivery_counts().items()):
            family.add_metric([scheme, kind, result], count)
        yield family
