"""Metrics and health under ACLs: Prometheus' two tokens each do their one job, every agent's metrics
parse as Prometheus' text format, and the load-balancer and metrics services register with tokens
of their own (the agents' services would be rejected by the catalog otherwise)."""

from __future__ import annotations

from conftest import NODES
from labkit.secure import Api, management_token, secret
from labkit.waiting import wait_for
from prometheus_client.parser import text_string_to_metric_families


def scrape(api: Api, token: str):
    return api.call("GET", "/v1/agent/metrics", token, params={"format": "prometheus"})


def test_the_scrape_token_reads_every_agent_s_metrics_and_nothing_else():
    token = secret("metrics.token")
    for name, node in NODES.items():
        response = scrape(Api(node.address), token)
        assert response.status_code == 200, f"{name}: {response.status_code} {response.text[:200]}"
        families = {family.name: family for family in text_string_to_metric_families(response.text)}
        assert "consul_runtime_alloc_bytes" in families, f"{name}: {sorted(families)[:20]}"
        (sample,) = families["consul_runtime_alloc_bytes"].samples
        assert sample.value > 0
    api = Api(NODES["secure1"].address)
    # A listing is filtered down to nothing (404), a key the token may not read is refused.
    assert api.call("PUT", "/v1/kv/verifier/metrics-probe", management_token(), data="secret").json() is True
    try:
        assert api.call("GET", "/v1/kv/verifier/metrics-probe", token).status_code == 403
        assert api.call("GET", "/v1/kv/", token, params={"recurse": "true"}).status_code == 404
    finally:
        api.call("DELETE", "/v1/kv/verifier/metrics-probe", management_token())
    # Catalog reads are filtered, not refused: the scrape token sees no service.
    assert api.call("GET", "/v1/catalog/services", token).json() == {}


def test_the_discovery_token_lists_the_metrics_services_but_reads_no_metrics():
    token = secret("metrics-discovery.token")
    api = Api(NODES["secure1"].address)
    services = api.call("GET", "/v1/catalog/services", token).json()
    assert services.get("consul-metrics") == ["metrics"] and services.get("nginx-metrics") == ["metrics"], services
    instances = api.call("GET", "/v1/health/service/consul-metrics", token).json()
    assert sorted(i["Node"]["Node"] for i in instances) == sorted(NODES)
    assert {i["Service"]["Meta"]["metrics_scheme"] for i in instances} == {"https"}
    assert scrape(api, token).status_code == 403


def test_the_load_balancer_is_in_the_catalog_with_both_checks_passing(api):
    def checks():
        found = {c["CheckID"]: c["Status"] for c in api.get("/v1/health/checks/load-balancer")}
        return found if found == {"load-balancer:nginx": "passing", "load-balancer:last-render": "passing"} else None

    wait_for(checks, 30, 0.5, what="the load-balancer checks passing on secure1")
    (instance,) = api.get("/v1/catalog/service/load-balancer")
    assert instance["Node"] == "secure1"
    assert NODES["secure2"].dig("+short", "load-balancer.service.consul") == [NODES["secure1"].address]
