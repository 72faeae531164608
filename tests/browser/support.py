"""A real `hitl serve` and Debian's Chromium, for the browser tests and `scripts/screenshots`.

Playwright drives the system's Chromium (`/usr/bin/chromium`); it never downloads a browser.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 30.0


def find_chromium() -> str | None:
    """The system Chromium's path, if it is installed."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def hitl_env(store: Path, **extra: str) -> dict[str, str]:
    """The environment of a hitlkit process over `store`, without the caller's `HITL_*`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HITL_")}
    env.update(HITL_STORE=str(store), HITL_AUTOSTART="0", PYTHONUNBUFFERED="1", **extra)
    return env


@dataclass
class Served:
    """A `hitl serve` process over a store folder, on 127.0.0.1."""

    url: str
    store: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(TIMEOUT)


@contextmanager
def hitl_serve(
    store: Path, log: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """Run `hitl serve [options]` over `store` on a free port until the block ends; its
    output to `log`; `env`: more `HITL_*` settings."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "hitlkit._cli", "serve", "--port", str(port), *options],
            env=hitl_env(store, **(env or {})),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        served = Served(url, store, process)
        try:
            _wait_until_serving(served, log)
            yield served
        finally:
            served.stop()


def _wait_until_serving(served: Served, log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while True:
        if served.process.poll() is not None:
            raise RuntimeError(f"hitl serve exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{served.url}/health", timeout=2, trust_env=False).is_success:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"hitl serve did not answer in {TIMEOUT}s:\n{log.read_text()}")
        time.sleep(0.1)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium from the system, driven by Playwright."""
    path = find_chromium()
    if path is None:
        raise RuntimeError(
            "no Chromium at /usr/bin/chromium: apt-get install --no-install-recommends chromium"
        )
    with sync_playwright() as playwright:
        browser = _launch(playwright, path)
        try:
            yield browser
        finally:
            browser.close()


def _launch(playwright: Playwright, path: str) -> Browser:
    return playwright.chromium.launch(executable_path=path, headless=True)


def run_python(store: Path, script: str, *args: str) -> str:
    """Run `python -c script args...` over `store` in a new process; its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=hitl_env(store, HITL_USER="other-process"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"script failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


BLOCKING_IMPACTS = ("serious", "critical")
"""Violations that fail a page: axe's two worst impacts."""


def accessibility_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on `page` as it is now, one line each.

    axe runs inside the page from the copy bundled with axe-playwright-python: no network.
    """
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]


def assert_accessible(page: Page) -> None:
    """Fail, naming each rule and element, if axe finds a serious or critical violation,
    in the light colours or the dark ones (`prefers-color-scheme`)."""
    found = []
    for scheme in ("light", "dark"):
        # Without motion, the colours change at once: axe sees no transition half done.
        page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
        found += [f"{scheme}: {violation}" for violation in accessibility_violations(page)]
    page.emulate_media(color_scheme=None, reduced_motion=None)
    assert not found, f"{page.url}:\n" + "\n".join(found)
