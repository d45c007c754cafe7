"""Metrics found through Consul: a real Prometheus (Debian's package, on node2) runs the scrape
configuration of docs/examples/prometheus.yml, finds every agent's /v1/agent/metrics and node1's
nginx exporter through consul_sd_configs alone, and scrapes them all."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
import yaml
from labkit.waiting import wait_for

DOCS_CONFIG = Path(__file__).resolve().parents[3] / "docs" / "examples" / "prometheus.yml"
PROMETHEUS = "http://127.0.0.1:9090"
UNIT = "lab-prometheus"
# Seconds instead of the documented 15 s, so that discovery and the first scrapes take seconds.
FAST = "2s"


def prometheus_api(node, path: str, **query) -> dict:
    url = f"{PROMETHEUS}{path}?{urllib.parse.urlencode(query)}" if query else f"{PROMETHEUS}{path}"
    answer = json.loads(node.check(f"curl -sf -m 5 '{url}'"))
    assert answer["status"] == "success", answer
    return answer["data"]


@pytest.fixture(scope="module")
def prometheus(nodes):
    """Prometheus on node2 with the documented configuration, its intervals shortened."""
    node2 = nodes["node2"]
    config = yaml.safe_load(DOCS_CONFIG.read_text())
    config["global"]["scrape_interval"] = FAST
    for job in config["scrape_configs"]:
        for discovery in job["consul_sd_configs"]:
            discovery["refresh_interval"] = FAST
    # The package's own service (default configuration, all interfaces) stays off: this test starts its own.
    node2.check(
        "systemctl mask prometheus >/dev/null 2>&1; "
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >/dev/null",
        timeout=300,
    )
    node2.write("/root/prometheus.yml", yaml.safe_dump(config))
    node2.check("promtool check config /root/prometheus.yml")
    node2.check(
        f"systemd-run --unit {UNIT} --property RuntimeMaxSec=600 /usr/bin/prometheus"
        " --config.file=/root/prometheus.yml --storage.tsdb.path=/root/prometheus-data"
        " --web.listen-address=127.0.0.1:9090"
    )
    wait_for(lambda: node2.run(f"curl -sf -m 2 {PROMETHEUS}/-/ready").returncode == 0, 60, 1, what="Prometheus ready")
    yield node2
    node2.run(f"systemctl stop {UNIT}; rm -rf /root/prometheus-data")


def targets_up(node) -> dict:
    """(job, instance) -> health of every active target."""
    active = prometheus_api(node, "/api/v1/targets", state="active")["activeTargets"]
    return {(t["labels"]["job"], t["labels"]["instance"]): t["health"] for t in active}


def test_every_metrics_endpoint_is_registered_with_the_metrics_tag(nodes):
    node1 = nodes["node1"]
    consul_metrics = node1.consul("/v1/catalog/service/consul-metrics")
    assert sorted(i["Node"] for i in consul_metrics) == ["node1", "node2", "node3"]
    assert all("metrics" in i["ServiceTags"] for i in consul_metrics)
    assert {i["ServiceMeta"]["metrics_path"] for i in consul_metrics} == {"/v1/agent/metrics"}
    (exporter,) = node1.consul("/v1/catalog/service/nginx-metrics")
    assert (exporter["Node"], exporter["ServicePort"], exporter["ServiceTags"]) == ("node1", 9113, ["metrics"])


def test_prometheus_discovers_and_scrapes_every_target_through_consul(prometheus):
    expected = {("consul", "node1"), ("consul", "node2"), ("consul", "node3"), ("nginx-metrics", "node1")}

    def all_up():
        targets = targets_up(prometheus)
        return targets if set(targets) == expected and set(targets.values()) == {"up"} else None

    wait_for(all_up, 60, 1, what=f"Prometheus scraping {sorted(expected)}")
    # Real series from each kind of target, not just "up".
    agents = prometheus_api(prometheus, "/api/v1/query", query="consul_runtime_alloc_bytes")["result"]
    assert sorted(series["metric"]["instance"] for series in agents) == ["node1", "node2", "node3"]
    nginx = prometheus_api(prometheus, "/api/v1/query", query="nginx_up")["result"]
    assert [(s["metric"]["instance"], s["value"][1]) for s in nginx] == [("node1", "1")]
