"""Answers pushed by the web app, for waiters on stores that cannot notify.

The app streams a run's answers as server-sent events while a client listens:

```
GET {endpoint}/api/changes?prefix=outcomes/<run8>/

event: outcome
data: <request_id>
```

with a comment line every 15 seconds to keep the connection open. The watcher
reads one such stream per run prefix, next to its polling: an event only wakes
waiters early, so when the app is down nothing is lost, and polling alone
carries on while the reader reconnects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import httpx

from hitlkit._config import LOCAL_HOSTS
from hitlkit._records import is_event_id, outcome_key, outcome_prefix

__all__ = ["follow_app"]

log = logging.getLogger("hitlkit")

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
# Three missed keep-alives: the connection is gone even if no error says so.
_TIMEOUT = httpx.Timeout(10.0, read=45.0)


async def follow_app(endpoint: str, prefix: str, on_keys: Callable[[set[str]], None]) -> None:
    """Call `on_keys({outcome_key})` for each answer the app at `endpoint` reports under `prefix`.

    Runs until cancelled. After any failure it waits 1, 2, 4 … up to 30
    seconds and connects again.
    """
    delay = FIRST_RETRY_SECONDS
    # A proxy from the environment must not stand in for a local address.
    local = urlsplit(endpoint).hostname in LOCAL_HOSTS
    url = f"{endpoint}/api/changes"
    async with httpx.AsyncClient(timeout=_TIMEOUT, trust_env=not local) as client:
        while True:
            try:
                async with client.stream("GET", url, params={"prefix": prefix}) as response:
                    if _is_event_stream(response):
                        delay = FIRST_RETRY_SECONDS
                        async for request_id in _outcome_ids(response.aiter_lines()):
                            if is_event_id(request_id) and outcome_prefix(request_id) == prefix:
                                on_keys({outcome_key(request_id)})
            except Exception as exc:  # whatever went wrong, polling carries on meanwhile
                log.debug("no answers pushed from %s (%s); retrying", endpoint, exc)
            await asyncio.sleep(delay)
            delay = min(2 * delay, MAX_RETRY_SECONDS)


def _is_event_stream(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "")
    return response.status_code == 200 and content_type.startswith("text/event-stream")


async def _outcome_ids(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The data of each `outcome` event in a server-sent event stream."""
    event = ""
    data: list[str] = []
    async for line in lines:
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())
        elif not line:
            if event == "outcome" and data:
                yield "\n".join(data)
            event, data = "", []
