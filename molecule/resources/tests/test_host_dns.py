"""Host DNS in every scenario (the consul_dns role): each node, whatever its release and resolver,
resolves the Consul domain and every other name, and so do its containers; other machines get the
Consul domain from the node's address and nothing else (no open resolver).

The name outside the Consul domain is a lab node's `<name>.<network>`, which only the lab's site
resolver knows (Docker's embedded DNS, the nodes' upstream), so the test traffic stays on the lab
network.
"""

import json
import os
import subprocess

import pytest
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
NODES = AnsibleRunner(INVENTORY).get_hosts("all")
CLIENT_IMAGE = os.environ["DOCKYARD_CLIENT_IMAGE"]
CONSUL_NAME = "consul.service.consul"


def node(name):
    return testinfra.get_host(f"docker://{name}")


def container(name: str) -> dict:
    return json.loads(subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True).stdout)[0]


def lab_network(name: str) -> tuple:
    """(network name, {node: address}) of the lab network the node is on."""
    network, settings = next(iter(container(name)["NetworkSettings"]["Networks"].items()))
    peers = {}
    for other in NODES:
        peers[other] = container(other)["NetworkSettings"]["Networks"][network]["IPAddress"]
    assert peers[name] == settings["IPAddress"]
    return network, peers


def expected_resolver(name: str) -> str:
    """What the node boots with (lab/images/node/lab-resolver): systemd-resolved or Debian's plain file."""
    env = dict(item.split("=", 1) for item in container(name)["Config"]["Env"])
    return "systemd-resolved" if env.get("LAB_RESOLVER") == "systemd-resolved" else "dnsmasq"


def dig(host, *args: str) -> str:
    result = host.run("dig +time=2 +tries=2 " + " ".join(args))
    assert result.rc == 0, result.stderr
    return result.stdout


def consul_servers() -> set:
    """Every node is a server in some scenarios, one in others: the addresses consul.service.consul has."""
    answer = dig(node(NODES[0]), "+short", f"@127.0.0.1 -p 8600 {CONSUL_NAME}")
    return set(answer.split())


def ensure_client_image(host, name):
    if host.run(f"docker image inspect {CLIENT_IMAGE}").rc != 0:
        load = subprocess.run(
            f"docker save {CLIENT_IMAGE} | docker exec -i {name} docker load",
            shell=True,
            capture_output=True,
            check=False,
        )
        assert load.returncode == 0, load.stderr


@pytest.mark.parametrize("name", NODES)
def test_node_forwards_through_the_resolver_it_has(name):
    host = node(name)
    release = host.run(". /etc/os-release && echo $VERSION_ID $VERSION_CODENAME").stdout.split()
    resolver = expected_resolver(name)
    print(f"{name}: Debian {release[0]} ({release[1]}), resolver {resolver}")
    assert release[1] in ("bookworm", "trixie")
    dropin = host.file("/etc/systemd/resolved.conf.d/60-consul.conf")
    if resolver == "systemd-resolved":
        assert host.file("/etc/resolv.conf").linked_to == "/run/systemd/resolve/stub-resolv.conf"
        assert host.service("systemd-resolved").is_running
        assert dropin.exists and "Domains=~consul" in dropin.content_string
        assert "~consul" in host.check_output("resolvectl domain")
        assert not host.package("dnsmasq").is_installed
    else:
        assert not dropin.exists
        assert host.check_output("head -n1 /etc/resolv.conf") == "nameserver 127.0.0.1"
        assert host.service("dnsmasq").is_running
    assert host.service("consul-dns-network").is_running


@pytest.mark.parametrize("name", NODES)
def test_host_resolves_the_consul_domain_through_its_own_resolver(name):
    host = node(name)
    # dig and getent read /etc/resolv.conf and nsswitch: the host's own resolver, no @server.
    assert set(dig(host, "+short", CONSUL_NAME).split()) == consul_servers()
    assert host.check_output(f"getent ahostsv4 {CONSUL_NAME} | awk '{{print $1}}' | sort -u").split()


@pytest.mark.parametrize("name", NODES)
def test_host_still_resolves_other_names_through_its_usual_upstream(name):
    network, peers = lab_network(name)
    other = next((n for n in NODES if n != name), name)
    assert dig(node(name), "+short", f"{other}.{network}").split() == [peers[other]]


@pytest.mark.parametrize("name", NODES)
def test_containers_with_default_settings_resolve_everything(name):
    """No --dns: the daemon sends containers to the Docker bridge's address, where the forwarder
    answers (127.0.0.53 would be the container's own loopback)."""
    host = node(name)
    ensure_client_image(host, name)
    network, peers = lab_network(name)
    other = next((n for n in NODES if n != name), name)
    script = f"dig +short {CONSUL_NAME}; echo --; dig +short {other}.{network}; echo --; getent hosts consul"
    result = host.run(f"docker run --rm {CLIENT_IMAGE} sh -c '{script}'")
    assert result.rc == 0, result.stderr
    consul, upstream, short = result.stdout.split("--\n")
    assert set(consul.split()) == consul_servers()
    assert upstream.split() == [peers[other]]
    # The daemon's default search domain is service.consul (seed 2's --dns-search).
    assert short.split()[0] in consul_servers()


@pytest.mark.parametrize("name", NODES)
def test_containers_resolve_short_names_with_the_seed_flags(name):
    host = node(name)
    ensure_client_image(host, name)
    result = host.run(f"docker run --rm --dns-search service.consul {CLIENT_IMAGE} getent hosts consul")
    assert result.rc == 0, result.stderr
    assert result.stdout.split()[0] in consul_servers()


class LabMachine:
    """Another machine on the lab network: a throwaway client container on the controller's Docker."""

    def __init__(self, network: str):
        self.network = network

    def run(self, command: str):
        return testinfra.get_host("local://").run(
            f"docker run --rm --network {self.network} --entrypoint sh {CLIENT_IMAGE} -c '{command}'"
        )


@pytest.mark.parametrize("name", NODES)
def test_other_machines_get_the_consul_domain_and_no_recursion(name):
    network, peers = lab_network(name)
    address = peers[name]
    others = [node(n) for n in NODES if n != name] or [LabMachine(network)]
    for other in others:
        # The seeds' cross-node query on port 53.
        assert set(dig(other, "+short", f"@{address}", CONSUL_NAME).split()) == consul_servers()
        # Any other name: refused, with no answer. An open resolver would say NOERROR with the address.
        refused = dig(other, f"@{address}", f"{name}.{network}")
        assert "status: REFUSED" in refused and "ANSWER: 0" in refused, refused
