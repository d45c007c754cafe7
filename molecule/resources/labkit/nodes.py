"""The lab nodes, each a systemd container with its own Docker engine: as testinfra hosts, their
Consul agents and services reached over the lab network, and their containers as the controller's
Docker sees them (lab network, addresses, the resolver they boot with)."""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from dataclasses import dataclass

import requests
import testinfra


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

    def write(self, path: str, content: str) -> None:
        """Replace a file's content in place (its owner and mode stay)."""
        subprocess.run(
            ["docker", "exec", "-i", self.name, "sh", "-c", f"cat > {shlex.quote(path)}"],
            input=content,
            text=True,
            capture_output=True,
            check=True,
            timeout=30,
        )

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


def catalog(node: Node, service: str) -> list[dict]:
    return node.consul(f"/v1/catalog/service/{requests.utils.quote(service, safe='')}")


def http_get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        response = requests.get(url, timeout=timeout)
    except requests.RequestException as error:
        return 0, str(error)
    return response.status_code, response.text


# --- the node containers, from the controller's Docker -----------------------------------------


def node_container(name: str) -> dict:
    """`docker inspect` of a node's container."""
    return json.loads(subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True).stdout)[0]


def lab_network(name: str, names: list[str]) -> tuple:
    """(network name, {node: address}) of the lab network the node is on, for the nodes in names."""
    network, settings = next(iter(node_container(name)["NetworkSettings"]["Networks"].items()))
    peers = {}
    for other in names:
        peers[other] = node_container(other)["NetworkSettings"]["Networks"][network]["IPAddress"]
    assert peers[name] == settings["IPAddress"]
    return network, peers


def lab_node(name: str) -> Node:
    """The node as a Node, at its address on the lab network."""
    settings = next(iter(node_container(name)["NetworkSettings"]["Networks"].values()))
    return Node(name, settings["IPAddress"])


def lab_resolver(name: str) -> str:
    """What the node boots with (lab/images/node/lab-resolver): systemd-resolved or Debian's plain file."""
    env = dict(item.split("=", 1) for item in node_container(name)["Config"]["Env"])
    return "systemd-resolved" if env.get("LAB_RESOLVER") == "systemd-resolved" else "dnsmasq"


def recreate(name: str) -> None:
    """Destroy a node's container with its volumes (the disk is lost, as a dead machine's is) and start
    a new one from scratch with the same image, settings and address, then wait for it to boot: a
    machine rebuilt to replace a dead one. The new node has none of the old one's state."""
    old = node_container(name)
    config, host = old["Config"], old["HostConfig"]
    network, settings = next(iter(old["NetworkSettings"]["Networks"].items()))
    argv = ["docker", "run", "-d", "--name", name, "--hostname", config["Hostname"]]
    argv += [f"--network={network}", f"--ip={settings['IPAMConfig']['IPv4Address']}"]
    argv += [f"--cap-add={cap}" for cap in host.get("CapAdd") or []]
    argv += [f"--security-opt={opt}" for opt in host.get("SecurityOpt") or []]
    argv += [f"--cgroupns={host['CgroupnsMode']}"] if host.get("CgroupnsMode") else []
    argv += [f"--volume={bind}" for bind in host.get("Binds") or []]
    argv += [f"--tmpfs={path}" + (f":{opts}" if opts else "") for path, opts in (host.get("Tmpfs") or {}).items()]
    image_env = set(
        json.loads(
            subprocess.run(["docker", "image", "inspect", config["Image"]], capture_output=True, check=True).stdout
        )[0]["Config"]["Env"]
        or []
    )
    argv += [f"--env={item}" for item in config.get("Env") or [] if item not in image_env]
    argv += [config["Image"], *(config.get("Cmd") or [])]
    subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=True)
    subprocess.run(argv, capture_output=True, check=True)
    node = Node(name, settings["IPAMConfig"]["IPv4Address"])
    for _attempt in range(120):
        state = node.run("systemctl is-system-running", timeout=10).stdout.strip()
        if state in ("running", "degraded") and node.run("docker info", timeout=10).returncode == 0:
            return
        time.sleep(1)
    raise AssertionError(f"{name}: the new node did not finish booting in 120 s")
