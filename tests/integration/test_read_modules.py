# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""service_info, catalog_info and cluster_info against a dev agent, compared with raw HTTP."""

import threading
import time

import pytest
from conftest import run_module


@pytest.fixture(scope="module")
def web(agent):
    """Service rd-web: one passing and one critical instance on the agent, one on an external catalog node."""
    agent.http(
        "PUT",
        "/v1/agent/service/register",
        {
            "ID": "rd-web-1",
            "Name": "rd-web",
            "Port": 8081,
            "Tags": ["blue"],
            "Check": {"TTL": "10m", "Status": "passing"},
        },
    )
    agent.http(
        "PUT",
        "/v1/agent/service/register",
        {
            "ID": "rd-web-2",
            "Name": "rd-web",
            "Port": 8082,
            "Tags": ["green"],
            "Check": {"TTL": "10m", "Status": "critical"},
        },
    )
    agent.http(
        "PUT",
        "/v1/catalog/register",
        {
            "Node": "rd-external",
            "Address": "192.0.2.50",
            "NodeMeta": {"rack": "r9"},
            "Service": {
                "ID": "rd-web-ext",
                "Service": "rd-web",
                "Port": 9000,
                "Address": "192.0.2.51",
                "Tags": ["blue"],
            },
        },
    )
    yield agent
    for service_id in ("rd-web-1", "rd-web-2"):
        agent.deregister(service_id)
    agent.http("PUT", "/v1/catalog/deregister", {"Node": "rd-external"})


def endpoints_of_raw_health(entries):
    return sorted(f"{e['Service']['Address'] or e['Node']['Address']}:{e['Service']['Port']}" for e in entries)


def test_service_info_default_is_passing_only(web):
    run = run_module("service_info", {**web.connection(), "name": "rd-web"})
    assert run.result and not run.result.get("failed"), run
    got = sorted(i["endpoint"] for i in run.result["instances"])
    assert got == endpoints_of_raw_health(web.http("GET", "/v1/health/service/rd-web?passing=1"))
    # the external node has no serfHealth check, so it passes too; the critical one is out
    assert "127.0.0.1:8082" not in got and "127.0.0.1:8081" in got
    assert run.result["changed"] is False


def test_service_info_with_failing_instances(web):
    run = run_module("service_info", {**web.connection(), "name": "rd-web", "passing": False})
    instances = run.result["instances"]
    assert sorted(i["endpoint"] for i in instances) == endpoints_of_raw_health(
        web.http("GET", "/v1/health/service/rd-web")
    )
    assert {i["service_id"]: i["status"] for i in instances}["rd-web-2"] == "critical"


def test_service_info_catalog_view(web):
    run = run_module("service_info", {**web.connection(), "name": "rd-web", "catalog": True})
    raw = web.http("GET", "/v1/catalog/service/rd-web")
    assert sorted(i["service_id"] for i in run.result["instances"]) == sorted(e["ServiceID"] for e in raw)
    external = next(i for i in run.result["instances"] if i["node"] == "rd-external")
    assert (external["endpoint"], external["node_meta"], external["status"]) == (
        "192.0.2.51:9000",
        {"rack": "r9"},
        None,
    )


@pytest.mark.parametrize(
    ("filters", "raw_query"),
    [
        ({"tag": "blue"}, "?passing=1&tag=blue"),
        ({"node_meta": {"rack": "r9"}}, "?passing=1&node-meta=rack:r9"),
        ({"near": "_agent", "datacenter": "dc1"}, "?passing=1&near=_agent&dc=dc1"),
    ],
)
def test_service_info_filters(web, filters, raw_query):
    run = run_module("service_info", {**web.connection(), "name": "rd-web", **filters})
    raw = web.http("GET", f"/v1/health/service/rd-web{raw_query}")
    assert sorted(i["service_id"] for i in run.result["instances"]) == sorted(e["Service"]["ID"] for e in raw)
    assert run.result["instances"], "the filter should leave something"


def test_service_info_unknown_service_is_empty_not_an_error(agent):
    run = run_module("service_info", {**agent.connection(), "name": "no-such-service"}, check=True)
    assert run.returncode == 0 and run.result["instances"] == [], run


def test_service_info_blocking_query_waits_for_a_change(web):
    first = run_module("service_info", {**web.connection(), "name": "rd-web"})
    index = first.result["index"]
    assert index > 0

    def change_later():
        time.sleep(2)
        web.http("PUT", "/v1/agent/service/register", {"ID": "rd-web-3", "Name": "rd-web", "Port": 8083})

    changer = threading.Thread(target=change_later)
    started = time.monotonic()
    changer.start()
    try:
        second = run_module("service_info", {**web.connection(), "name": "rd-web", "index": index, "wait": "30s"})
    finally:
        changer.join()
        web.deregister("rd-web-3")
    took = time.monotonic() - started
    assert second.result["index"] > index
    assert "rd-web-3" in [i["service_id"] for i in second.result["instances"]]
    assert 2 <= took < 25, took


def test_catalog_info_matches_raw(web):
    run = run_module("catalog_info", {**web.connection()}, check=True)
    assert run.result["services"] == {
        name: sorted(tags) for name, tags in web.http("GET", "/v1/catalog/services").items()
    }
    assert sorted(n["name"] for n in run.result["nodes"]) == sorted(
        n["Node"] for n in web.http("GET", "/v1/catalog/nodes")
    )
    assert run.result["datacenters"] == web.http("GET", "/v1/catalog/datacenters")
    filtered = run_module("catalog_info", {**web.connection(), "gather": ["nodes"], "node_meta": {"rack": "r9"}})
    assert [n["name"] for n in filtered.result["nodes"]] == ["rd-external"]
    assert "services" not in filtered.result


def test_cluster_info_healthy_dev_agent(agent):
    run = run_module("cluster_info", {**agent.connection()})
    result = run.result
    assert result["leader"] == agent.http("GET", "/v1/status/leader")
    assert result["peers"] == agent.http("GET", "/v1/status/peers")
    members = agent.http("GET", "/v1/agent/members")
    assert [(m["name"], m["status"], m["role"]) for m in result["members"]] == [
        (m["Name"], "alive", "server") for m in members
    ]
    assert [s["id"] for s in result["raft_servers"]] == [
        s["ID"] for s in agent.http("GET", "/v1/operator/raft/configuration")["Servers"]
    ]
    assert result["autopilot"]["healthy"] is True
    assert result["healthy"] is True and result["problems"] == []


def test_cluster_info_counts_expected_servers(agent):
    run = run_module("cluster_info", {**agent.connection(), "expect_servers": 3})
    assert run.result["healthy"] is False
    assert run.result["problems"] == ["1 voting raft servers, 3 expected"]


def test_cluster_info_without_leader_reports_instead_of_failing(leaderless_agent):
    run = run_module("cluster_info", {**leaderless_agent.connection()})
    assert run.returncode == 0, run
    assert (run.result["healthy"], run.result["leader"], run.result["raft_servers"]) == (False, "", [])
    assert "no raft leader is elected" in run.result["problems"]
