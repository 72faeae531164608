"""`hitl serve --metrics-port`: the metrics and probes on a loopback port, with no token,
from the same process as an app that requires tokens; scrape tokens from
`hitl token create --metrics`."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import httpx
from prometheus_client.parser import text_string_to_metric_families

import hitlkit
from tests.acceptance.conftest import free_port

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl, HitlEnv, Spawn


def pending(text: str) -> float:
    """The value of `hitlkit_events_pending` in a scrape."""
    families = {family.name: family for family in text_string_to_metric_families(text)}
    [sample] = families["hitlkit_events_pending"].samples
    return sample.value


def test_the_metrics_port_serves_metrics_and_probes_on_loopback_without_a_token(
    hitl: Hitl, hitl_env: HitlEnv, spawn: Spawn
) -> None:
    tokens = hitl_env.cwd / "tokens.json"
    hitl("token", "create", "ana", "--tokens-file", str(tokens))
    made = hitl("token", "create", "prometheus", "--metrics")
    scraper = made.stdout.strip()
    assert (hitl_env.cwd / "hitl-metrics-tokens.json").exists()
    hitlkit.new_event("approve", bool, run_id="r1", store=str(hitl_env.store), serve=False)
    port = hitl_env.endpoint.rpartition(":")[2]
    metrics_port = free_port()
    server = spawn.hitl(
        "serve",
        "--port",
        port,
        HITL_TOKENS_FILE=str(tokens),
        HITL_METRICS_PORT=str(metrics_port),
        HITL_METRICS_TOKEN_FILE=str(hitl_env.cwd / "hitl-metrics-tokens.json"),
    )
    hitl_env.wait_until_serving()
    side = f"http://127.0.0.1:{metrics_port}"

    open_metrics = httpx.get(f"{side}/metrics")
    probes = [httpx.get(f"{side}/healthz"), httpx.get(f"{side}/readyz")]
    no_api_there = httpx.get(f"{side}/api/events")
    rebound = httpx.get(f"{side}/metrics", headers={"host": f"rebind.example:{metrics_port}"})
    main_anonymous = httpx.get(f"{hitl_env.endpoint}/metrics")
    main_scraped = httpx.get(
        f"{hitl_env.endpoint}/metrics", headers={"Authorization": f"Bearer {scraper}"}
    )

    assert open_metrics.status_code == 200
    assert pending(open_metrics.text) == 1
    assert [p.status_code for p in probes] == [200, 200]
    assert probes[1].json()["status"] == "ready"
    assert no_api_there.status_code == 404
    assert rebound.status_code == 400
    assert main_anonymous.status_code == 401
    assert main_scraped.status_code == 200
    assert pending(main_scraped.text) == 1  # one app: the same metrics on both ports
    assert f"127.0.0.1:{metrics_port}/metrics" in server.stdout
    server.signal(signal.SIGINT)
    assert server.finish() == 0


def test_the_metrics_port_must_differ_from_the_app_port(hitl: Hitl, hitl_env: HitlEnv) -> None:
    port = hitl_env.endpoint.rpartition(":")[2]
    result = hitl("serve", "--port", port, "--metrics-port", port)
    assert result.code == 1
    assert "metrics port must differ" in result.error_line()
