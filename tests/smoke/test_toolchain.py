"""The lab's toolchain is made of the real programs: the cached Consul and consul-template
builds, and gliderlabs/registrator (built from source) registering a container's service on start and removing it
on `docker kill`."""

import os
import subprocess
import uuid

import pytest
from conftest import wait_for


def test_consul_reports_the_pinned_version(consul_bin, versions):
    out = subprocess.run([consul_bin, "version"], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == f"Consul v{versions['CONSUL_VERSION']}"


def test_consul_template_reports_the_pinned_version(consul_template_bin, versions):
    result = subprocess.run([consul_template_bin, "-version"], capture_output=True, text=True, check=True)
    assert f"v{versions['CONSUL_TEMPLATE_VERSION']}" in result.stdout + result.stderr


def test_dev_agent_has_a_leader(dev_agent):
    leader = dev_agent.http("GET", "/v1/status/leader")
    host, port = leader.rsplit(":", 1)
    assert host == "127.0.0.1" and port.isdigit()


def test_consul_template_renders_once(dev_agent, consul_template_bin, tmp_path):
    marker = uuid.uuid4().hex
    dev_agent.http("PUT", "/v1/kv/smoke/marker", marker.encode())
    source, rendered = tmp_path / "in.ctmpl", tmp_path / "out.txt"
    source.write_text('marker={{ key "smoke/marker" }}\n{{ range services }}service={{ .Name }}\n{{ end }}')
    subprocess.run(
        [
            consul_template_bin,
            "-once",
            "-consul-addr",
            f"127.0.0.1:{dev_agent.http_port}",
            "-template",
            f"{source}:{rendered}",
        ],
        check=True,
        timeout=30,
    )
    lines = rendered.read_text().splitlines()
    assert f"marker={marker}" in lines
    assert "service=consul" in lines


@pytest.fixture
def registrator(docker_client, dev_agent, docker_bridge_ip):
    container = docker_client.containers.run(
        os.environ["DOCKYARD_REGISTRATOR_IMAGE"],
        ["-ip", "127.0.0.1", "-cleanup", f"consul://{docker_bridge_ip}:{dev_agent.http_port}"],
        name=f"dytest-registrator-{uuid.uuid4().hex[:8]}",
        hostname="smokehost",
        volumes={"/var/run/docker.sock": {"bind": "/tmp/docker.sock", "mode": "rw"}},
        detach=True,
    )
    try:
        listening = wait_for(lambda: b"Listening for Docker events" in container.logs(), timeout=30)[0]
        assert listening, container.logs().decode()[-2000:]
        yield container
    finally:
        container.remove(force=True)


def test_registrator_follows_start_and_kill(registrator, docker_client, dev_agent):
    name = f"dytest-smoke-{uuid.uuid4().hex[:8]}"
    service = docker_client.containers.run(
        os.environ["DOCKYARD_DEMO_IMAGE"],
        ["smoke"],
        name=name,
        environment={"SERVICE_NAME": "smoke"},
        ports={"8080/tcp": None},
        detach=True,
    )
    try:
        service.reload()
        host_port = int(service.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"])
        entries, took = wait_for(lambda: dev_agent.http("GET", "/v1/catalog/service/smoke"), timeout=10)
        assert entries, registrator.logs().decode()[-2000:]
        assert [(e["ServiceID"], e["ServiceAddress"], e["ServicePort"]) for e in entries] == [
            (f"smokehost:{name}:8080", "127.0.0.1", host_port)
        ]
        print(f"registered after {took:.2f} s")

        service.kill()
        gone, took = wait_for(lambda: dev_agent.http("GET", "/v1/catalog/service/smoke") == [], timeout=10)
        assert gone, registrator.logs().decode()[-2000:]
        print(f"deregistered {took:.2f} s after docker kill")
    finally:
        service.remove(force=True)
