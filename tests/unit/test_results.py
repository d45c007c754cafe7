# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Result shaping: Consul JSON into one shape for modules and lookups."""

from dataclasses import asdict

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_results import (
    AutopilotHealth,
    Check,
    KVEntry,
    Member,
    ServiceInstance,
    format_endpoint,
    worst_status,
)

HEALTH_ENTRY = {
    "Node": {"Node": "node1", "Address": "10.0.0.1", "Datacenter": "dc1", "Meta": {"rack": "r1"}},
    "Service": {"ID": "web-1", "Service": "web", "Address": "", "Port": 8080, "Tags": ["v1"], "Meta": {"a": "b"}},
    "Checks": [
        {"Node": "node1", "CheckID": "serfHealth", "Name": "Serf", "Status": "passing"},
        {"Node": "node1", "CheckID": "service:web-1", "Name": "http", "Status": "warning", "ServiceID": "web-1"},
    ],
}

CATALOG_ENTRY = {
    "Node": "node1",
    "Address": "10.0.0.1",
    "Datacenter": "dc1",
    "NodeMeta": {"rack": "r1"},
    "ServiceID": "web-1",
    "ServiceName": "web",
    "ServiceAddress": "",
    "ServicePort": 8080,
    "ServiceTags": ["v1"],
    "ServiceMeta": {"a": "b"},
}


def test_health_and_catalog_entries_give_one_shape():
    health = ServiceInstance.from_health(HEALTH_ENTRY).to_dict()
    catalog = ServiceInstance.from_catalog(CATALOG_ENTRY).to_dict()
    assert set(health) == set(catalog)
    for key in (
        "service",
        "service_id",
        "node",
        "node_address",
        "address",
        "port",
        "datacenter",
        "tags",
        "meta",
        "node_meta",
        "endpoint",
    ):
        assert health[key] == catalog[key], key
    assert health["endpoint"] == "10.0.0.1:8080"  # no service address: the node's
    assert health["status"] == "warning"
    assert (catalog["status"], catalog["checks"]) == (None, [])


def test_to_dict_is_asdict_with_the_endpoint_and_copies_the_containers():
    # to_dict is written out field by field for speed (bench/scale.py); it must stay asdict's dict.
    instance = ServiceInstance.from_health(HEALTH_ENTRY)
    result = instance.to_dict()
    assert result == {**asdict(instance), "endpoint": "10.0.0.1:8080"}
    assert list(result) == [*asdict(instance), "endpoint"]
    result["tags"].append("changed")
    result["meta"]["changed"] = "yes"
    result["checks"][0]["status"] = "critical"
    assert instance.tags == ["v1"] and "changed" not in instance.meta and instance.checks[0].status == "passing"
    check = Check.from_api(HEALTH_ENTRY["Checks"][1])
    assert check.to_dict() == asdict(check) and list(check.to_dict()) == list(asdict(check))
    assert ServiceInstance.from_health({**HEALTH_ENTRY, "Checks": []}).status == "passing"


def test_service_address_wins_over_node_address():
    entry = dict(CATALOG_ENTRY, ServiceAddress="192.0.2.7")
    assert ServiceInstance.from_catalog(entry).endpoint == "192.0.2.7:8080"


def test_worst_status():
    assert worst_status([]) == "passing"
    assert worst_status(["passing", "warning"]) == "warning"
    assert worst_status(["warning", "critical", "passing"]) == "critical"
    assert worst_status(["maintenance"]) == "critical"


def test_ipv6_endpoint():
    assert format_endpoint("fd00::1", 80) == "[fd00::1]:80"


def test_member_status_and_role():
    member = Member.from_api(
        {
            "Name": "n1",
            "Addr": "10.0.0.1",
            "Port": 8301,
            "Status": 4,
            "Tags": {"role": "consul", "dc": "dc1", "build": "1.22.7:abc"},
        }
    )
    assert (member.status, member.role, member.datacenter, member.version) == ("failed", "server", "dc1", "1.22.7")
    assert Member.from_api({"Name": "c", "Status": 1, "Tags": {"role": "node"}}).role == "node"


def test_kv_entry_decodes_bytes():
    entry = KVEntry.from_api({"Key": "a", "Value": "héllo".encode(), "Flags": 3, "ModifyIndex": 9})
    assert (entry.value, entry.flags, entry.modify_index) == ("héllo", 3, 9)
    assert KVEntry.from_api({"Key": "folder/", "Value": None}).value is None


def test_autopilot_health():
    health = AutopilotHealth.from_api(
        {
            "Healthy": True,
            "FailureTolerance": 1,
            "Servers": [{"ID": "x", "Name": "n1", "Healthy": True, "Leader": True, "Voter": True}],
        }
    )
    assert health.healthy and health.failure_tolerance == 1
    assert health.servers[0]["name"] == "n1" and health.servers[0]["leader"]
