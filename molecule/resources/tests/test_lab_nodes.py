"""Every lab node behaves like a fresh VM: systemd is up, its own Docker engine answers, and a
container published on one node is reachable from the other nodes (from the controller when
the scenario has a single node)."""

import time

import pytest
import testinfra
from labkit.ansible_runner import INVENTORY_FILE, inventory_hosts
from labkit.containers import DEMO_IMAGE

NODES = inventory_hosts()
PROBE = "dylab-probe"
PROBE_PORT = 18080


def node(name):
    """The node through Ansible (the facts give its address)."""
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY_FILE}")


def address_of(name):
    return node(name).ansible("setup", "gather_subset=network")["ansible_facts"]["ansible_default_ipv4"]["address"]


@pytest.mark.parametrize("name", NODES)
def test_systemd_is_up(name):
    state = node(name).run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), node(name).run("systemctl --failed --no-legend").stdout


@pytest.mark.parametrize("name", NODES)
def test_docker_engine_answers(name):
    info = node(name).run("docker info --format '{{.ServerVersion}}'")
    assert info.rc == 0, info.stderr
    assert info.stdout.strip()


@pytest.mark.parametrize("name", NODES)
def test_published_port_is_reachable_from_elsewhere(name):
    target = node(name)
    target.run(f"docker rm -f {PROBE}")
    started = target.run(f"docker run -d --name {PROBE} -p {PROBE_PORT}:8080 {DEMO_IMAGE} probe-{name}")
    assert started.rc == 0, started.stderr
    try:
        url = f"http://{address_of(name)}:{PROBE_PORT}/"
        others = [node(other) for other in NODES if other != name] or [testinfra.get_host("local://")]
        for other in others:
            for attempt in range(20):
                answer = other.run(f"curl -s --max-time 2 {url}")
                if answer.rc == 0:
                    break
                time.sleep(0.25)
            assert f"Hi! I'm [probe-{name}] service" in answer.stdout, (other, answer.stderr)
    finally:
        target.run(f"docker rm -f {PROBE}")
