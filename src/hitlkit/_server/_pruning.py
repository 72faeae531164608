"""The app's retention: prune the store in the background while the app serves.

With a retention (`create_app(retention=...)`, `hitl serve --retention`, or
`HITL_RETENTION`), the app prunes once shortly after it starts and then about every
`PRUNE_EVERY_SECONDS`, each wait jittered so that replicas started together do not
prune together. Replicas pruning at once are safe all the same (`_retention`): deletes
are idempotent and a key already gone is no error. A prune that fails (the store or
the archive down) is logged and tried again at the next turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from hitlkit._exceptions import HitlError
from hitlkit._records import utcnow
from hitlkit._retention import prune_events
from hitlkit._store import Store, open_store

__all__ = ["PRUNE_EVERY_SECONDS", "Retention", "pruning"]

log = logging.getLogger("hitlkit")

PRUNE_EVERY_SECONDS = 3600.0
FIRST_WITHIN = 0.1
"""The first prune comes within this share of the interval after the start."""
JITTER = 0.1
"""Each later wait is the interval give or take this share of it."""


@dataclass(frozen=True)
class Retention:
    """How long the app keeps resolved events, where it archives them, how often it looks."""

    older_than: timedelta
    archive: str | None = None
    every_seconds: float = PRUNE_EVERY_SECONDS


def pruning(
    retention: Retention | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: a background task that prunes while the app runs."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if retention is None:
            yield
            return
        task = asyncio.create_task(_prune_forever(app, retention), name="hitlkit-prune")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan


async def _prune_forever(app: FastAPI, retention: Retention) -> None:
    every = retention.every_seconds
    await asyncio.sleep(every * random.uniform(0, FIRST_WITHIN))  # noqa: S311 - not a secret
    archive: Store | None = None
    while True:
        store: Store | None = getattr(app.state, "store", None)
        if store is not None:
            try:
                if retention.archive is not None and archive is None:
                    archive = open_store(retention.archive)
                await prune_once(store, retention, archive)
            except (HitlError, OSError) as exc:
                log.warning("pruning %s failed; trying again later: %s", store.url, exc)
            except Exception:  # a bug must not end pruning for the life of the app
                log.exception("pruning %s failed; trying again later", store.url)
        await asyncio.sleep(every * random.uniform(1 - JITTER, 1 + JITTER))  # noqa: S311


async def prune_once(store: Store, retention: Retention, archive: Store | None) -> None:
    """One prune of `store`, logged when it deleted something."""
    report = await prune_events(store, retention.older_than, utcnow(), archive=archive)
    if report.events:
        archived = f", archived to {report.archive}" if report.archive else ""
        log.info(
            "pruned %d events (%d keys) resolved more than %s ago from %s%s",
            len(report.events),
            report.keys,
            retention.older_than,
            store.url,
            archived,
        )
