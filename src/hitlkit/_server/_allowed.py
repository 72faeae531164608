"""What a page offers to whom: the answer form, the inbox's quick answers, the cancel button.

The pages offer only what the app would then allow (`hitlkit._ops` decides, and
refuses anything else all the same):

- **answering** an event with assignees takes one of them: a signed-in browser whose
  token's name is not among them, or a link made for another identity, is shown who
  may answer instead of a form;
- **cancelling** takes what `POST /api/events/{id}/cancel` takes: an API token (a
  browser signed in with one) or an app without tokens, and, for an event with
  assignees, one of them; an answer link never cancels. Under a policy that counts
  identities, only who asked may withdraw it (with a token).

An app without a tokens file knows no identities: everyone may claim a name there,
so every page offers every action, as it did before assignees were checked.
"""

from __future__ import annotations

from hitlkit._policy_ops import is_requester
from hitlkit._records import EventRecord
from hitlkit._server._auth import Caller

__all__ = ["may_answer", "may_cancel"]


def may_answer(caller: Caller, record: EventRecord) -> bool:
    """Whether `caller` may answer `record` (as far as the page can tell before a name is typed)."""
    return caller.kind == "nobody" or record.may_answer(caller.by(None))


def may_cancel(caller: Caller, record: EventRecord) -> bool:
    """Whether `caller` may call `record` off: not through a link, and as one of its
    assignees; under a policy that counts identities, only as who asked."""
    if record.policy is not None and record.policy.needs_identity:
        return caller.proof != "declared" and is_requester(record, caller.identity)
    return caller.kind != "link" and may_answer(caller, record)
