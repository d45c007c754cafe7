"""The secure lab: secure1..3 on 172.20.22.0/24, all three Consul servers and Docker hosts, secure1
the load balancer, every protection on (the roles' defaults)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "default" / "tests"))

from labkit import Containers, Node, wait_for
from securekit import Api

NODES = {
    name: Node(name, address)
    for name, address in (("secure1", "172.20.22.10"), ("secure2", "172.20.22.20"), ("secure3", "172.20.22.30"))
}


@pytest.fixture(scope="session")
def nodes():
    return NODES


@pytest.fixture(scope="session")
def api():
    return Api(NODES["secure1"].address)


@pytest.fixture
def containers():
    started = Containers()
    yield started
    started.remove_all()


@pytest.fixture
def svc4(nodes, containers):
    """Seed 2's hot registration: `docker run -e SERVICE_NAME=svc4 -p 8084:8080 ... svc4` on secure3."""
    containers.run(nodes["secure3"], "svc4", "-e", "SERVICE_NAME=svc4", "-p", "8084:8080", command=("svc4",))
    # All three are servers and DNS answers stale reads, so wait until each one has applied it.
    servers = [Api(node.address) for node in nodes.values()]
    wait_for(
        lambda: all(server.get("/v1/catalog/service/svc4?stale") for server in servers),
        10,
        0.2,
        what="svc4 in every server's catalog",
    )
    return servers[0]
