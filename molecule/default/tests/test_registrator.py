"""registrator on every node (seed 2 lines 2, 3 and 6) and how it registers the seed's services."""

from __future__ import annotations

import json
import os

import pytest
from conftest import NODES, SEED_SERVICES
from labkit.containers import GREETING
from labkit.nodes import catalog, http_get
from labkit.waiting import wait_for


def inspect(node, container):
    result = node.docker("inspect", container)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)[0]


@pytest.mark.parametrize("name", NODES)
def test_one_registrator_per_node_against_its_own_agent(nodes, name):
    node = nodes[name]
    registrator = inspect(node, "registrator")
    assert registrator["State"]["Running"]
    assert registrator["Config"]["Hostname"] == name
    assert registrator["HostConfig"]["RestartPolicy"]["Name"] == "always"
    assert [
        b
        for b in registrator["HostConfig"]["Binds"]
        if b.split(":")[:2] == ["/var/run/docker.sock", "/tmp/docker.sock"]
    ]
    args = registrator["Args"]
    assert args[-1] == f"consul://{node.address}:8500"
    assert "-internal" not in args
    assert f"-ip={node.address}" in args
    assert "-cleanup" in args


@pytest.mark.parametrize("name", NODES)
def test_registrator_is_upstream_gliderlabs_registrator_built_from_source(nodes, name):
    node = nodes[name]
    registrator = inspect(node, "registrator")
    assert registrator["Config"]["Image"] == os.environ["DOCKYARD_REGISTRATOR_IMAGE"]
    assert registrator["Config"]["Image"].startswith(f"gliderlabs/registrator:{os.environ['REGISTRATOR_VERSION']}-")
    image = json.loads(node.docker("image", "inspect", registrator["Image"]).stdout)[0]
    assert image["Config"]["Entrypoint"] == ["/bin/registrator"]
    assert image["Config"]["Labels"]["org.opencontainers.image.revision"] == os.environ["REGISTRATOR_COMMIT"]
    env = dict(item.split("=", 1) for item in registrator["Config"]["Env"])
    assert env["GL_DISABLE_VERSION_CHECK"] == "1"  # no DNS query to usage.gliderlabs.io at start
    log = node.check("docker logs registrator 2>&1")
    assert f"Starting registrator {os.environ['REGISTRATOR_VERSION']} ..." in log
    assert f"Using consul adapter: consul://{node.address}:8500" in log
    assert "consul: current leader" in log


@pytest.mark.parametrize("service", SEED_SERVICES)
def test_seed_services_are_registered_with_host_address_and_published_port(nodes, service):
    node_name, port = SEED_SERVICES[service]
    node = nodes[node_name]
    entries = catalog(node, service)
    assert [(e["Node"], e["ServiceID"], e["ServiceAddress"], e["ServicePort"]) for e in entries] == [
        (node_name, f"{node_name}:{service}:8080", node.address, port)
    ]
    # Registered through the node's own agent (/v1/agent/service/register), not the catalog.
    assert f"{node_name}:{service}:8080" in node.consul("/v1/agent/services")


@pytest.mark.parametrize("service", SEED_SERVICES)
def test_seed_services_answer_with_the_dummy_greeting(nodes, service):
    node_name, port = SEED_SERVICES[service]
    status, body = http_get(f"http://{nodes[node_name].address}:{port}/")
    assert status == 200
    assert body.startswith(GREETING.format(name=service))


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_stopping_a_container_deregisters_it(nodes, containers, how):
    node = nodes["node3"]
    containers.run(node, f"seed-{how}", "-e", "SERVICE_NAME=seed-" + how, "-p", "8086:8080", command=(f"seed-{how}",))
    wait_for(lambda: catalog(node, f"seed-{how}"), 5, what=f"seed-{how} registered")
    assert node.docker(how, f"seed-{how}").returncode == 0
    wait_for(lambda: catalog(node, f"seed-{how}") == [], 5, what=f"seed-{how} deregistered after docker {how}")
    assert f"node3:seed-{how}:8080" not in node.consul("/v1/agent/services")


def test_registrator_comes_back_when_docker_restarts(nodes, containers):
    """registrator exits when Docker's event stream closes; the restart policy brings it back."""
    node = nodes["node3"]
    before = inspect(node, "registrator")["State"]["StartedAt"]
    try:
        assert node.run("systemctl restart docker", timeout=120).returncode == 0
        wait_for(lambda: inspect(node, "registrator")["State"]["Running"], 60, 0.5, what="registrator running again")
        assert inspect(node, "registrator")["State"]["StartedAt"] != before
        # It listens again: a container started now is registered.
        containers.run(
            node, "after-restart", "-e", "SERVICE_NAME=after-restart", "-p", "8087:8080", command=("after-restart",)
        )
        wait_for(lambda: catalog(node, "after-restart"), 10, what="a new container registered after the restart")
    finally:
        # The restart stopped svc3 (no restart policy, as in the seed): bring it back.
        node.docker("start", "svc3")
        wait_for(lambda: catalog(node, "svc3"), 15, what="svc3 registered again")
