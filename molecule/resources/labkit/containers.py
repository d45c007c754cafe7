"""Containers the verifiers start on lab nodes: the demo service image and its greeting, seed 2's
client image for calls from inside a container, and the containers a test starts and removes."""

from __future__ import annotations

import os
import re
import subprocess

from labkit.nodes import Node

DEMO_IMAGE = os.environ["DOCKYARD_DEMO_IMAGE"]
# Seed 2's tutum/curl: a Debian shell with curl and dig (lab/images/curl), loaded into a node the
# first time a test needs it there.
CLIENT_IMAGE = os.environ["DOCKYARD_CLIENT_IMAGE"]
GREETING = "Hi! I'm [{name}] service and my Docker container's IP is ["


def served_by(body: str) -> str:
    """The service name a demo container's greeting gives."""
    match = re.match(r"Hi! I'm \[(.*?)\]", body)
    return match.group(1) if match else ""


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
