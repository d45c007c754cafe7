"""The secure lab: secure1..3 on 172.20.22.0/24, all three Consul servers and Docker hosts, secure1
the load balancer, every protection on (the roles' defaults)."""

from __future__ import annotations

import re

import pytest
from labkit.nodes import Node, http_get
from labkit.secure import Api
from labkit.waiting import wait_for

# The shared fixtures (containers, ...) come from labkit as a plugin, so nothing here imports them unused.
pytest_plugins = ["labkit.fixtures"]

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


LIVE_CONFIG = "/etc/nginx/dockyard/live/services.conf"
NGINX_URL = f"http://{NODES['secure1'].address}/"


def live_servers(node: Node = NODES["secure1"]) -> list[str]:
    """The address:port of every server line in nginx's live configuration on the load balancer."""
    return re.findall(r"^\s*server (\d[\d.]*:\d+) max_fails", node.check(f"cat {LIVE_CONFIG}"), re.MULTILINE)


@pytest.fixture
def balanced(nodes, containers):
    """svc4 on every node (restart policy always), and nginx on secure1 balancing over the three: a
    fault on one node leaves two instances serving. Removed at teardown."""
    for node in nodes.values():
        containers.run(
            node, "svc4", "--restart", "always", "-e", "SERVICE_NAME=svc4", "-p", "8084:8080", command=("svc4",)
        )
    expected = sorted(f"{node.address}:8084" for node in nodes.values())
    wait_for(lambda: sorted(live_servers()) == expected, 20, 0.2, what="three svc4 instances live in nginx")
    # The file goes live just before nginx reloads: wait for the reloaded workers to answer.
    wait_for(
        lambda: all(http_get(NGINX_URL, timeout=3)[0] == 200 for _attempt in range(10)),
        20,
        0.2,
        what="ten answers in a row from nginx",
    )
    return expected
