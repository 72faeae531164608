"""The README's quickstart, answered from other processes through every channel."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tests.forms import followed, form_fields

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl, HitlEnv, Spawn

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart.py"
FORM_URL = r"^(http://\S+)/form/([0-9a-f]{24})$"


def test_quickstart_answered_through_the_form_and_rest(spawn: Spawn, hitl_env: HitlEnv) -> None:
    run = spawn([sys.executable, str(QUICKSTART)])
    endpoint, first = run.expect(FORM_URL).groups()
    assert endpoint == hitl_env.endpoint
    with httpx.Client() as browser:
        fields = form_fields(browser, f"{endpoint}/form/{first}")
        form = followed(browser, browser.post(f"{endpoint}/submit", data={**fields, "value": "32"}))
    assert form.status_code == 200
    assert "Recorded" in form.text
    run.expect(r"^x \+ y = 42$")

    second = run.expect(FORM_URL).group(2)
    rest = httpx.post(f"{endpoint}/api/events/{second}/answer", json={"value": False})
    assert rest.status_code == 200
    assert rest.json()["outcome"]["value"] is False
    run.expect(r"^not deploying$")
    assert run.finish() == 0


def test_quickstart_answered_through_submit_json_and_the_cli(
    spawn: Spawn, hitl: Hitl, hitl_env: HitlEnv
) -> None:
    run = spawn([sys.executable, str(QUICKSTART)])
    endpoint, first = run.expect(FORM_URL).groups()
    seed_style = httpx.post(
        f"{endpoint}/submit/json",
        json={"request_id": first, "value": "-3", "data_type": "str", "response_path": "/x"},
    )
    assert seed_style.status_code == 200
    assert seed_style.json()["value"] == -3  # the recorded type wins over the client's
    run.expect(r"^x \+ y = 7$")

    second = run.expect(FORM_URL).group(2)
    assert hitl("answer", second, "yes").code == 0
    run.expect(r"^deploying$")
    assert run.finish() == 0
