"""Fault 5, first because the converge ran the previous releases (converge.yml): playbooks/upgrade.yml
moves the three servers from the previous Consul minor release to the pinned one, and consul-template
with them, under load through nginx. A snapshot is saved first; the agents go one at a time, the
leader last; no request fails and the data is intact. A request the playbook cannot meet stops it at
the first agent, naming it, and leaves every agent as it was."""

from __future__ import annotations

import os
import re
import time

from conftest import NGINX_URL, NODES
from labkit.ansible_runner import INVENTORY, ansible_playbook, flat, recap
from labkit.load import Load
from labkit.measure import record
from labkit.secure import Api, kv_checksum, leader_node, management_token, member_versions, service_counts

PREVIOUS = os.environ["CONSUL_PREVIOUS_VERSION"]
PINNED = os.environ["CONSUL_VERSION"]
TEMPLATE_PREVIOUS = os.environ["CONSUL_TEMPLATE_PREVIOUS_VERSION"]
TEMPLATE_PINNED = os.environ["CONSUL_TEMPLATE_VERSION"]
SNAPSHOTS = INVENTORY / ".consul-snapshots" / "dc1"
PLAN = re.compile(r"Consul \S+: (.*?)\. consul-template")


def started_at(node) -> float:
    """When the node's consul unit last became active, on the monotonic clock the nodes share."""
    return int(node.check("systemctl show consul -p ActiveEnterTimestampMonotonic").split("=", 1)[1]) / 1e6


def template_version(node) -> str:
    return node.check("consul-template -version 2>&1").split()[1].lstrip("v")


def put_kv(api: Api, count: int) -> None:
    for index in range(count):
        response = api.call("PUT", f"/v1/kv/upgrade-test/key-{index}", management_token(), data=f"value {index}")
        assert response.status_code == 200, response.text


def test_an_impossible_upgrade_stops_at_the_first_agent_and_changes_nothing_else(api):
    assert set(member_versions(api).values()) == {PREVIOUS}
    started_before = {name: started_at(node) for name, node in NODES.items()}
    # The pinned binary, announced as a version it is not: the install step's check refuses it.
    result = ansible_playbook(
        "dockyard.discovery.upgrade", "-e", "consul_version=9.9.9", "-e", "upgrade_snapshot=false"
    )
    assert result.returncode != 0
    first = PLAN.search(flat(result.stdout)).group(1).split(", then ")[0]
    # Where the failure lines go (stdout or stderr) depends on the callback settings molecule gives.
    output = result.stdout + result.stderr
    failed = re.findall(r"^fatal: \[(\S+)\]", output, re.MULTILINE)
    assert set(failed) == {first}, output[-3000:]  # the check, then the rescue's report
    assert "not v9.9.9" in flat(output)
    # The others were never reached, and nobody was restarted.
    assert {name: started_at(node) for name, node in NODES.items()} == started_before
    assert set(member_versions(api).values()) == {PREVIOUS}
    assert leader_node(api)


def test_rolling_upgrade_under_load_loses_no_request(api, balanced):
    put_kv(api, 50)
    kv_before, services_before = kv_checksum(api), service_counts(api)
    leader_before = leader_node(api)
    snapshots_before = set(SNAPSHOTS.glob("*.snap")) if SNAPSHOTS.exists() else set()
    started_before = {name: started_at(node) for name, node in NODES.items()}
    assert {template_version(NODES["secure1"])} == {TEMPLATE_PREVIOUS}

    begin = time.monotonic()
    with Load("upgrade", NGINX_URL) as load:
        # The inventory names the pinned releases: an operator bumps them there and runs upgrade.yml.
        result = ansible_playbook("dockyard.discovery.upgrade", timeout=900)
    wall = time.monotonic() - begin
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    record(f"rolling upgrade {PREVIOUS} -> {PINNED}, three servers", round(wall, 1), "s", "upgrade.yml wall time")
    assert load.report.sent > 100 and load.report.failed == 0, load.report.failures[:10]

    # A snapshot came first; every agent runs the new version, consul-template too.
    assert len(set(SNAPSHOTS.glob("*.snap")) - snapshots_before) == 1
    assert member_versions(api) == dict.fromkeys(NODES, PINNED)
    assert template_version(NODES["secure1"]) == TEMPLATE_PINNED
    # The leader was restarted last, and each server only once.
    plan = PLAN.search(flat(result.stdout)).group(1).split(", then ")
    assert plan[-1] == leader_before and sorted(plan) == sorted(NODES)
    restarted = {name: started_at(node) for name, node in NODES.items()}
    assert all(restarted[name] > started_before[name] for name in NODES)
    assert sorted(NODES, key=restarted.get) == plan
    # Data intact; the datacenter whole and healthy again.
    assert kv_checksum(api) == kv_before
    assert service_counts(api) == services_before
    health = api.get("/v1/operator/autopilot/health")
    assert health["Healthy"] and len(health["Servers"]) == 3 and all(s["Voter"] for s in health["Servers"])

    again = ansible_playbook("dockyard.discovery.upgrade", "-e", "upgrade_snapshot=false")
    assert again.returncode == 0, again.stdout[-3000:]
    assert "every agent runs it already" in flat(again.stdout)
    assert {changed for changed, _unreachable, _failed in recap(again.stdout).values()} == {0}
