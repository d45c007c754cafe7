"""A node's life after the first converge, last in the run because it takes secure3 away and brings it
back: playbooks/decommission.yml retires it (registrator removed, `consul leave`, agent disabled,
its tokens revoked, its services out of the catalog), `site.yml --limit secure3` brings it back,
and a server destroyed with its disk and rebuilt from scratch rejoins the same way, its dead raft
peer replaced without a manual step."""

from __future__ import annotations

import time

from conftest import NODES
from labkit.ansible_runner import ansible_playbook, flat, recap
from labkit.nodes import recreate
from labkit.secure import Api, management_token, tokens_by_description
from labkit.waiting import wait_for

ALIVE, LEFT = 1, 3
WITNESS = Api(NODES["secure1"].address)


def raft_peers() -> dict[str, str]:
    """{node: raft ID} of the raft configuration, as the witness server sees it."""
    return {server["Node"]: server["ID"] for server in WITNESS.get("/v1/operator/raft/configuration")["Servers"]}


def healthy_voters() -> int:
    health = WITNESS.get("/v1/operator/autopilot/health")
    return sum(server["Voter"] and server["Healthy"] for server in health["Servers"]) if health["Healthy"] else 0


def whole() -> bool:
    members = sorted((m["Name"], m["Status"]) for m in WITNESS.get("/v1/agent/members"))
    return members == [(name, ALIVE) for name in NODES] and healthy_voters() == 3


def catalog_services(node: str) -> list[str]:
    response = WITNESS.call("GET", f"/v1/catalog/node/{node}", management_token())
    if response.status_code == 404 or response.json() is None:
        return []
    return sorted(response.json()["Services"])


def site_limited(host: str):
    result = ansible_playbook("dockyard.discovery.site", "--limit", host, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


def test_decommission_retires_a_node_and_site_brings_it_back(containers):
    node = NODES["secure3"]
    containers.run(node, "retiree", "-e", "SERVICE_NAME=retiree", "-p", "8095:8080", command=("retiree",))
    wait_for(lambda: "secure3:retiree:8080" in catalog_services("secure3"), 10, 0.2, what="retiree registered")
    try:
        result = ansible_playbook("dockyard.discovery.decommission", "-e", "decommission_hosts=secure3")
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        members = {m["Name"]: m["Status"] for m in WITNESS.get("/v1/agent/members")}
        assert members["secure3"] == LEFT
        assert catalog_services("secure3") == []
        assert sorted(raft_peers()) == ["secure1", "secure2"]
        assert node.docker("inspect", "registrator").returncode != 0
        assert node.run("systemctl is-enabled consul").stdout.strip() == "disabled"
        assert node.run("systemctl is-active consul").stdout.strip() != "active"
        assert not [d for d in tokens_by_description(WITNESS) if d.endswith(" on secure3 (dockyard.discovery)")]
        # The container itself was left alone.
        assert node.check("docker inspect -f '{{.State.Running}}' retiree").strip() == "true"

        again = ansible_playbook("dockyard.discovery.decommission", "-e", "decommission_hosts=secure3")
        assert again.returncode == 0, again.stdout[-3000:]
        assert {changed for changed, _u, _f in recap(again.stdout).values()} == {0}, again.stdout[-3000:]

        refused = ansible_playbook("dockyard.discovery.decommission", "-e", "decommission_hosts=nosuchhost")
        assert refused.returncode != 0
        assert "nosuchhost is not a host of consul_servers" in flat(refused.stdout + refused.stderr)
    finally:
        site_limited("secure3")
    wait_for(whole, 60, 1, what="secure3 back as a healthy voter")
    wait_for(lambda: "secure3:retiree:8080" in catalog_services("secure3"), 30, 0.5, what="retiree registered again")


def test_a_server_rebuilt_from_scratch_rejoins_with_site_and_its_dead_peer_goes():
    old_id = raft_peers()["secure3"]
    NODES["secure3"].run("systemctl kill --signal=SIGKILL consul; systemctl stop consul")
    recreate("secure3")  # a new machine, same name and address, empty disk
    started = time.monotonic()
    site_limited("secure3")
    wait_for(whole, 90, 1, what="the rebuilt secure3 a healthy voter")
    rejoined = time.monotonic() - started
    peers = raft_peers()
    assert sorted(peers) == sorted(NODES) and peers["secure3"] != old_id and old_id not in peers.values()
    print(f"server replacement: secure3 rebuilt, site.yml --limit secure3 and healthy voter in {rejoined:.0f}s")
