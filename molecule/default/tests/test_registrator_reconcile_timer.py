"""The registrator role's reconcile timer on every Docker host: a registration added or removed behind
registrator's back (through the agent API, which registrator never hears of) is repaired by the next
pass, the pass says so in the journal, and the check registrator-reconcile of the service registrator
on each agent reports it, without touching the health of the host's other services.

registrator runs without -resync here (node3's test_registrator_flags fixture puts the lab's settings
back), so nothing but the timer repairs these. Waits are the configured interval (the inventory's
registrator_reconcile_interval, the role's 60 s without) plus a slack for the pass itself."""

from __future__ import annotations

import time

import pytest
from conftest import NODES
from labkit.ansible_runner import INVENTORY_FILE
from labkit.waiting import wait_for
from testinfra.utils.ansible_runner import AnsibleRunner

UNIT = "dockyard-registrator-reconcile"
CHECK = "registrator-reconcile"
# A pass takes about a second; the timer's accuracy is 1 s.
SLACK = 10
# The check runs every 10 s and the agent syncs its status to the catalog at once.
CHECK_SETTLES = 20


@pytest.fixture(scope="module")
def interval() -> int:
    """registrator_reconcile_interval as the scenario's inventory sets it (the role's default otherwise)."""
    return int(AnsibleRunner(INVENTORY_FILE).get_variables("node1").get("registrator_reconcile_interval", 60))


def journal(node, since: float) -> str:
    return node.check(f"journalctl -u {UNIT}.service --since @{int(since) - 1} --no-pager -o cat")


def node_check(node) -> dict:
    """The registrator-reconcile check on the node, as the catalog holds it."""
    checks = {check["CheckID"]: check for check in node.consul(f"/v1/health/node/{node.name}")}
    return checks.get(CHECK, {"Status": "absent", "Output": ""})


def check_in(node, status: str):
    """The node's check when it has that status, else None (for wait_for)."""
    check = node_check(node)
    return check if check["Status"] == status else None


def pass_lines(node, since: float, needle: str) -> list[str]:
    """The journal lines of the passes since then that name needle."""
    return [line for line in journal(node, since).splitlines() if needle in line]


def agent_service(node, service_id: str):
    return node.consul("/v1/agent/services").get(service_id)


def deregister(node, service_id: str) -> None:
    node.consul(f"/v1/agent/service/deregister/{service_id}", method="PUT")


@pytest.mark.parametrize("name", NODES)
def test_the_timer_runs_on_every_docker_host_with_the_configured_interval(nodes, name, interval):
    node = nodes[name]
    assert node.check(f"systemctl is-active {UNIT}.timer").strip() == "active"
    assert node.check(f"systemctl is-enabled {UNIT}.timer").strip() == "enabled"
    # Enabled for consul.service: a pass after every start of the agent.
    assert node.check(f"systemctl is-enabled {UNIT}.service").strip() == "enabled"
    assert f"{UNIT}.service" in node.check("ls /etc/systemd/system/consul.service.wants/")
    timer = node.check(f"systemctl cat {UNIT}.timer")
    assert f"OnUnitActiveSec={interval}s" in timer.splitlines(), timer
    # The token (none here) lives in the environment file, root only.
    assert node.check("stat -c '%U %a' /etc/dockyard/registrator-reconcile.env").split() == ["root", "600"]
    # The portless service that carries the check of the last pass.
    service = agent_service(node, "registrator")
    assert (service["Service"], service["Port"], service["Meta"]) == (
        "registrator",
        0,
        {"reconcile_interval": str(interval)},
    )


@pytest.mark.parametrize("name", NODES)
def test_the_check_passes_at_rest(nodes, name, interval):
    node = nodes[name]
    check, _took = wait_for(lambda: check_in(node, "passing"), interval + CHECK_SETTLES, 1, what="check passing")
    assert check["Name"] == "registrator registrations in sync"
    # The service registrator's check, not the node's (which would count for every service of the node).
    assert (check["ServiceID"], check["ServiceName"]) == ("registrator", "registrator"), check
    assert check["Output"].startswith("in sync at "), check


def test_a_stale_registration_is_removed_by_the_next_pass(nodes, interval):
    node = nodes["node2"]
    stale_id = "node2:reconcile-ghost:9999"  # registrator's ID shape, for a container that does not exist
    since = time.time()
    node.consul(
        "/v1/agent/service/register",
        "PUT",
        {"ID": stale_id, "Name": "reconcile-ghost", "Address": node.address, "Port": 9999},
    )
    try:
        assert agent_service(node, stale_id)
        _gone, took = wait_for(
            lambda: agent_service(node, stale_id) is None, interval + SLACK, 0.5, what="the stale entry removed"
        )
        print(f"stale {stale_id} removed {took:.1f} s after it was added (interval {interval} s)")
        (line,), _took = wait_for(lambda: pass_lines(node, since, f'"{stale_id}"'), 5, 0.5, what="the pass logged")
        assert line.startswith("drift=") and f'stale=["{stale_id}"]' in line and "fixed=yes" in line, line
    finally:
        if agent_service(node, stale_id):
            deregister(node, stale_id)


def test_a_missing_registration_comes_back_with_the_next_pass(nodes, containers, interval):
    node = nodes["node2"]
    service_id = "node2:reconcile-missing:8080"
    containers.run(
        node,
        "reconcile-missing",
        "-e",
        "SERVICE_NAME=reconcile-missing",
        "-p",
        "18121:8080",
        command=("reconcile-missing",),
    )
    wait_for(lambda: agent_service(node, service_id), 10, 0.2, what="registrator registered it")
    since = time.time()
    deregister(node, service_id)
    assert agent_service(node, service_id) is None
    back, took = wait_for(lambda: agent_service(node, service_id), interval + SLACK, 0.5, what="registered again")
    print(f"{service_id} registered again {took:.1f} s after its deregistration (interval {interval} s)")
    assert (back["Service"], back["Address"], back["Port"]) == ("reconcile-missing", node.address, 18121)
    (line,), _took = wait_for(lambda: pass_lines(node, since, f'"{service_id}"'), 5, 0.5, what="the pass logged")
    assert f'missing=["{service_id}"]' in line and "fixed=yes" in line, line


def test_the_check_warns_after_a_drift_and_passes_after_the_next_pass(nodes, interval):
    """With the timer stopped, so that the warning lasts until this test starts it again: a shorter
    interval than the check's 10 s could replace the record before the check reads it. The node's
    other services stay healthy meanwhile."""
    node = nodes["node3"]
    stale_id = "node3:reconcile-warning:9998"
    node.check(f"systemctl stop {UNIT}.timer")
    try:
        node.consul("/v1/agent/service/register", "PUT", {"ID": stale_id, "Name": "reconcile-warning", "Port": 9998})
        node.check(f"systemctl start {UNIT}.service", timeout=120)  # one pass, done when this returns
        assert agent_service(node, stale_id) is None
        warning, _took = wait_for(lambda: check_in(node, "warning"), CHECK_SETTLES, 0.5, what="the check warning")
        assert warning["Output"].startswith("drift=1 at ") and f'stale=["{stale_id}"]' in warning["Output"], warning
        assert ", fixed: " in warning["Output"]
        # svc3 (seed 2's service on node3) is still among the passing instances the load balancer reads.
        assert [e["Service"]["ID"] for e in node.consul("/v1/health/service/svc3?passing")] == ["node3:svc3:8080"]
    finally:
        node.check(f"systemctl start {UNIT}.timer")  # its first pass comes 5 s later
        if agent_service(node, stale_id):
            deregister(node, stale_id)
    passing, _took = wait_for(lambda: check_in(node, "passing"), 5 + SLACK + CHECK_SETTLES, 0.5, what="passing again")
    assert passing["Output"].startswith("in sync at "), passing
