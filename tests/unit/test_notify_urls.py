"""Notification URLs: how a list is split, and how a URL is shown without its secrets."""

from __future__ import annotations

import pytest

from hitlkit._notify import redact, split_urls


def test_urls_split_on_spaces_and_commas_but_not_inside_a_query() -> None:
    text = "json://a/b, mailto://x@y.z?to=a@b.c,d@e.f\n  slack://T/B/C,json://q"
    assert split_urls(text) == [
        "json://a/b",
        "mailto://x@y.z?to=a@b.c,d@e.f",
        "slack://T/B/C",
        "json://q",
    ]
    assert split_urls("  ") == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mailto://ana:pw@smtp.example.com?to=b@example.com", "mailto://…@smtp.example.com?…"),
        ("slack://T0AAA/B0BBB/XXXXXXXX", "slack://…/…"),
        ("tgram://123456:ABCDEF/chat", "tgram://…/…"),
        ("json://user:secret@127.0.0.1:8080/hook", "json://…@127.0.0.1:8080/…"),
        ("json://[::1]:80/hook", "json://[::1]:80/…"),
        ("hooks.slack.com/services/T/B/X", "hooks.slack.com/…"),
        ("json://localhost", "json://localhost"),
    ],
)
def test_a_url_is_shown_with_its_scheme_and_host_only(url: str, shown: str) -> None:
    assert redact(url) == shown
