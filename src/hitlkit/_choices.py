"""One-click choices: which answers of an event a message offers as signed links.

A yes or no (and an `Approval`) offers Approve and Reject; a choice (`Literal`, `Enum`)
of at most `MAX_CHOICES` options offers one link each; every other type offers none
(the message keeps its link to the form). E-mail, Teams and any later channel share
`choices_for` and `choice_links`, so they offer the same answers.
"""

from __future__ import annotations

from typing import Any

from hitlkit import _config
from hitlkit._exceptions import UnsupportedTypeError
from hitlkit._links import choice_url, sign_choice_link
from hitlkit._records import EventRecord, is_approval
from hitlkit._values import adapter_of
from hitlkit._values._shape import option_text

__all__ = ["MAX_CHOICES", "choice_links", "choices_for", "may_answer", "names_who"]

MAX_CHOICES = 10
"""More options than this are answered on the form: a message is no menu."""


def choices_for(record: EventRecord) -> list[tuple[str, Any]]:
    """(label, JSON value) of each answer a message may offer as one click; `[]` for none."""
    if is_approval(record):
        return [("Approve", {"approved": True}), ("Reject", {"approved": False})]
    try:
        shape = adapter_of(record).shape
    except UnsupportedTypeError:
        return []
    if shape.kind is not None and shape.kind.name == "boolean":
        return [("Approve", True), ("Reject", False)]
    if shape.structure == "choice" and 0 < len(shape.options) <= MAX_CHOICES:
        return [(option_text(option), option) for option in shape.options]
    return []


def names_who(record: EventRecord) -> bool:
    """Whether a link must name who answers: the event has assignees, or a policy that
    counts identities (a link for anyone could not vote)."""
    policy = record.policy
    return record.assignees is not None or (policy is not None and policy.needs_identity)


def may_answer(record: EventRecord, identity: str | None) -> bool:
    """Whether a link for `identity` (`None`: anyone) could answer `record`: its assignees
    only, when it has some; someone named, when a policy counts identities. The app
    checks again, with the policy, when the link is used."""
    if record.assignees is not None:
        return identity in record.assignees
    return identity is not None or not names_who(record)


def choice_links(
    record: EventRecord, endpoint: str, *, identity: str | None, channel: str
) -> list[tuple[str, str]]:
    """(label, URL of its confirmation page) of each one-click answer of `record`, signed
    for `identity` until the deadline; `[]` without `HITL_SECRET` or without choices."""
    secret = _config.secret()
    if secret is None:
        return []
    links = []
    for label, value in choices_for(record):
        token = sign_choice_link(
            secret,
            record.id,
            value,
            identity=identity,
            expires_at=record.deadline,
            channel=channel,
        )
        links.append((label, choice_url(endpoint, record.id, token)))
    return links
