"""A configuration change restarts the agents one at a time: no two agents are ever down together,
servers go last, and the datacenter is whole again when the play ends."""

from __future__ import annotations

import json

from conftest import NODES, SEED_SERVICES, SERVERS
from labkit.ansible_runner import ansible_playbook, role_playbook
from labkit.load import Load
from labkit.nodes import catalog
from labkit.waiting import wait_for

ALIVE = 1


def downtime(node) -> tuple[float, float]:
    """The last stop/start window of the agent, [ActiveExit, ActiveEnter], in seconds of the monotonic
    clock, which the lab nodes share with their host."""
    output = node.check("systemctl show consul -p ActiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic")
    stamps = dict(line.split("=", 1) for line in output.split())
    return int(stamps["ActiveExitTimestampMonotonic"]) / 1e6, int(stamps["ActiveEnterTimestampMonotonic"]) / 1e6


def test_a_config_change_restarts_one_agent_at_a_time(nodes, tmp_path):
    playbook = role_playbook(tmp_path, "consul", "consul_servers:consul_clients")
    windows = {}
    configs = {name: node.check("cat /etc/consul.d/consul.json") for name, node in nodes.items()}
    # Through nginx on node1 every 0.2 s, at most 1,500 times.
    watch = Load("rolling-restart", "http://172.20.20.10/", interval=0.2, max_requests=1500)
    watch.start()
    try:
        result = ansible_playbook(playbook, "-e", json.dumps({"consul_log_level": "debug"}))
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        windows = {name: downtime(node) for name, node in nodes.items()}
        for node in nodes.values():
            assert json.loads(node.check("cat /etc/consul.d/consul.json"))["log_level"] == "debug"
    finally:
        load = watch.stop()
        # Back to the inventory's configuration without a second round of restarts: the same file
        # and a reload (an agent reloads log_level), so a later site.yml finds nothing to do.
        for name, node in nodes.items():
            node.write("/etc/consul.d/consul.json", configs[name])
            node.check("systemctl reload consul")
    # The services stay registered and served through the restarts.
    assert load.sent > 20 and load.failed == 0, load.failures
    ordered = sorted(windows.items(), key=lambda item: item[1][0])
    print("restart windows:", [(name, round(end - start, 2)) for name, (start, end) in ordered])
    for (_previous, (_down, previous_end)), (name, (start, _up)) in zip(ordered, ordered[1:]):
        assert start >= previous_end, f"{name} went down before the previous agent was back"
    assert {name for name, _window in ordered[-len(SERVERS) :]} == set(SERVERS)
    for node in nodes.values():
        assert sorted((m["Name"], m["Status"]) for m in node.consul("/v1/agent/members")) == [(n, ALIVE) for n in NODES]
    for service, (node_name, _port) in SEED_SERVICES.items():
        wait_for(
            lambda s=service, n=node_name: [e["Node"] for e in catalog(nodes["node1"], s)] == [n],
            10,
            what=f"{service} in the catalog",
        )
