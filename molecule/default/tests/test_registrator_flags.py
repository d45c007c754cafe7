"""Every registrator flag the role exposes, against the real gliderlabs/registrator.

-ip and -cleanup run with the lab's own settings. The others need settings the lab does not use, so
the role reconfigures node3's registrator once for this module (-explicit -tags -resync
-deregister=on-success -useIpFromLabel -retry-attempts -retry-interval, without -cleanup) and puts
the lab's settings back at the end. -internal is seed 1's, tested by the single scenario
(test_2 and test_3_5 of test_seed1.py).
"""

from __future__ import annotations

import json
import time

import pytest
from conftest import NODES
from labkit.ansible_runner import ansible_playbook, role_playbook
from labkit.containers import CLIENT_IMAGE
from labkit.nodes import catalog
from labkit.reconcile import reconcile_paused
from labkit.waiting import wait_for

RESYNC_SECONDS = 3
FLAGGED = {
    "registrator_explicit": True,
    "registrator_tags": ["dockyard", "flagtest"],
    "registrator_resync": RESYNC_SECONDS,
    "registrator_deregister": "on-success",
    # With -cleanup, a resync removes what -deregister on-success keeps (see the role's README).
    "registrator_cleanup": False,
    "registrator_use_ip_from_label": "dockyard.address",
    "registrator_retry_attempts": 60,
    "registrator_retry_interval": 500,
}
FLAGGED_ARGS = [
    "-explicit",
    "-tags=dockyard,flagtest",
    f"-resync={RESYNC_SECONDS}",
    "-useIpFromLabel=dockyard.address",
    "-deregister=on-success",
    "-retry-attempts=60",
    "-retry-interval=500",
]


def inspect(node, container: str = "registrator") -> dict:
    result = node.docker("inspect", container)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)[0]


def registrator_log(node) -> str:
    """What registrator logged in its container's current run (its log goes to stderr).

    Docker stamps StartedAt after the process started, so a run's first lines can be older than it:
    the run begins after the previous run's FinishedAt.
    """
    state = inspect(node)["State"]
    since = "" if state["FinishedAt"].startswith("0001-") else f"--since {state['FinishedAt']}"
    return node.check(f"docker logs {since} registrator 2>&1")


def agent_service(node, service_id: str):
    return node.consul("/v1/agent/services").get(service_id)


def registered(node, service_id: str, timeout: float = 10) -> dict:
    service, _took = wait_for(lambda: agent_service(node, service_id), timeout, 0.1, what=f"{service_id} registered")
    return service


# --- the lab's own settings ------------------------------------------------------------------


@pytest.mark.parametrize("name", NODES)
def test_ip_flag_registers_the_node_address_not_the_one_registrator_resolves(nodes, name):
    """Inside its container registrator's hostname resolves to the container's bridge address; -ip
    makes it register the node address that other hosts reach."""
    node = nodes[name]
    registrator = inspect(node)
    own_address = registrator["NetworkSettings"]["IPAddress"]
    assert f"-ip={node.address}" in registrator["Args"]
    assert own_address and own_address != node.address
    assert f"Forcing host IP to {node.address}" in registrator_log(node)
    service = next(s for s in node.consul("/v1/agent/services").values() if s["Service"].startswith("svc"))
    assert service["Address"] == node.address


def test_cleanup_flag_removes_entries_of_containers_removed_while_registrator_was_down(nodes, containers):
    node = nodes["node2"]
    containers.run(node, "flag-cleanup", "-e", "SERVICE_NAME=flag-cleanup", "-p", "18108:8080")
    wait_for(lambda: catalog(node, "flag-cleanup"), 10, what="flag-cleanup registered")
    try:
        with reconcile_paused(node):
            assert node.docker("stop", "registrator").returncode == 0
            assert node.docker("rm", "-f", "flag-cleanup").returncode == 0
            time.sleep(1)
            assert catalog(node, "flag-cleanup"), "nobody was there to deregister it: the entry is stale"
            assert node.docker("start", "registrator").returncode == 0
            _gone, took = wait_for(lambda: catalog(node, "flag-cleanup") == [], 15, 0.1, what="stale entry cleaned up")
            print(f"stale flag-cleanup entry removed {took:.2f} s after registrator started")
            assert "dangling: node2:flag-cleanup:8080" in registrator_log(node)
    finally:
        node.docker("start", "registrator")


# --- node3 with the other flags -------------------------------------------------------------


@pytest.fixture(scope="module")
def flagged(nodes, tmp_path_factory):
    """node3's registrator reconfigured through the role; the lab's settings come back afterwards."""
    node = nodes["node3"]
    playbook = role_playbook(tmp_path_factory.mktemp("registrator-flags"), "registrator", "node3")
    result = ansible_playbook(playbook, "-e", json.dumps(FLAGGED), timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    args = inspect(node)["Args"]
    assert [arg for arg in FLAGGED_ARGS if arg not in args] == [], args
    assert "-cleanup" not in args
    yield node
    restored = ansible_playbook(playbook, timeout=300)
    assert restored.returncode == 0, restored.stdout[-3000:] + restored.stderr[-2000:]
    assert "-cleanup" in inspect(node)["Args"]
    wait_for(lambda: catalog(node, "svc3"), 15, what="svc3 registered again")


def test_tags_flag_adds_its_tags_to_every_service(flagged, containers):
    containers.run(flagged, "flag-tags", "-e", "SERVICE_NAME=flag-tags", "-e", "SERVICE_TAGS=own", "-p", "18101:8080")
    # registrator's order: the container's tags, then -tags split last item first.
    assert registered(flagged, "node3:flag-tags:8080")["Tags"] == ["own", "flagtest", "dockyard"]
    assert registered(flagged, "node3:svc3:8080")["Tags"] == ["flagtest", "dockyard"]


def test_explicit_flag_skips_containers_without_a_service_name(flagged, containers):
    container_id = containers.run(flagged, "flag-anonymous", "-p", "18102:8080")
    wait_for(
        lambda: f"ignored: {container_id[:12]} service on port 8080" in registrator_log(flagged),
        10,
        0.2,
        what="registrator looked at flag-anonymous",
    )
    assert [sid for sid in flagged.consul("/v1/agent/services") if "flag-anonymous" in sid] == []
    # A container that names its service is still registered.
    assert registered(flagged, "node3:svc3:8080")["Service"] == "svc3"


def test_resync_flag_restores_a_registration_deleted_behind_its_back(flagged, containers):
    containers.run(flagged, "flag-resync", "-e", "SERVICE_NAME=flag-resync", "-p", "18103:8080")
    registered(flagged, "node3:flag-resync:8080")
    with reconcile_paused(flagged):
        flagged.consul("/v1/agent/service/deregister/node3:flag-resync:8080", method="PUT")
        assert agent_service(flagged, "node3:flag-resync:8080") is None
        _back, took = wait_for(
            lambda: agent_service(flagged, "node3:flag-resync:8080"),
            RESYNC_SECONDS + 5,
            0.1,
            what="flag-resync registered again by a resync",
        )
    print(f"deleted registration back after {took:.2f} s (-resync={RESYNC_SECONDS})")
    assert took <= RESYNC_SECONDS + 1.5


def test_deregister_on_success_keeps_containers_that_failed(flagged, containers):
    cases = {"flag-fails": ("exit 3", 18104), "flag-succeeds": ("exit 0", 18105), "flag-killed": ("sleep 60", 18106)}
    for name, (end, port) in cases.items():
        containers.run(
            flagged,
            name,
            "-e",
            f"SERVICE_NAME={name}",
            "-p",
            f"{port}:80",
            image=CLIENT_IMAGE,
            command=("bash", "-c", f"sleep 4; {end}"),
        )
    for name in cases:
        registered(flagged, f"node3:{name}:80", timeout=3)
    assert flagged.docker("kill", "flag-killed").returncode == 0
    for name in ("flag-succeeds", "flag-killed"):
        wait_for(lambda n=name: agent_service(flagged, f"node3:{n}:80") is None, 15, 0.1, what=f"{name} deregistered")
    assert {name: inspect(flagged, name)["State"]["ExitCode"] for name in cases} == {
        "flag-fails": 3,
        "flag-succeeds": 0,
        "flag-killed": 137,
    }
    # Both die events came together; give registrator a resync interval more to act on the failed one.
    time.sleep(RESYNC_SECONDS)
    assert agent_service(flagged, "node3:flag-fails:80")["Service"] == "flag-fails"


def test_use_ip_from_label_registers_the_labelled_address(flagged, containers):
    containers.run(
        flagged,
        "flag-label",
        "-e",
        "SERVICE_NAME=flag-label",
        "-l",
        "dockyard.address=172.20.20.233/24",
        "-p",
        "18107:8080",
    )
    containers.run(flagged, "flag-nolabel", "-e", "SERVICE_NAME=flag-nolabel", "-p", "18109:8080")
    labelled = registered(flagged, "node3:flag-label:8080")
    assert (labelled["Address"], labelled["Port"]) == ("172.20.20.233", 18107)
    plain = registered(flagged, "node3:flag-nolabel:8080")
    assert (plain["Address"], plain["Port"]) == ("172.20.20.30", 18109)


def test_retry_flags_connect_a_registrator_started_before_its_agent(nodes, flagged, containers):
    try:
        flagged.check("systemctl stop consul", timeout=60)
        assert flagged.docker("restart", "registrator").returncode == 0
        # -retry-interval=500: the third attempt comes about a second later, and fails.
        wait_for(lambda: "Connecting to backend (2/60)" in registrator_log(flagged), 10, 0.2, what="retries")
        assert "consul: current leader" not in registrator_log(flagged)
        assert inspect(flagged)["State"]["Running"]
        flagged.check("systemctl start consul", timeout=60)
        _log, took = wait_for(
            lambda: "Listening for Docker events" in registrator_log(flagged), 30, 0.2, what="registrator connected"
        )
        print(f"registrator connected {took:.2f} s after the agent started")
        containers.run(flagged, "flag-retry", "-e", "SERVICE_NAME=flag-retry", "-p", "18110:8080")
        registered(flagged, "node3:flag-retry:8080")
    finally:
        flagged.run("systemctl start consul", timeout=60)
        wait_for(
            lambda: [m["Status"] for m in nodes["node1"].consul("/v1/agent/members") if m["Name"] == "node3"] == [1],
            60,
            0.5,
            what="node3 alive again",
        )
