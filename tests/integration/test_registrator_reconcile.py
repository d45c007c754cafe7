# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""registrator_reconcile against the real Docker engine and a dev agent.

A container registered by hand and then killed without deregistration must come out stale
and be removed; a running container without registration must come out missing and be added.
"""

import subprocess
import uuid

import docker
import pytest
from conftest import REPO, run_module


def demo_image() -> str:
    process = subprocess.run(
        ["bash", "-c", '. lab/lib.sh && printf %s "$DOCKYARD_DEMO_IMAGE"'],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return process.stdout.strip()


@pytest.fixture
def containers():
    client = docker.from_env()
    image = demo_image()
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        pytest.fail(f"the demo image {image!r} is missing; run `make images` first.")
    except docker.errors.DockerException as error:
        pytest.fail(f"no Docker engine: {error}")
    started = []

    def start(service_name, *env):
        name = f"dytest-{service_name}"
        container = client.containers.run(
            image,
            name=name,
            command=[name],
            detach=True,
            environment=[f"SERVICE_NAME={service_name}", *env],
            ports={"8080/tcp": ("127.0.0.1", None)},
        )
        started.append(container)
        container.reload()
        return name, int(container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"])

    yield start
    for container in started:
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass


def test_stale_and_missing_services_are_found_and_fixed(agent, containers):
    suffix = uuid.uuid4().hex[:8]
    hostname = f"dytest-host-{suffix}"
    name_a, port_a = containers(f"rec-a-{suffix}", "SERVICE_TAGS=x,y")
    name_b, port_b = containers(f"rec-b-{suffix}")
    id_a, id_b = f"{hostname}:{name_a}:8080", f"{hostname}:{name_b}:8080"
    args = {**agent.connection(), "hostname": hostname, "host_ip": "127.0.0.1", "explicit": True}

    def ours(ids):
        return sorted(i for i in ids if i.startswith(hostname))

    report = run_module("registrator_reconcile", args)
    assert report.result and not report.result.get("failed"), report
    assert ours(report.result["expected"]) == sorted([id_a, id_b])
    assert ours(r["ID"] for r in report.result["missing"]) == sorted([id_a, id_b])
    assert report.result["changed"] is False

    # registered by hand, the way registrator would (built here independently of the rules code)
    agent.http(
        "PUT",
        "/v1/agent/service/register",
        {"ID": id_a, "Name": f"rec-a-{suffix}", "Address": "127.0.0.1", "Port": port_a, "Tags": ["y", "x"]},
    )
    report = run_module("registrator_reconcile", args)
    assert id_a in report.result["in_sync"]

    # the container dies and nobody deregisters it: registrator's orphan
    docker.from_env().containers.get(name_a).kill()
    report = run_module("registrator_reconcile", args)
    assert report.result["stale"] == [id_a]
    assert id_a in agent.http("GET", "/v1/agent/services")

    checked = run_module("registrator_reconcile", {**args, "state": "reconciled"}, check=True, diff=True)
    assert checked.result["changed"] is True
    assert id_a in checked.result["diff"]["before"] and id_a not in checked.result["diff"]["after"]
    services = agent.http("GET", "/v1/agent/services")
    assert id_a in services and id_b not in services, "check mode must not change the agent"

    applied = run_module("registrator_reconcile", {**args, "state": "reconciled"})
    assert applied.result["changed"] is True and applied.result["stale"] == [id_a]
    services = agent.http("GET", "/v1/agent/services")
    assert id_a not in services
    assert (services[id_b]["Service"], services[id_b]["Address"], services[id_b]["Port"]) == (
        f"rec-b-{suffix}",
        "127.0.0.1",
        port_b,
    )

    again = run_module("registrator_reconcile", {**args, "state": "reconciled"})
    result = again.result
    assert ours(result["stale"]) == [] and ours(r["ID"] for r in result["missing"] + result["outdated"]) == []
    assert id_b in result["in_sync"]
    # Other containers on this engine with SERVICE_NAME could appear in between; only they may cause a change.
    assert result["changed"] is False or all(
        not i.startswith(hostname) for i in result["expected"] if i not in result["in_sync"]
    )
    agent.deregister(id_b)


def test_outdated_registration_is_re_registered(agent, containers):
    suffix = uuid.uuid4().hex[:8]
    hostname = f"dytest-host-{suffix}"
    name, port = containers(f"rec-c-{suffix}")
    service_id = f"{hostname}:{name}:8080"
    agent.http(
        "PUT",
        "/v1/agent/service/register",
        {"ID": service_id, "Name": f"rec-c-{suffix}", "Address": "127.0.0.1", "Port": 1},
    )
    args = {**agent.connection(), "hostname": hostname, "host_ip": "127.0.0.1", "explicit": True}
    try:
        report = run_module("registrator_reconcile", args)
        assert [r["ID"] for r in report.result["outdated"]] == [service_id]
        run_module("registrator_reconcile", {**args, "state": "reconciled"})
        assert agent.http("GET", f"/v1/agent/service/{service_id}")["Port"] == port
    finally:
        agent.deregister(service_id)
