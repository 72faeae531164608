"""deploy/slack-app.yaml, the Slack app manifest shipped with hitlkit: what it asks for is
what hitlkit uses, and its interactivity URL is the one the app serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from hitlkit._server._slack import router

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "slack-app.yaml"

NEEDED_SCOPES = {
    "chat:write": "chat.postMessage, chat.update, chat.postEphemeral",
    "chat:write.public": "posting to a public channel the bot was not invited to",
    "users:read": "users.info: who pressed a button",
    "users:read.email": "users.info's e-mail: the identity a Slack user maps to",
}
INTERACT_PATH = "/slack/interact"
"""The path of the app's interactivity endpoint (`hitlkit._server._slack`)."""


def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_it_has_the_sections_of_slacks_manifest_format_within_their_limits() -> None:
    found = manifest()

    assert set(found) == {
        "_metadata",
        "display_information",
        "features",
        "oauth_config",
        "settings",
    }
    assert found["_metadata"]["major_version"] == 1
    assert 1 <= len(found["display_information"]["name"]) <= 35
    assert len(found["display_information"]["description"]) <= 140
    assert 1 <= len(found["features"]["bot_user"]["display_name"]) <= 80


def test_it_asks_for_the_scopes_hitlkit_uses_and_no_more() -> None:
    scopes = manifest()["oauth_config"]["scopes"]

    assert set(scopes) == {"bot"}  # no user token: hitlkit acts as its bot only
    assert sorted(scopes["bot"]) == sorted(NEEDED_SCOPES)


def test_interactions_go_to_the_apps_endpoint_over_https() -> None:
    settings = manifest()["settings"]
    url = urlsplit(settings["interactivity"]["request_url"])

    assert settings["interactivity"]["is_enabled"] is True
    assert url.scheme == "https"
    assert url.path == INTERACT_PATH
    assert INTERACT_PATH in {getattr(route, "path", None) for route in router.routes}
    assert not url.query
    assert settings["socket_mode_enabled"] is False


def test_it_says_how_to_switch_to_socket_mode() -> None:
    text = MANIFEST.read_text(encoding="utf-8")
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))

    assert "socket_mode_enabled: true" in comments
    assert "connections:write" in comments
    assert "HITL_SLACK_APP_TOKEN" in comments
    for variable in ("HITL_SLACK_BOT_TOKEN", "HITL_SLACK_SIGNING_SECRET"):
        assert variable in comments
