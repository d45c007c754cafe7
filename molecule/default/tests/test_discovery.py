"""Hot registration of svc4 (seed 2 lines 4 to 6, issue checks 2 to 4)."""

from __future__ import annotations

import time

import pytest
from labkit.containers import GREETING, curl, in_container
from labkit.dns import addr_name, srv_answer
from labkit.nodes import catalog
from labkit.waiting import wait_for

KILL_BOUND_SECONDS = 5


def test_catalog_gives_node2_address_and_port_8082_for_svc2(nodes):
    entries = nodes["node1"].consul("/v1/catalog/service/svc2")
    assert [(e["Node"], e["ServiceAddress"], e["ServicePort"]) for e in entries] == [("node2", "172.20.20.20", 8082)]


@pytest.fixture
def svc4(nodes, containers):
    """`docker run -e SERVICE_NAME=svc4 -p 8084:8080 --name svc4 ... svc4` on node3."""
    containers.run(nodes["node3"], "svc4", "-e", "SERVICE_NAME=svc4", "-p", "8084:8080", command=("svc4",))
    wait_for(lambda: catalog(nodes["node1"], "svc4"), 5, what="svc4 in the catalog")
    return nodes["node3"]


@pytest.mark.parametrize("resolver", ["local forwarder", "node1 as in the seed"])
def test_svc4_srv_from_node2_points_at_node3_port_8084(nodes, svc4, resolver):
    server = [] if resolver == "local forwarder" else [f"@{nodes['node1'].address}"]
    srv, addresses = srv_answer(
        nodes["node2"].dig(*server, "+noall", "+answer", "+additional", "svc4.service.consul", "SRV")
    )
    assert len(srv) == 1
    priority, weight, port, target = srv[0]
    assert (priority, weight, port) == (1, 1, 8084)
    # The seed (Consul 0.5) names the target node3.node.dc1.consul.; since Consul 1.7 a registration
    # that carries an address, as registrator's always do, gets that address's .addr. name instead
    # (hashicorp/consul#7360). Either way the additional A record is node3's address.
    assert target in ("node3.node.dc1.consul.", addr_name("172.20.20.30"))
    assert addresses[target] == ["172.20.20.30"]
    assert nodes["node2"].dig("+short", "node3.node.dc1.consul") == ["172.20.20.30"]


# node1's resolver is systemd-resolved, node2's dnsmasq.
@pytest.mark.parametrize("client", ["node1", "node2"])
def test_plain_container_reaches_svc4_by_short_name(nodes, svc4, client):
    """No --dns flags: the Docker daemon's defaults point containers at Consul DNS."""
    result = in_container(nodes[client], *curl("http://svc4:8084/"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(GREETING.format(name="svc4"))


@pytest.mark.parametrize("client", ["node1", "node2"])
def test_seed_container_with_explicit_dns_flags_reaches_svc4(nodes, svc4, client):
    result = in_container(
        nodes[client],
        *curl("http://svc4:8084/"),
        docker_args=("--dns", nodes["node1"].address, "--dns-search", "service.consul"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(GREETING.format(name="svc4"))


def test_docker_kill_removes_svc4_from_catalog_and_dns_within_5s(nodes, svc4):
    assert nodes["node2"].dig("+short", "svc4.service.consul") == ["172.20.20.30"]
    assert "node3:svc4:8080" in svc4.consul("/v1/agent/services")
    start = time.monotonic()
    assert svc4.docker("kill", "svc4").returncode == 0
    wait_for(lambda: catalog(nodes["node1"], "svc4") == [], KILL_BOUND_SECONDS, 0.05, what="svc4 gone from the catalog")
    wait_for(
        lambda: nodes["node2"].dig("+short", "svc4.service.consul") == [],
        KILL_BOUND_SECONDS,
        0.05,
        what="svc4.service.consul empty",
    )
    elapsed = time.monotonic() - start
    print(f"docker kill svc4 -> gone from catalog and DNS in {elapsed:.2f}s")
    assert elapsed < KILL_BOUND_SECONDS
    assert "node3:svc4:8080" not in svc4.consul("/v1/agent/services")
