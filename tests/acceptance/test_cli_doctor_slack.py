"""`hitl doctor` with a Slack bot token: Slack is asked whether the token works
(`auth.test`, at a Slack Web API receiver on 127.0.0.1), and the token is never shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.servers import free_ports
from tests.slack import SlackApi

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl

TOKEN = "xoxb-1234-secret-bot-token"


@pytest.fixture
def slack() -> Iterator[SlackApi]:
    api = SlackApi()
    yield api
    api.close()


def test_a_working_token_is_reported_ok_and_never_shown(hitl: Hitl, slack: SlackApi) -> None:
    result = hitl(
        "doctor",
        HITL_SLACK_BOT_TOKEN=TOKEN,
        HITL_SLACK_API_URL=slack.url,
        HITL_SLACK_SIGNING_SECRET="s3cret-signing",
    )

    assert result.code == 0, result.stdout + result.stderr
    assert f"note: Slack (HITL_SLACK_BOT_TOKEN): auth.test at {slack.url} ok" in result.stdout
    assert [call.token for call in slack.of("auth.test")] == [TOKEN]
    assert "SIGNING_SECRET is not set" not in result.stdout
    for secret in (TOKEN, "s3cret-signing"):
        assert secret not in result.stdout + result.stderr


def test_a_refused_token_is_a_problem(hitl: Hitl, slack: SlackApi) -> None:
    slack.fail["auth.test"] = "invalid_auth"

    result = hitl("doctor", HITL_SLACK_BOT_TOKEN=TOKEN, HITL_SLACK_API_URL=slack.url)

    assert result.code == 1
    assert "problem: Slack (HITL_SLACK_BOT_TOKEN): auth.test at" in result.stdout
    assert "failed: invalid_auth" in result.stdout
    assert TOKEN not in result.stdout + result.stderr
    as_json = json.loads(
        hitl("doctor", "--json", HITL_SLACK_BOT_TOKEN=TOKEN, HITL_SLACK_API_URL=slack.url).stdout
    )
    assert as_json["ok"] is True  # the receiver failed auth.test once only
    assert TOKEN not in json.dumps(as_json)


def test_a_missing_signing_secret_is_warned_of(hitl: Hitl, slack: SlackApi) -> None:
    result = hitl("doctor", HITL_SLACK_BOT_TOKEN=TOKEN, HITL_SLACK_API_URL=slack.url)

    assert result.code == 0, result.stdout + result.stderr
    assert "HITL_SLACK_SIGNING_SECRET is not set" in result.stdout


def test_an_api_that_does_not_answer_is_a_problem(hitl: Hitl) -> None:
    (port,) = free_ports(1)
    url = f"http://127.0.0.1:{port}/api/"

    result = hitl("doctor", HITL_SLACK_BOT_TOKEN=TOKEN, HITL_SLACK_API_URL=url)

    assert result.code == 1
    assert f"auth.test at {url} could not be made" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


def test_credentials_in_the_api_url_are_not_shown(hitl: Hitl, slack: SlackApi) -> None:
    url = slack.url.replace("http://", "http://proxyuser:proxypass@")

    result = hitl("doctor", HITL_SLACK_BOT_TOKEN=TOKEN, HITL_SLACK_API_URL=url)

    assert "proxypass" not in result.stdout + result.stderr
    assert f"auth.test at {slack.url}" in result.stdout


def test_without_a_token_slack_is_not_asked(hitl: Hitl, slack: SlackApi) -> None:
    result = hitl("doctor", HITL_SLACK_API_URL=slack.url)

    assert result.code == 0, result.stdout + result.stderr
    assert "Slack" not in result.stdout
    assert slack.calls == []
