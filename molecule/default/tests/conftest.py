"""Seed 2's lab: node1 (server, nginx), node2 and node3 (clients) on 172.20.20.0/24."""

from __future__ import annotations

import os

import pytest
from labkit.nodes import Node

# The shared fixtures (containers, ...) come from labkit as a plugin, so nothing here imports them unused.
pytest_plugins = ["labkit.fixtures"]

NODES = {
    name: Node(name, address)
    for name, address in (("node1", "172.20.20.10"), ("node2", "172.20.20.20"), ("node3", "172.20.20.30"))
}
ALL_SERVERS = os.environ.get("DOCKYARD_ALL_SERVERS", "false").lower() in ("1", "true", "yes")
SERVERS = list(NODES) if ALL_SERVERS else ["node1"]
SEED_SERVICES = {"svc1": ("node1", 8081), "svc2": ("node2", 8082), "svc3": ("node3", 8083)}


@pytest.fixture(scope="session")
def nodes():
    return NODES
