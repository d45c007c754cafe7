"""The Consul datacenter: seed 2 lines 1 and 7, seed 1 line 1 (HTTP on 8500, DNS on 8600/udp),
and the consul role's promises (validated config, dedicated user, DNS on port 53)."""

from __future__ import annotations

import json

import pytest
from conftest import NODES, SERVERS

ALIVE = 1


@pytest.mark.parametrize("name", NODES)
def test_three_alive_members_in_dc1_seen_from_every_agent(nodes, name):
    members = nodes[name].consul("/v1/agent/members")
    assert sorted((m["Name"], m["Addr"], m["Status"], m["Tags"]["dc"]) for m in members) == [
        (n, node.address, ALIVE, "dc1") for n, node in sorted(nodes.items())
    ]


@pytest.mark.parametrize("name", NODES)
def test_every_agent_knows_the_leader(nodes, name):
    leader = nodes[name].consul("/v1/status/leader")
    assert leader in {f"{nodes[s].address}:8300" for s in SERVERS}
    assert sorted(nodes[name].consul("/v1/status/peers")) == sorted(f"{nodes[s].address}:8300" for s in SERVERS)


def test_servers_and_clients_follow_the_inventory_groups(nodes):
    for name, node in nodes.items():
        config = node.consul("/v1/agent/self")
        assert config["Config"]["Server"] is (name in SERVERS), name
        assert config["Config"]["Datacenter"] == "dc1"
        assert config["Config"]["NodeName"] == name
        debug = config["DebugConfig"]
        if name in SERVERS:
            # One server is Consul's bootstrap mode (seed 1's `-server -bootstrap`).
            assert (debug["Bootstrap"], debug["BootstrapExpect"]) == (
                (True, 0) if len(SERVERS) == 1 else (False, len(SERVERS))
            )
        assert sorted(debug["RetryJoinLAN"]) == sorted(nodes[s].address for s in SERVERS)


@pytest.mark.parametrize("name", NODES)
def test_http_api_and_dns_listen_on_the_node_address(nodes, name):
    node = nodes[name]
    host = node.host
    assert host.socket(f"tcp://{node.address}:8500").is_listening
    assert host.socket("tcp://127.0.0.1:8500").is_listening
    assert host.socket(f"udp://{node.address}:8600").is_listening
    assert node.consul("/v1/agent/self")["Member"]["Addr"] == node.address


@pytest.mark.parametrize("name", NODES)
def test_dns_interface_answers_on_8600_udp(nodes, name):
    answer = nodes[name].dig("@127.0.0.1", "-p", "8600", "+short", "consul.service.consul")
    assert sorted(answer) == sorted(nodes[s].address for s in SERVERS)


@pytest.mark.parametrize("name", NODES)
def test_agent_runs_as_the_consul_user_under_systemd(nodes, name):
    host = nodes[name].host
    service = host.service("consul")
    assert service.is_running and service.is_enabled
    properties = service.systemd_properties
    assert properties["User"] == "consul"
    assert properties["Type"] == "notify"
    pid = int(properties["MainPID"])
    assert host.process.get(pid=pid).user == "consul"
    assert host.user("consul").shell == "/usr/sbin/nologin"


@pytest.mark.parametrize("name", NODES)
def test_configuration_is_private_and_passes_consul_validate(nodes, name):
    host = nodes[name].host
    config = host.file("/etc/consul.d/consul.json")
    assert (config.user, config.group, config.mode) == ("root", "consul", 0o640)
    rendered = json.loads(config.content_string)
    assert rendered["node_name"] == name
    assert rendered["bind_addr"] == nodes[name].address
    assert rendered["disable_update_check"] is True
    assert host.run("consul validate /etc/consul.d/consul.json").rc == 0


@pytest.mark.parametrize("name", NODES)
def test_host_resolves_seed_services_on_port_53(nodes, name):
    """Through each host's own resolver (systemd-resolved on node1, dnsmasq on node2 and node3); the
    scenario-independent checks are in molecule/resources/tests/test_host_dns.py."""
    node = nodes[name]
    assert node.dig("+short", "svc2.service.consul") == [nodes["node2"].address]
    assert node.check("getent hosts svc3.service.consul").split()[0] == nodes["node3"].address
    # The node address answers the Consul domain for other machines.
    assert nodes["node2"].dig(f"@{node.address}", "+short", "svc1.service.consul") == [nodes["node1"].address]
