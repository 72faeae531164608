"""`HitlTrigger`: wait in Airflow's triggerer until a hitlkit event resolves.

The trigger holds only the event's id, the store's URL and the app's endpoint,
plain JSON, so Airflow can store it, and a restarted triggerer recreates it and
goes on waiting on the same event. It waits with hitlkit's async wait (a store that
notifies wakes it at once; others are polled) and fires once, with the outcome's
status; the task, resumed, reads the answer itself from the store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from hitlkit._reading import load_event
from hitlkit._store import open_store
from hitlkit._waiting import Waiting, wait_async

__all__ = ["HitlTrigger"]


class HitlTrigger(BaseTrigger):
    """Fires when the hitlkit event `request_id` in `store` is answered, times out or is
    cancelled; the payload is `{"request_id": ..., "status": ...}`.

    `HitlOperator` defers to it; use it directly in an operator of your own:

    ```python
    event = hitlkit.new_event("ship", data_type=bool, run_id=..., serve=False)
    self.defer(
        trigger=HitlTrigger(event.request_id, event.store.url, event.endpoint),
        method_name="execute_complete",
    )
    ```

    `store` is a URL the triggerer can open (an absolute folder path, `file://`,
    `s3://...`): it runs in another process, often on another machine.
    """

    def __init__(self, request_id: str, store: str, endpoint: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        for option, value in (("request_id", request_id), ("store", store), ("endpoint", endpoint)):
            if not isinstance(value, str) or not value:
                raise TypeError(f"HitlTrigger's {option} must be non-empty text, got {value!r}")
        self.request_id = request_id
        self.store = store
        self.endpoint = endpoint

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and JSON arguments that recreate this trigger."""
        # The public path, not this module's: Airflow keeps it in its database.
        return (
            "hitlkit.contrib.airflow.HitlTrigger",
            {"request_id": self.request_id, "store": self.store, "endpoint": self.endpoint},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait until the event resolves (at its deadline at the latest), then fire once."""
        store = open_store(self.store)
        record = await load_event(store, self.request_id)
        self.log.info("waiting for an answer to %r (%s)", record.name, self.request_id)
        outcome = await wait_async(Waiting(store, record, self.endpoint, None))
        payload = {"request_id": self.request_id, "status": outcome.status}
        yield TriggerEvent(payload)  # type: ignore[no-untyped-call]
