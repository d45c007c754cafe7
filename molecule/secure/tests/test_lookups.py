"""The collection's lookups and inventory plugin against the secured lab: HTTPS verified with the
lab's CA and a token of their own (made with the consul role's acl_token entry point, as an operator
adds a token for a new consumer). Without the token they get nothing."""

from __future__ import annotations

import json
import sys

import pytest
from labkit.ansible_runner import SCENARIO, ansible, ansible_playbook
from labkit.secure import CA, SECRETS

CONNECTION = {
    "dockyard_consul_host": "172.20.22.10",
    "dockyard_consul_port": 8501,
    "dockyard_consul_scheme": "https",
    "dockyard_consul_ca_path": str(CA),
    "ansible_python_interpreter": sys.executable,
}


@pytest.fixture(scope="module")
def lookup_token():
    result = ansible_playbook(SCENARIO / "lookup_token.yml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return (SECRETS / "lab-lookups.token").read_text().strip()


def lookup(tmp_path, expression: str, token: str | None):
    """Evaluate a lookup expression on the controller; (True, value) or (False, Ansible's error)."""
    out = tmp_path / "lookup.json"
    result = ansible(
        "ansible",
        "localhost",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        json.dumps(CONNECTION),
        "-m",
        "ansible.builtin.copy",
        "-a",
        json.dumps({"content": "{{ " + expression + " | to_json }}", "dest": str(out)}),
        env={"CONSUL_HTTP_TOKEN": token or ""},
        timeout=120,
    )
    if result.returncode != 0:
        return False, result.stdout + result.stderr
    return True, json.loads(out.read_text())


def test_service_lookup_with_its_token(tmp_path, lookup_token, svc4):
    assert lookup(tmp_path, "lookup('dockyard.discovery.service', 'svc4', wantlist=true)", lookup_token) == (
        True,
        ["172.20.22.30:8084"],
    )


def test_service_lookup_without_a_token_sees_nothing(tmp_path, svc4):
    assert lookup(tmp_path, "lookup('dockyard.discovery.service', 'svc4', wantlist=true)", None) == (True, [])


def test_kv_lookup_with_its_token(tmp_path, lookup_token):
    found = lookup(tmp_path, "lookup('dockyard.discovery.kv', 'dockyard/lookups/greeting')", lookup_token)
    assert found == (True, "hello through TLS and ACLs")


def test_kv_lookup_without_a_token_is_denied(tmp_path, lookup_token):
    ok, error = lookup(tmp_path, "lookup('dockyard.discovery.kv', 'dockyard/lookups/greeting')", None)
    assert not ok
    assert "Permission denied" in error and "key:read" in error


def test_catalog_lookup_with_its_token(tmp_path, lookup_token):
    found = lookup(tmp_path, "lookup('dockyard.discovery.catalog', 'nodes', wantlist=true)", lookup_token)
    assert found == (True, ["secure1", "secure2", "secure3"])
    ok, services = lookup(tmp_path, "lookup('dockyard.discovery.catalog', 'services', wantlist=true)", lookup_token)
    assert ok and "consul" in services


def test_catalog_lookup_without_a_token_sees_nothing(tmp_path):
    assert lookup(tmp_path, "lookup('dockyard.discovery.catalog', 'nodes', wantlist=true)", None) == (True, [])


def inventory(tmp_path, token: str | None):
    config = tmp_path / "secure.consul.yml"
    config.write_text(
        json.dumps({"plugin": "dockyard.discovery.consul", "host": "172.20.22.10", "port": 8501, "scheme": "https"})
    )
    result = ansible(
        "ansible-inventory",
        "-i",
        str(config),
        "--list",
        env={"CONSUL_HTTP_TOKEN": token or "", "CONSUL_CACERT": str(CA)},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_inventory_plugin_with_its_token_groups_nodes_by_service(tmp_path, lookup_token, svc4):
    found = inventory(tmp_path, lookup_token)
    assert found["svc4"]["hosts"] == ["secure3"]
    assert sorted(found["consul"]["hosts"]) == ["secure1", "secure2", "secure3"]
    address = found["_meta"]["hostvars"]["secure3"]["ansible_host"]
    # ansible-inventory marks values from plugins as unsafe: {"__ansible_unsafe": "..."}
    assert (address.get("__ansible_unsafe") if isinstance(address, dict) else address) == "172.20.22.30"


def test_inventory_plugin_without_a_token_finds_no_host(tmp_path, svc4):
    found = inventory(tmp_path, None)
    assert found["_meta"]["hostvars"] == {}
