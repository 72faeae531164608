"""hitlkit: pause a running workflow for a typed answer from a person, and resume.

```python
import hitlkit as hitl

event = hitl.new_event("add_to_x", data_type=int, prompt="What should I add to x?")
print(event.form_url)
y = event.wait()
```
"""

from hitlkit._audit import AuditEntry
from hitlkit._client import Client, EventInfo, answer, cancel, get_event, list_events
from hitlkit._event import NOT_GIVEN, Event, new_event
from hitlkit._exceptions import (
    AccessDeniedError,
    AlreadyAnsweredError,
    ConfigurationError,
    CorruptRecordError,
    EventCancelledError,
    EventClosedError,
    EventConflictError,
    EventNotFoundError,
    EventResolvedError,
    EventTimeoutError,
    HitlError,
    InvalidLinkError,
    InvalidValueError,
    NotAssignedError,
    StoreUnavailableError,
    TransportError,
    UnsupportedTypeError,
)
from hitlkit._records import EventRecord, EventScope, Outcome, OutcomeStatus
from hitlkit._store import LocalStore, MemoryStore, Store, open_store

__version__ = "0.1.0"

__all__ = [
    "NOT_GIVEN",
    "AccessDeniedError",
    "AlreadyAnsweredError",
    "AuditEntry",
    "Client",
    "ConfigurationError",
    "CorruptRecordError",
    "Event",
    "EventCancelledError",
    "EventClosedError",
    "EventConflictError",
    "EventInfo",
    "EventNotFoundError",
    "EventRecord",
    "EventResolvedError",
    "EventScope",
    "EventTimeoutError",
    "HitlError",
    "InvalidLinkError",
    "InvalidValueError",
    "LocalStore",
    "MemoryStore",
    "NotAssignedError",
    "Outcome",
    "OutcomeStatus",
    "Store",
    "StoreUnavailableError",
    "TransportError",
    "UnsupportedTypeError",
    "answer",
    "cancel",
    "get_event",
    "list_events",
    "new_event",
    "open_store",
]
