"""hitlkit: pause a running workflow for a typed answer from a person, and resume.

```python
import hitlkit as hitl

event = hitl.new_event("add_to_x", data_type=int, prompt="What should I add to x?")
print(event.form_url)
y = event.wait()
```

`ObjectStore` (which needs `pip install "hitlkit[s3]"`), `create_app` and `StreamLimits`
(the web app, which needs `pip install "hitlkit[server]"`) are imported on first use, so
`import hitlkit` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hitlkit._approval import (
    Approval,
    ApprovalRejected,
    ApprovalTimeout,
    approval_name,
    approval_prompt,
    ask_approval,
    check_approval,
    redact,
    require_approval,
    wait_for_approval,
)
from hitlkit._audit import AuditEntry
from hitlkit._client import Client, EventInfo, answer, cancel, get_event, list_events
from hitlkit._event import NOT_GIVEN, Event, new_event
from hitlkit._exceptions import (
    AccessDeniedError,
    AlreadyAnsweredError,
    ConfigurationError,
    CorruptRecordError,
    DecisionFailedError,
    DelegationError,
    EventCancelledError,
    EventClosedError,
    EventConflictError,
    EventNotFoundError,
    EventResolvedError,
    EventTimeoutError,
    GrantError,
    HitlError,
    IdentityRequiredError,
    InvalidLinkError,
    InvalidValueError,
    NotAssignedError,
    SeparationOfDutiesError,
    StoreUnavailableError,
    TransportError,
    UnsupportedTypeError,
    VoteChangedError,
)
from hitlkit._links import answer_url, sign_answer_link
from hitlkit._policy import (
    Delegation,
    GrantRecord,
    Policy,
    PolicyState,
    Quorum,
    Step,
    StepTaken,
    Vote,
)
from hitlkit._records import EventRecord, EventScope, Outcome, OutcomeStatus
from hitlkit._retention import PrunedEvent, PruneReport, prune
from hitlkit._store import LocalStore, MemoryStore, Store, open_store

if TYPE_CHECKING:
    from hitlkit._server import StreamLimits, create_app
    from hitlkit._store._object import ObjectStore

__version__ = "0.1.0"

__all__ = [
    "NOT_GIVEN",
    "AccessDeniedError",
    "AlreadyAnsweredError",
    "Approval",
    "ApprovalRejected",
    "ApprovalTimeout",
    "AuditEntry",
    "Client",
    "ConfigurationError",
    "CorruptRecordError",
    "DecisionFailedError",
    "Delegation",
    "DelegationError",
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
    "GrantError",
    "GrantRecord",
    "HitlError",
    "IdentityRequiredError",
    "InvalidLinkError",
    "InvalidValueError",
    "LocalStore",
    "MemoryStore",
    "NotAssignedError",
    "ObjectStore",
    "Outcome",
    "OutcomeStatus",
    "Policy",
    "PolicyState",
    "PruneReport",
    "PrunedEvent",
    "Quorum",
    "SeparationOfDutiesError",
    "Step",
    "StepTaken",
    "Store",
    "StoreUnavailableError",
    "StreamLimits",
    "TransportError",
    "UnsupportedTypeError",
    "Vote",
    "VoteChangedError",
    "answer",
    "answer_url",
    "approval_name",
    "approval_prompt",
    "ask_approval",
    "cancel",
    "check_approval",
    "create_app",
    "get_event",
    "list_events",
    "new_event",
    "open_store",
    "prune",
    "redact",
    "require_approval",
    "sign_answer_link",
    "wait_for_approval",
]

_LAZY = {
    "ObjectStore": "hitlkit._store._object",
    "StreamLimits": "hitlkit._server",
    "create_app": "hitlkit._server",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hitlkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
