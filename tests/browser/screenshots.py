"""Screenshots of the web app for the README: `scripts/screenshots` runs this.

Fills a fresh store with a few events asked at different times, serves it with
`hitl serve`, and saves PNGs of the inbox, a form with a field error, and a
resolved event into the folder given (`docs/img`).
"""

from __future__ import annotations

import enum
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from playwright.sync_api import FloatRect, Page, ViewportSize
from pydantic import BaseModel, Field

import hitlkit
from hitlkit import LocalStore
from hitlkit._records import EventRecord, event_id, event_key, utcnow
from hitlkit._values import adapter_for
from tests.browser.support import chromium, hitl_serve

DESKTOP: ViewportSize = {"width": 1100, "height": 760}
PHONE: ViewportSize = {"width": 390, "height": 844}

# (run, name, type, prompt, asked minutes ago, timeout minutes)
EVENTS: list[tuple[str, str, type[Any], str, float, float]] = [
    (
        "nightly-2041",
        "approve_deploy",
        bool,
        "Deploy build 2041 to production?\nAll 312 checks passed; the canary error rate is 0.02%.",
        2,
        60,
    ),
    (
        "nightly-2041",
        "replica_count",
        int,
        "How many replicas should the new service start with?",
        7,
        120,
    ),
    (
        "etl-customers",
        "dedupe_threshold",
        float,
        "Similarity above which two customer records count as the same (0 to 1).",
        18,
        240,
    ),
    (
        "etl-customers",
        "review_note",
        str,
        "Anything the data team should know before the merge runs tonight?",
        41,
        600,
    ),
    (
        "training-run-7",
        "stop_early",
        bool,
        "Validation loss has not improved for 5 epochs. Stop training now?",
        65,
        180,
    ),
]


class Region(enum.Enum):
    EU = "eu-west"
    US = "us-east"


class Limits(BaseModel):
    cpu: int = Field(default=2, ge=1, le=8, description="CPU cores per replica")


class Rollout(BaseModel):
    """How to roll build 2041 out."""

    version: str = Field(pattern=r"^v[0-9]+$", description="a tag like v2041")
    region: Region
    replicas: int = Field(default=3, ge=1, le=10)
    checks: set[Literal["canary", "smoke tests"]] = {"canary"}
    limits: Limits


ROLLOUT_PROMPT = """The build passed. Choose how it goes out:

| stage | traffic |
|---|---|
| canary | 5% for 10 min |
| rest | 100% |
"""


def seed(store: LocalStore) -> dict[str, str]:
    """Write the example events, asked at different times; their ids by name."""
    now = utcnow()
    ids = {}
    for run_id, name, data_type, prompt, minutes_ago, timeout_minutes in EVENTS:
        value_type = adapter_for(data_type)
        created = now - timedelta(minutes=minutes_ago)
        record = EventRecord(
            id=event_id("run", run_id, name),
            name=name,
            run_id=run_id,
            prompt=prompt,
            data_type=value_type.name,
            json_schema=value_type.json_schema,
            created_at=created,
            deadline=created + timedelta(minutes=timeout_minutes),
            timeout_seconds=timeout_minutes * 60,
            poll_interval_seconds=5,
            created_by="ci",
        )
        store.put_if_absent(event_key(record.id), record.model_dump_json().encode())
        ids[name] = record.id
    rollout = hitlkit.new_event(
        "rollout_plan",
        Rollout,
        prompt=ROLLOUT_PROMPT,
        prompt_type="markdown",
        run_id="nightly-2041",
        store=store,
        serve=False,
    )
    ids["rollout_plan"] = rollout.request_id
    return ids


def shoot(page: Page, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    print(f"wrote {path}")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore(Path(tmp) / "store")
        ids = seed(store)
        with hitl_serve(store.root, Path(tmp) / "serve.log") as served, chromium() as browser:
            desktop = browser.new_page(viewport=DESKTOP)
            desktop.goto(served.url + "/")
            shoot(desktop, out / "inbox.png")

            phone = browser.new_page(viewport=PHONE, device_scale_factor=2)
            phone.goto(served.url + "/")
            # The top of the inbox, down to the end of the second event, once the script
            # has followed the stream and refreshed the list.
            phone.wait_for_selector("body[data-live=on]")
            phone.wait_for_timeout(500)
            second = phone.locator(".event").nth(1).bounding_box()
            assert second is not None
            bottom = second["y"] + second["height"] + 12
            clip: FloatRect = {"x": 0, "y": 0, "width": PHONE["width"], "height": bottom}
            phone.screenshot(path=str(out / "inbox-phone.png"), clip=clip, full_page=True)
            print(f"wrote {out / 'inbox-phone.png'}")

            desktop.goto(f"{served.url}/form/{ids['rollout_plan']}")
            desktop.locator("#f-value-version").fill("2041")
            desktop.locator("#f-value-limits-cpu").fill("12")
            desktop.get_by_label("Your name").fill("ana")
            # The browser would refuse these itself; show the app's own field errors instead.
            desktop.locator("form.answer").evaluate("form => { form.noValidate = true; }")
            desktop.get_by_role("button", name="Submit answer").click()
            desktop.wait_for_selector(".error")
            shoot(desktop, out / "form-error.png")

            desktop.goto(f"{served.url}/form/{ids['approve_deploy']}")
            desktop.fill("#by", "ana")
            desktop.get_by_role("button", name="Yes").click()
            desktop.wait_for_selector(".notice-ok")
            desktop.goto(f"{served.url}/form/{ids['approve_deploy']}")
            shoot(desktop, out / "resolved.png")
        store.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img"))
