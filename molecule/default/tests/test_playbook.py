"""The playbook itself: --check --diff on the converged lab (issue check 8) and bad input, which must
fail early, name the variable, and leave the working state alone."""

from __future__ import annotations

import json
import time

import pytest
from labkit.ansible_runner import SCENARIO, ansible_playbook, recap, role_playbook


def test_check_diff_on_the_converged_lab_reports_no_change():
    result = ansible_playbook(SCENARIO / "converge.yml", "--check", "--diff")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    counts = recap(result.stdout)
    assert set(counts) == {"node1", "node2", "node3"}
    assert all(changed == unreachable == failed == 0 for changed, unreachable, failed in counts.values()), counts
    assert "--- before" not in result.stdout


@pytest.mark.parametrize(
    ("role", "extra", "named"),
    [
        ("consul", {"consul_install_method": "ftp"}, "consul_install_method"),
        ("consul", {"consul_datacenter": "DC 1"}, "consul_datacenter"),
        ("consul", {"consul_encrypt_key": "c2hvcnQ="}, "consul_encrypt_key"),
        ("docker", {"docker_dns_servers": ["consul.example"]}, "docker_dns_servers"),
        ("docker", {"docker_bridge_cidr": "172.17.0.1"}, "docker_bridge_cidr"),
        ("consul_dns", {"consul_dns_forwarder": "bind9"}, "consul_dns_forwarder"),
        ("consul_dns", {"consul_dns_network_addresses": ["node2.example"]}, "consul_dns_network_addresses"),
        # node1's resolver is systemd-resolved: dnsmasq could not be the host's resolver there.
        ("consul_dns", {"consul_dns_forwarder": "dnsmasq", "lab_host": "node1"}, "consul_dns_forwarder is dnsmasq"),
        # node2 has the systemd-resolved package, not running.
        ("consul_dns", {"consul_dns_forwarder": "systemd-resolved"}, "systemd-resolved is not running"),
        (
            "registrator",
            {"registrator_install_method": "local", "registrator_image_tarball": ""},
            "registrator_image_tarball",
        ),
        ("registrator", {"registrator_deregister": "never"}, "registrator_deregister"),
        ("load_balancer", {"load_balancer_services": [{"name": "web"}]}, "consul_services"),
        (
            "load_balancer",
            {"load_balancer_services": [{"name": "bad;name", "consul_services": ["svc1"]}]},
            "load_balancer_services[0]",
        ),
        ("load_balancer", {"load_balancer_wait_min": "soon"}, "load_balancer_wait_min"),
        # node1 runs the server: regrouping it as a client is refused before anything changes.
        (
            "consul",
            {"consul_servers_group": "consul_clients", "consul_clients_group": "docker_hosts"},
            "consul_servers_group",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_variable_fails_before_any_change_and_names_the_variable(tmp_path, role, extra, named):
    hosts = "load_balancers" if role == "load_balancer" else "node1" if "consul_servers_group" in extra else "node2"
    hosts = extra.pop("lab_host", hosts)
    result = ansible_playbook(role_playbook(tmp_path, role, hosts), "-e", json.dumps(extra), timeout=180)
    assert result.returncode != 0
    assert named in result.stdout + result.stderr
    assert all(counts[0] == 0 for counts in recap(result.stdout).values())


def test_failing_consul_validate_keeps_the_running_agent_and_its_config(nodes, tmp_path):
    node = nodes["node2"]
    before = node.check("sha256sum /etc/consul.d/consul.json")
    pid = node.check("systemctl show -p MainPID --value consul")
    result = ansible_playbook(
        role_playbook(tmp_path, "consul", "node2"),
        "-e",
        json.dumps({"consul_extra_config": {"ports": {"dns": "fifty-three"}}}),
        timeout=300,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "consul validate" in output and "'ports.dns' expected type 'int'" in output
    assert node.check("sha256sum /etc/consul.d/consul.json") == before
    assert node.check("systemctl show -p MainPID --value consul") == pid
    assert [m["Status"] for m in node.consul("/v1/agent/members") if m["Name"] == "node2"] == [1]


def test_failing_nginx_check_keeps_the_live_nginx_config(nodes, tmp_path):
    node = nodes["node1"]
    before = node.check("sha256sum /etc/nginx/nginx.conf")
    result = ansible_playbook(
        role_playbook(tmp_path, "load_balancer", "load_balancers"),
        "-e",
        "load_balancer_nginx_worker_connections=-5",
        timeout=300,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert 'invalid number "-5"' in output and "test failed" in output
    assert node.check("sha256sum /etc/nginx/nginx.conf") == before
    assert node.host.service("nginx").is_running
    assert node.run("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/").stdout == "200"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # What an image without the consul-tls adapter does (registrator's v7 tag, say).
        ({"registrator_consul_scheme": "consul-bogus"}, "unrecognized adapter: consul-bogus://172.20.20.20:8500"),
        # A backend that never answers, with few retries.
        (
            {"registrator_consul_port": 1, "registrator_retry_attempts": 1, "registrator_retry_interval": 200},
            "dial tcp 172.20.20.20:1: connect: connection refused",
        ),
    ],
    ids=["unknown-adapter", "unreachable-backend"],
)
def test_a_registrator_that_cannot_work_fails_the_play_with_its_own_message(nodes, tmp_path, extra, message):
    """A second registrator container on node2, so the lab's own is never touched."""
    node = nodes["node2"]
    variables = {"registrator_container_name": "registrator-broken", "registrator_hostname": "broken", **extra}
    before = json.loads(node.docker("inspect", "registrator").stdout)[0]["State"]["StartedAt"]
    try:
        started = time.monotonic()
        result = ansible_playbook(role_playbook(tmp_path, "registrator", "node2"), "-e", json.dumps(variables))
        took = time.monotonic() - started
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "Wait for registrator to reach its backend" in output
        assert message in output, output[-3000:]
        print(f"the play failed {took:.1f} s after it started, with: {message}")
        # Stopped by the role: no restart loop left behind.
        state = json.loads(node.docker("inspect", "registrator-broken").stdout)[0]["State"]
        assert (state["Running"], state["Restarting"]) == (False, False)
        time.sleep(2)
        assert json.loads(node.docker("inspect", "registrator-broken").stdout)[0]["State"]["Running"] is False
        lab_registrator = json.loads(node.docker("inspect", "registrator").stdout)[0]["State"]
        assert lab_registrator["Running"] and lab_registrator["StartedAt"] == before
    finally:
        node.docker("rm", "-f", "registrator-broken")


def test_systemd_resolved_with_a_global_dns_server_is_refused_and_left_alone(nodes, tmp_path):
    """A global DNS= would share its scope with Consul: the role says so and changes nothing."""
    node = nodes["node1"]
    dropin = "/etc/systemd/resolved.conf.d/10-site-dns.conf"
    before = node.check("sha256sum /etc/systemd/resolved.conf.d/60-consul.conf")
    try:
        node.check(f"printf '[Resolve]\\nDNS=127.0.0.11\\n' > {dropin}")
        result = ansible_playbook(role_playbook(tmp_path, "consul_dns", "node1"), timeout=180)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "has global DNS servers (127.0.0.11" in output, output[-3000:]
        assert all(counts[0] == 0 for counts in recap(result.stdout).values())
        assert node.check("sha256sum /etc/systemd/resolved.conf.d/60-consul.conf") == before
    finally:
        node.run(f"rm -f {dropin}")


FAKE_FORKY = """
set -e
cp --no-dereference --preserve=all /etc/os-release /root/os-release.lab
cp --preserve=all /etc/debian_version /root/debian_version.lab
rm /etc/os-release
sed -e 's/^VERSION_ID=.*/VERSION_ID="14"/' -e 's/^VERSION=.*/VERSION="14 (forky)"/' \\
    -e 's/^VERSION_CODENAME=.*/VERSION_CODENAME=forky/' /usr/lib/os-release > /etc/os-release
echo 14.0 > /etc/debian_version
"""
RESTORE_RELEASE = "mv -f /root/os-release.lab /etc/os-release && mv -f /root/debian_version.lab /etc/debian_version"
WATCHED = "/etc/consul.d/consul.json /etc/docker/daemon.json /etc/dnsmasq.d/10-consul.conf"


def test_an_unsupported_release_is_named_and_nothing_changes(nodes):
    """The whole site playbook on a host that says it is Debian 14: the first role refuses it."""
    node = nodes["node2"]
    before = node.check(f"sha256sum {WATCHED}")
    try:
        node.check(FAKE_FORKY)
        result = ansible_playbook(SCENARIO / "converge.yml", "--limit", "node2", timeout=300)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        expected = "supports Debian 12 and 13 (bookworm, trixie) with systemd. node2 runs Debian 14.0"
        assert expected in output, output[-3000:]
        assert recap(result.stdout)["node2"][0] == 0
        assert node.check(f"sha256sum {WATCHED}") == before
    finally:
        node.run(RESTORE_RELEASE)
    assert node.check(". /etc/os-release && echo $VERSION_CODENAME").strip() == "trixie"


def test_consul_dns_none_leaves_the_resolver_alone(nodes, tmp_path):
    node = nodes["node3"]
    before = node.check("sha256sum /etc/resolv.conf /etc/dnsmasq.d/10-consul.conf")
    result = ansible_playbook(
        role_playbook(tmp_path, "consul_dns", "node3"), "-e", "consul_dns_forwarder=none", timeout=180
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert recap(result.stdout)["node3"][0] == 0
    assert node.check("sha256sum /etc/resolv.conf /etc/dnsmasq.d/10-consul.conf") == before
    assert node.dig("+short", "node1.dockyard-lab") == [nodes["node1"].address]
