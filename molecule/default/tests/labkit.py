"""What the verifiers share: lab nodes as testinfra hosts, Consul and nginx reached over the lab
network, DNS answers parsed from dig, and polling with a deadline.

Every wait is bounded in time and every loop in count, so a broken lab fails a test instead of
hanging it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from dataclasses import dataclass

import requests
import testinfra

DEMO_IMAGE = os.environ["DOCKYARD_DEMO_IMAGE"]
# Seed 2's tutum/curl: a Debian shell with curl and dig (lab/images/curl), loaded into a node the
# first time a test needs it there.
CLIENT_IMAGE = os.environ["DOCKYARD_CLIENT_IMAGE"]
GREETING = "Hi! I'm [{name}] service and my Docker container's IP is ["


@dataclass(frozen=True)
class Node:
    name: str
    address: str

    @property
    def host(self):
        return testinfra.get_host(f"docker://{self.name}")

    def run(self, command: str, timeout: float = 60):
        """Run a shell command in the node; returns the CompletedProcess, never raises on exit status."""
        return subprocess.run(
            ["docker", "exec", self.name, "/bin/sh", "-c", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def check(self, command: str, timeout: float = 60) -> str:
        result = self.run(command, timeout)
        assert result.returncode == 0, f"{self.name}: `{command}` exited {result.returncode}: {result.stderr.strip()}"
        return result.stdout

    def docker(self, *argv: str, timeout: float = 60):
        """`docker <argv>` against the node's own Docker engine."""
        return self.run("docker " + " ".join(shlex.quote(a) for a in argv), timeout)

    def consul(self, path: str, method: str = "GET", body=None):
        """The agent's HTTP API on the node address, from the controller."""
        response = requests.request(method, f"http://{self.address}:8500{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None

    def dig(self, *args: str) -> list[str]:
        return self.check("dig +time=2 +tries=1 " + " ".join(shlex.quote(a) for a in args)).split("\n")[:-1]


def wait_for(probe, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Call probe() until it returns something truthy; return (value, seconds waited)."""
    start = time.monotonic()
    value = None
    for _attempt in range(int(timeout / max(interval, 0.05)) + 1):
        value = probe()
        if value:
            return value, time.monotonic() - start
        if time.monotonic() - start > timeout:
            break
        time.sleep(interval)
    raise AssertionError(f"{what}: not reached after {timeout}s (last value: {value!r})")


def catalog(node: Node, service: str) -> list[dict]:
    return node.consul(f"/v1/catalog/service/{requests.utils.quote(service, safe='')}")


def srv_answer(lines: list[str]) -> tuple[list[tuple], dict]:
    """Parse `dig +noall +answer +additional ... SRV`: ([(priority, weight, port, target)], {name: [A]})."""
    srv, addresses = [], {}
    for line in lines:
        fields = line.split()
        if len(fields) >= 8 and fields[3] == "SRV":
            srv.append((int(fields[4]), int(fields[5]), int(fields[6]), fields[7]))
        elif len(fields) >= 5 and fields[3] == "A":
            addresses.setdefault(fields[0], []).append(fields[4])
    return srv, addresses


def addr_name(address: str, datacenter: str = "dc1") -> str:
    """The <hex>.addr.<dc>.consul. name Consul gives a service address in SRV answers."""
    return "".join(f"{int(part):02x}" for part in address.split(".")) + f".addr.{datacenter}.consul."


def http_get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        response = requests.get(url, timeout=timeout)
    except requests.RequestException as error:
        return 0, str(error)
    return response.status_code, response.text


def ensure_image(node: Node, image: str) -> None:
    """Load an image from the controller's Docker into the node's, once (no registry is reachable)."""
    if node.docker("image", "inspect", image).returncode == 0:
        return
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    load = subprocess.run(
        ["docker", "exec", "-i", node.name, "docker", "load"],
        stdin=save.stdout,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    save.stdout.close()
    assert save.wait(timeout=60) == 0 and load.returncode == 0, f"loading {image} into {node.name}: {load.stderr}"


def in_container(node: Node, *command: str, docker_args: tuple = ()) -> subprocess.CompletedProcess:
    """Run a command in a throwaway client container on the node (seed 2's tutum/curl container)."""
    ensure_image(node, CLIENT_IMAGE)
    return node.docker("run", "--rm", *docker_args, CLIENT_IMAGE, *command, timeout=60)


def curl(url: str) -> tuple:
    """The seed's `curl http://svc4:8084/`, bounded in time, failing on an HTTP error."""
    return ("curl", "-sS", "--fail", "--max-time", "5", url)


class Containers:
    """Containers a test starts on lab nodes, removed at teardown."""

    def __init__(self):
        self.started: list[tuple[Node, str]] = []

    def run(self, node: Node, name: str, *args: str, image: str = DEMO_IMAGE, command: tuple = ()) -> str:
        ensure_image(node, image)
        node.docker("rm", "-f", name)
        result = node.docker("run", "-d", "--name", name, *args, image, *command)
        assert result.returncode == 0, f"docker run {name} on {node.name}: {result.stderr}"
        self.started.append((node, name))
        return result.stdout.strip()

    def remove_all(self):
        for node, name in reversed(self.started):
            node.docker("rm", "-f", name)
        self.started.clear()
