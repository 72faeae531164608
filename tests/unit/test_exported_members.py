import hitlkit
import hitlkit.testing


def test_public_names_are_pinned() -> None:
    assert hitlkit.__all__ == [
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
    for name in hitlkit.__all__:
        assert getattr(hitlkit, name) is not None


def test_testing_names_are_pinned() -> None:
    assert hitlkit.testing.__all__ == ["CountingStore", "MemoryStore", "Responder"]


def test_every_error_derives_from_hitl_error() -> None:
    errors = [
        getattr(hitlkit, n) for n in hitlkit.__all__ if n.endswith("Error") and n != "HitlError"
    ]
    assert errors
    assert all(issubclass(e, hitlkit.HitlError) for e in errors)
    assert issubclass(hitlkit.EventTimeoutError, TimeoutError)
    assert issubclass(hitlkit.InvalidValueError, ValueError)
    assert issubclass(hitlkit.UnsupportedTypeError, TypeError)
