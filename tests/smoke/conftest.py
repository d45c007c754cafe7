"""Fixtures for the toolchain smoke tests: the cached binaries, a Consul dev agent and Docker."""

import ipaddress
import sys
import time
from pathlib import Path

import docker
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
# The registrator rules test imports the collection's library as ansible_collections.dockyard.discovery.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "build" / "collections"))

from consul_agent import ConsulAgent
from toolchain import cached_binary, lab_versions


@pytest.fixture(scope="session")
def versions():
    return lab_versions()


def _binary(*args):
    try:
        return cached_binary(*args)
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def consul_bin():
    return _binary("consul", "CONSUL_VERSION", "CONSUL_BIN")


@pytest.fixture(scope="session")
def consul_template_bin():
    return _binary("consul-template", "CONSUL_TEMPLATE_VERSION", "CONSUL_TEMPLATE_BIN")


@pytest.fixture(scope="session")
def docker_client():
    client = docker.from_env()
    try:
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"no Docker engine answers ({exc}): run 'make toolchain'")
    return client


@pytest.fixture(scope="session")
def docker_bridge_ip(docker_client):
    ipam = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    return ipam.get("Gateway") or str(ipaddress.ip_network(ipam["Subnet"])[1])


@pytest.fixture(scope="session")
def dev_agent(consul_bin, docker_bridge_ip):
    """A dev agent on loopback and the Docker bridge, so that containers reach its API."""
    with ConsulAgent("dev", node_name="smoke", client_addresses=("127.0.0.1", docker_bridge_ip)) as agent:
        yield agent


def wait_for(predicate, timeout, interval=0.1):
    """Poll until predicate() is truthy; return (value, seconds waited) or (None, timeout)."""
    start = time.monotonic()
    while True:
        value = predicate()
        elapsed = time.monotonic() - start
        if value or elapsed > timeout:
            return value, elapsed
        time.sleep(interval)
