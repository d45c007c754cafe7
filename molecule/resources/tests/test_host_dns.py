"""Host DNS in every scenario (the consul_dns role): each node, whatever its release and resolver,
resolves the Consul domain and every other name, and so do its containers; other machines get the
Consul domain from the node's address and nothing else (no open resolver).

The name outside the Consul domain is a lab node's `<name>.<network>`, which only the lab's site
resolver knows (Docker's embedded DNS, the nodes' upstream), so the test traffic stays on the lab
network.
"""

import pytest
import testinfra
from labkit.ansible_runner import inventory_hosts
from labkit.containers import CLIENT_IMAGE, ensure_image
from labkit.nodes import lab_network, lab_node, lab_resolver

NODES = inventory_hosts()
CONSUL_NAME = "consul.service.consul"


def dig(host, *args: str) -> str:
    result = host.run("dig +time=2 +tries=2 " + " ".join(args))
    assert result.rc == 0, result.stderr
    return result.stdout


def consul_servers() -> set:
    """Every node is a server in some scenarios, one in others: the addresses consul.service.consul has."""
    answer = dig(lab_node(NODES[0]).host, "+short", f"@127.0.0.1 -p 8600 {CONSUL_NAME}")
    return set(answer.split())


@pytest.mark.parametrize("name", NODES)
def test_node_forwards_through_the_resolver_it_has(name):
    host = lab_node(name).host
    release = host.run(". /etc/os-release && echo $VERSION_ID $VERSION_CODENAME").stdout.split()
    resolver = lab_resolver(name)
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
    host = lab_node(name).host
    # dig and getent read /etc/resolv.conf and nsswitch: the host's own resolver, no @server.
    assert set(dig(host, "+short", CONSUL_NAME).split()) == consul_servers()
    assert host.check_output(f"getent ahostsv4 {CONSUL_NAME} | awk '{{print $1}}' | sort -u").split()


@pytest.mark.parametrize("name", NODES)
def test_host_still_resolves_other_names_through_its_usual_upstream(name):
    network, peers = lab_network(name, NODES)
    other = next((n for n in NODES if n != name), name)
    assert dig(lab_node(name).host, "+short", f"{other}.{network}").split() == [peers[other]]


@pytest.mark.parametrize("name", NODES)
def test_containers_with_default_settings_resolve_everything(name):
    """No --dns: the daemon sends containers to the Docker bridge's address, where the forwarder
    answers (127.0.0.53 would be the container's own loopback)."""
    node = lab_node(name)
    host = node.host
    ensure_image(node, CLIENT_IMAGE)
    network, peers = lab_network(name, NODES)
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
    node = lab_node(name)
    host = node.host
    ensure_image(node, CLIENT_IMAGE)
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
    network, peers = lab_network(name, NODES)
    address = peers[name]
    others = [lab_node(n).host for n in NODES if n != name] or [LabMachine(network)]
    for other in others:
        # The seeds' cross-node query on port 53.
        assert set(dig(other, "+short", f"@{address}", CONSUL_NAME).split()) == consul_servers()
        # Any other name: refused, with no answer. An open resolver would say NOERROR with the address.
        refused = dig(other, f"@{address}", f"{name}.{network}")
        assert "status: REFUSED" in refused and "ANSWER: 0" in refused, refused
