"""Fixtures for the toolchain smoke tests: the cached binaries, a Consul dev agent and Docker."""

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import docker
import pytest

CACHE = Path(os.environ.get("DOCKYARD_CACHE", Path.home() / ".cache" / "dockyard"))


def _cached_binary(env_name, fallback):
    path = Path(os.environ.get(env_name) or fallback)
    if not path.is_file():
        pytest.fail(f"{path} is missing: run 'make toolchain' to build it")
    return path


@pytest.fixture(scope="session")
def versions():
    values = {}
    for line in (Path(__file__).parents[2] / "lab" / "versions.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key] = value
    return values


@pytest.fixture(scope="session")
def consul_bin(versions):
    return _cached_binary("CONSUL_BIN", CACHE / "bin" / f"consul-{versions['CONSUL_VERSION']}" / "consul")


@pytest.fixture(scope="session")
def consul_template_bin(versions):
    version = versions["CONSUL_TEMPLATE_VERSION"]
    return _cached_binary("CONSUL_TEMPLATE_BIN", CACHE / "bin" / f"consul-template-{version}" / "consul-template")


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


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DevAgent:
    """A `consul agent -dev` on free ports, listening on loopback and the Docker bridge."""

    def __init__(self, consul_bin, bind_addresses):
        self.dir = Path(tempfile.mkdtemp(prefix="dockyard-smoke-"))
        self.http_port = _free_port()
        ports = {
            "http": self.http_port,
            "dns": _free_port(),
            "serf_lan": _free_port(),
            "serf_wan": _free_port(),
            "server": _free_port(),
            "grpc": -1,
            "grpc_tls": -1,
        }
        (self.dir / "ports.json").write_text(json.dumps({"ports": ports}))
        self.log = open(self.dir / "agent.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                str(consul_bin),
                "agent",
                "-dev",
                "-node",
                "smoke",
                "-bind",
                "127.0.0.1",
                "-client",
                " ".join(bind_addresses),
                "-config-file",
                str(self.dir / "ports.json"),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.http_port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"consul agent -dev exited: {(self.dir / 'agent.log').read_text()[-2000:]}")
            try:
                if self.get("/v1/status/leader"):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("consul agent -dev elected no leader within 30 s")

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=5) as response:
            return json.loads(response.read() or "null")

    def put(self, path, body):
        request = urllib.request.Request(self.url + path, data=body.encode(), method="PUT")
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read() or "null")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def dev_agent(consul_bin, docker_bridge_ip):
    agent = DevAgent(consul_bin, ["127.0.0.1", docker_bridge_ip])
    yield agent
    agent.stop()


def wait_for(predicate, timeout, interval=0.1):
    """Poll until predicate() is truthy; return (value, seconds waited) or (None, timeout)."""
    start = time.monotonic()
    while True:
        value = predicate()
        elapsed = time.monotonic() - start
        if value or elapsed > timeout:
            return value, elapsed
        time.sleep(interval)
