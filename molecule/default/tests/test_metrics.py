"""Metrics found through Consul. Every metrics endpoint is a service tagged "metrics" whose meta says
how to scrape it; each is found from the catalog alone, the way docs/examples/prometheus.yml's
consul_sd_configs and relabelling find it, scraped over the lab network, and parsed with Prometheus'
own text-format parser (prometheus_client).

A real Prometheus is not run here: Debian's prometheus package (2.53, trixie) is built without the
Consul service discovery ("field consul_sd_configs not found in type config.ScrapeConfig"), and
building Prometheus from the Go module proxy is still to do (docs/metrics.md)."""

from __future__ import annotations

import urllib.parse

import requests
from prometheus_client.parser import text_string_to_metric_families

# What each kind of target must serve, beyond being valid text format.
EXPECTED_FAMILIES = {"consul-metrics": "consul_runtime_alloc_bytes", "nginx-metrics": "nginx_up"}


def metrics_targets(node) -> dict:
    """(service, node) -> scrape URL of every instance of every service tagged "metrics", built like
    the example configuration: address and port of the instance, path and scheme from its meta,
    and format=prometheus for Consul's own endpoint."""
    targets = {}
    for service, tags in node.consul("/v1/catalog/services").items():
        if "metrics" not in tags:
            continue
        for instance in node.consul(f"/v1/health/service/{urllib.parse.quote(service)}"):
            meta = instance["Service"]["Meta"] or {}
            address = instance["Service"]["Address"] or instance["Node"]["Address"]
            query = f"?format={meta['metrics_format']}" if meta.get("metrics_format") else ""
            url = f"{meta.get('metrics_scheme', 'http')}://{address}:{instance['Service']['Port']}"
            targets[(service, instance["Node"]["Node"])] = url + meta.get("metrics_path", "/metrics") + query
    return targets


def test_every_metrics_endpoint_is_registered_with_the_metrics_tag(nodes):
    node1 = nodes["node1"]
    consul_metrics = node1.consul("/v1/catalog/service/consul-metrics")
    assert sorted(i["Node"] for i in consul_metrics) == ["node1", "node2", "node3"]
    assert all("metrics" in i["ServiceTags"] for i in consul_metrics)
    assert {i["ServiceMeta"]["metrics_path"] for i in consul_metrics} == {"/v1/agent/metrics"}
    (exporter,) = node1.consul("/v1/catalog/service/nginx-metrics")
    assert (exporter["Node"], exporter["ServicePort"], exporter["ServiceTags"]) == ("node1", 9113, ["metrics"])


def test_every_target_found_through_consul_serves_prometheus_text_format(nodes):
    targets = metrics_targets(nodes["node2"])
    assert set(targets) == {
        ("consul-metrics", "node1"),
        ("consul-metrics", "node2"),
        ("consul-metrics", "node3"),
        ("nginx-metrics", "node1"),
    }, targets
    for (service, node), url in sorted(targets.items()):
        response = requests.get(url, timeout=10)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        families = {family.name: family for family in text_string_to_metric_families(response.text)}
        wanted = EXPECTED_FAMILIES[service]
        assert wanted in families, f"{service} on {node}: {sorted(families)[:15]}"
        (sample,) = families[wanted].samples
        assert sample.value > 0, (service, node, sample)
        print(f"{service} on {node}: {len(families)} metric families from {url}")
