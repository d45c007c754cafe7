# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dockyard.discovery.consul inventory plugin through ansible-inventory, compared with the raw catalog."""

import json

import pytest
from conftest import run_inventory

NODES = {
    "node1": ("10.20.0.11", {"rack": "r1"}, "passing"),
    "node2": ("10.20.0.12", {"rack": "r2"}, "passing"),
    "node3": ("10.20.0.13", {"rack": "r1"}, "critical"),
}


@pytest.fixture(scope="module")
def catalog(agent):
    """node1..node3 each running svc1..svc3 (as in the lab), plus web-api on node1 and a failing check on node3."""
    for node, (address, meta, status) in NODES.items():
        for service in ("svc1", "svc2", "svc3"):
            agent.http(
                "PUT",
                "/v1/catalog/register",
                {
                    "Node": node,
                    "Address": address,
                    "NodeMeta": meta,
                    "Service": {
                        "ID": service,
                        "Service": service,
                        "Port": 8080,
                        "Tags": ["blue" if node != "node2" else "green"],
                    },
                    "Check": {"CheckID": f"{service}-alive", "Name": "alive", "ServiceID": service, "Status": status},
                },
            )
    agent.http(
        "PUT",
        "/v1/catalog/register",
        {
            "Node": "node1",
            "Address": "10.20.0.11",
            "NodeMeta": {"rack": "r1"},
            "Service": {"ID": "web-api", "Service": "web-api", "Port": 80},
        },
    )
    yield agent
    for node in NODES:
        agent.http("PUT", "/v1/catalog/deregister", {"Node": node})


def write_config(tmp_path, agent, **extra):
    config = {"plugin": "dockyard.discovery.consul", "host": "127.0.0.1", "port": agent.http_port, **extra}
    path = tmp_path / "lab.consul.yml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def untag(value):
    """ansible-inventory --list marks strings that came from a plugin as {"__ansible_unsafe": ...}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: untag(item) for key, item in value.items()}
    if isinstance(value, list):
        return [untag(item) for item in value]
    return value


def inventory_list(path, *options):
    process = run_inventory(path, "--list", *options)
    assert process.returncode == 0, process.stderr
    assert "Traceback" not in process.stderr
    return untag(json.loads(process.stdout))


def members(inventory, group):
    return sorted(inventory.get(group, {}).get("hosts", []))


def test_graph_lists_nodes_under_their_services(catalog, tmp_path):
    path = write_config(tmp_path, catalog)
    process = run_inventory(path, "--graph")
    assert process.returncode == 0, process.stderr
    for service in ("svc1", "svc2", "svc3"):
        block = process.stdout.split(f"@{service}:")[1].split("@")[0]
        assert [line.strip(" |-") for line in block.splitlines() if line.strip(" |-")] == ["node1", "node2", "node3"]


def test_groups_and_hostvars_match_the_catalog(catalog, tmp_path):
    inventory = inventory_list(write_config(tmp_path, catalog))
    raw_nodes = {n["Node"]: n for n in catalog.http("GET", "/v1/catalog/nodes")}
    hostvars = inventory["_meta"]["hostvars"]
    assert set(hostvars) == set(raw_nodes)
    for service in ("svc1", "svc2", "svc3"):
        assert members(inventory, service) == ["node1", "node2", "node3"]
    assert members(inventory, "web_api") == ["node1"]  # web-api sanitized
    assert members(inventory, "tag_blue") == ["node1", "node3"] and members(inventory, "tag_green") == ["node2"]
    assert members(inventory, "health_critical") == ["node3"]
    assert "node1" in members(inventory, "health_passing")
    assert set(members(inventory, "dc_dc1")) == set(raw_nodes)
    node1 = hostvars["node1"]
    assert node1["consul_address"] == raw_nodes["node1"]["Address"] == node1["ansible_host"]
    assert node1["consul_node_meta"] == raw_nodes["node1"]["Meta"]
    assert node1["consul_datacenter"] == "dc1"
    raw_services = catalog.http("GET", "/v1/catalog/node/node1")["Services"]
    assert sorted(s["name"] for s in node1["consul_services"]) == sorted(s["Service"] for s in raw_services.values())
    assert hostvars["node3"]["consul_health"] == "critical"


def test_constructed_features(catalog, tmp_path):
    path = write_config(
        tmp_path,
        catalog,
        keyed_groups=[{"key": "consul_node_meta.rack | default('none')", "prefix": "rack"}],
        compose={"svc_count": "consul_services | length"},
        groups={"unhealthy": "consul_health != 'passing'"},
        set_ansible_host=False,
        group_by=["service", "health"],
        health_group_prefix="state_",
    )
    inventory = inventory_list(path)
    assert members(inventory, "rack_r1") == ["node1", "node3"] and members(inventory, "rack_r2") == ["node2"]
    assert inventory["_meta"]["hostvars"]["node1"]["svc_count"] == 4
    assert members(inventory, "unhealthy") == ["node3"]
    assert "ansible_host" not in inventory["_meta"]["hostvars"]["node1"]
    assert not [group for group in inventory if group.startswith(("tag_", "dc_"))]
    assert members(inventory, "state_critical") == ["node3"]


def test_cache(catalog, tmp_path):
    cache_dir = tmp_path / "cache"
    path = write_config(
        tmp_path,
        catalog,
        cache=True,
        cache_plugin="ansible.builtin.jsonfile",
        cache_connection=str(cache_dir),
        cache_timeout=3600,
    )
    catalog.http("PUT", "/v1/catalog/register", {"Node": "node9", "Address": "10.20.0.19"})
    try:
        assert "node9" in inventory_list(path)["_meta"]["hostvars"]
    finally:
        catalog.http("PUT", "/v1/catalog/deregister", {"Node": "node9"})
    assert list(cache_dir.iterdir()), "the first run should fill the cache"
    assert "node9" in inventory_list(path)["_meta"]["hostvars"], "a cached run must not ask Consul"
    assert "node9" not in inventory_list(path, "--flush-cache")["_meta"]["hostvars"]


def test_filters(catalog, tmp_path):
    inventory = inventory_list(write_config(tmp_path, catalog, node_meta={"rack": "r1"}, datacenters=["dc1"]))
    assert sorted(inventory["_meta"]["hostvars"]) == ["node1", "node3"]
