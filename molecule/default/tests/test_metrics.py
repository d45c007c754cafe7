"""Metrics found through Consul, by a real Prometheus.

Every metrics endpoint is a service tagged "metrics" whose meta says how to scrape it. Prometheus
(built from the Go module proxy with its Consul discovery: lab/build-binaries.sh, PROMETHEUS_BIN)
runs on node3 next to its Consul agent with docs/examples/prometheus.yml as the documentation gives
it, only with shorter intervals so that the test does not wait 15 s per step. It must discover every
target through Consul and scrape each one; its own HTTP API says so."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest
import requests
import yaml
from labkit.waiting import wait_for

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "docs" / "examples" / "prometheus.yml"
HOST = "node3"
HOST_ADDRESS = "172.20.20.30"
PORT = 9090
UNIT = "dockyard-test-prometheus"
WORKDIR = "/var/tmp/dockyard-test-prometheus"
INTERVAL = "2s"

# Every target the lab has: one consul-metrics per agent, and node1's nginx exporter.
EXPECTED_TARGETS = {("consul", "node1"), ("consul", "node2"), ("consul", "node3"), ("nginx-metrics", "node1")}


def test_every_metrics_endpoint_is_registered_with_the_metrics_tag(nodes):
    node1 = nodes["node1"]
    consul_metrics = node1.consul("/v1/catalog/service/consul-metrics")
    assert sorted(i["Node"] for i in consul_metrics) == ["node1", "node2", "node3"]
    assert all("metrics" in i["ServiceTags"] for i in consul_metrics)
    assert {i["ServiceMeta"]["metrics_path"] for i in consul_metrics} == {"/v1/agent/metrics"}
    (exporter,) = node1.consul("/v1/catalog/service/nginx-metrics")
    assert (exporter["Node"], exporter["ServicePort"], exporter["ServiceTags"]) == ("node1", 9113, ["metrics"])


def example_configuration() -> str:
    """docs/examples/prometheus.yml with the test's intervals; everything else as documented."""
    config = yaml.safe_load(EXAMPLE.read_text())
    config["global"]["scrape_interval"] = INTERVAL
    for job in config["scrape_configs"]:
        for discovery in job["consul_sd_configs"]:
            discovery["refresh_interval"] = INTERVAL
    return yaml.safe_dump(config, sort_keys=False)


@pytest.fixture(scope="module")
def prometheus(nodes):
    """The API URL of a Prometheus on node3, stopped and removed with its data after the module."""
    node = nodes[HOST]
    binary = os.environ["PROMETHEUS_BIN"]
    node.check(f"mkdir -p {WORKDIR}/data")
    subprocess.run(["docker", "cp", binary, f"{HOST}:{WORKDIR}/prometheus"], check=True, timeout=60)
    node.write(f"{WORKDIR}/prometheus.yml", example_configuration())
    command = [
        f"{WORKDIR}/prometheus",
        f"--config.file={WORKDIR}/prometheus.yml",
        f"--storage.tsdb.path={WORKDIR}/data",
        f"--web.listen-address={HOST_ADDRESS}:{PORT}",
    ]
    node.check(f"systemd-run --unit={UNIT} --collect {shlex.join(command)}")
    url = f"http://{HOST_ADDRESS}:{PORT}"
    try:
        wait_for(lambda: ready(url), timeout=30, interval=0.5, what="Prometheus ready")
        yield url
    finally:
        journal = node.run(f"journalctl -u {UNIT} --no-pager -n 40").stdout
        node.run(f"systemctl stop {UNIT}; rm -rf {WORKDIR}")
        print(journal)


def ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def active_targets(url: str) -> dict:
    """(job, instance) -> the target's state, of every target Prometheus found."""
    answer = requests.get(f"{url}/api/v1/targets", params={"state": "active"}, timeout=5).json()
    return {(t["labels"]["job"], t["labels"]["instance"]): t for t in answer["data"]["activeTargets"]}


def query(url: str, expression: str) -> list:
    answer = requests.get(f"{url}/api/v1/query", params={"query": expression}, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_prometheus_discovers_every_target_through_consul_and_scrapes_it(prometheus):
    def all_up():
        targets = active_targets(prometheus)
        healthy = set(targets) == EXPECTED_TARGETS and all(t["health"] == "up" for t in targets.values())
        return targets if healthy else None

    try:
        targets, seconds = wait_for(all_up, timeout=40, interval=1, what="every target discovered and up")
    except AssertionError:
        found = {key: (t["health"], t["lastError"], t["scrapeUrl"]) for key, t in active_targets(prometheus).items()}
        pytest.fail(f"Prometheus' targets are not the lab's, all up: {found}")
    for (job, instance), target in sorted(targets.items()):
        print(f"{job} on {instance}: {target['scrapeUrl']} up after {seconds:.1f} s")
    # The consul job scrapes Consul's Prometheus format, the metrics job the path from the meta.
    assert {t["scrapeUrl"] for (job, _instance), t in targets.items() if job == "consul"} == {
        f"http://172.20.20.{n}0:8500/v1/agent/metrics?format=prometheus" for n in (1, 2, 3)
    }
    assert targets[("nginx-metrics", "node1")]["scrapeUrl"] == "http://172.20.20.10:9113/metrics"


def test_the_scraped_samples_are_each_targets_own_metrics(prometheus):
    def series(expression, count):
        found = query(prometheus, expression)
        return found if len(found) == count else None

    runtime, _seconds = wait_for(
        lambda: series("consul_runtime_alloc_bytes > 0", 3), timeout=20, interval=1, what="3 agents"
    )
    assert sorted(s["metric"]["instance"] for s in runtime) == ["node1", "node2", "node3"]
    (nginx,) = wait_for(lambda: series("nginx_up == 1", 1), timeout=20, interval=1, what="nginx_up")[0]
    assert nginx["metric"]["instance"] == "node1"
    # The servers' Raft metrics: the one leader among them.
    (leaders,) = wait_for(lambda: series("count(consul_server_isLeader == 1)", 1), 20, 1, "one leader")[0]
    assert leaders["value"][1] == "1", leaders
