"""Notification options from the environment, and URLs shown without their credentials."""

from __future__ import annotations

import pytest

from hitlkit import ConfigurationError
from hitlkit._config import notify_targets, remind_before
from hitlkit._notify import Notices, notices_for, redact


def test_hitl_notify_splits_on_spaces_and_commas_but_keeps_commas_inside_a_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "HITL_NOTIFY",
        "json://hooks.example.com/a, mailto://u:p@example.com?to=a@x.org,b@x.org\n slack://T/B/C",
    )
    assert notify_targets() == (
        "json://hooks.example.com/a",
        "mailto://u:p@example.com?to=a@x.org,b@x.org",
        "slack://T/B/C",
    )
    monkeypatch.setenv(
        "HITL_NOTIFY", "slack-app://#ops,teams-app+https://h.example.com/w?sig=a,b json://h/x"
    )
    assert notify_targets() == (
        "slack-app://#ops",
        "teams-app+https://h.example.com/w?sig=a,b",
        "json://h/x",
    )
    monkeypatch.setenv("HITL_NOTIFY", "  ")
    assert notify_targets() == ()
    monkeypatch.setenv("HITL_NOTIFY", "not a url")
    with pytest.raises(ConfigurationError, match="HITL_NOTIFY must hold Apprise URLs"):
        notify_targets()


@pytest.mark.parametrize(("text", "seconds"), [("", None), ("0", None), ("300", 300.0)])
def test_hitl_remind_before_is_seconds(
    monkeypatch: pytest.MonkeyPatch, text: str, seconds: float | None
) -> None:
    monkeypatch.setenv("HITL_REMIND_BEFORE", text)
    assert remind_before() == seconds


@pytest.mark.parametrize("text", ["soon", "-5", "nan", "inf"])
def test_a_bad_hitl_remind_before_is_refused(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("HITL_REMIND_BEFORE", text)
    with pytest.raises(ConfigurationError, match="HITL_REMIND_BEFORE must be a number of seconds"):
        remind_before()


def test_a_configured_reminder_skips_events_it_does_not_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HITL_NOTIFY", "json://hooks.example.com/a")
    monkeypatch.setenv("HITL_REMIND_BEFORE", "600")
    assert notices_for(None, None, timeout_seconds=3600) == Notices(
        ("json://hooks.example.com/a",), 600.0
    )
    assert notices_for(None, None, timeout_seconds=60) == Notices(
        ("json://hooks.example.com/a",), None
    )
    assert notices_for([], None, timeout_seconds=3600) is None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("slack://T1234abcd/B5678efgh/xoxbsecret", "slack://T1…/…"),
        ("mailtos://ana:hunter2@gmail.com?to=bo@x.org", "mailtos://ana:****@gmail.com/…"),
        ("json://127.0.0.1:8000/hook/s3cr3t", "json://127.0.0.1:8000/…"),
        ("discord://webhookid1234/webhooktoken5678", "discord://we…/…"),
        ("json://[::1", "(unparseable URL)"),
        ("slack-app://#deploys", "slack-app://#deploys"),
        ("slack-app://C0123ABCD", "slack-app://C0123ABCD"),
        ("slack-app://ana:pw@h/x", "slack-app://ana:****@h/…"),
        (
            "teams-app+https://prod-1.logic.azure.com/workflows/ab/x?sig=s3",
            "teams-app+https://prod-1.logic.azure.com/…",
        ),
    ],
)
def test_redacted_urls_keep_the_service_and_host_and_hide_the_rest(url: str, shown: str) -> None:
    assert redact(url) == shown
