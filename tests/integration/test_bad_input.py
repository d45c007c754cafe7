# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input and broken agents give one clear message each, never a traceback, and change nothing."""

import json
import urllib.error

from conftest import assert_clean_failure, run_inventory, run_module, run_template
from consul_agent import free_ports

DEAD = {"host": "127.0.0.1", "port": free_ports(1)[0]}
DEAD_URL = f"http://127.0.0.1:{DEAD['port']}"


def test_unreachable_agent_module():
    run = run_module("service_info", {**DEAD, "name": "web"})
    assert_clean_failure(run, f"cannot reach the Consul agent at {DEAD_URL} (connection refused)")
    assert run.result["error"] == "unreachable"


def test_unreachable_agent_lookup():
    run = run_template(
        "lookup('dockyard.discovery.service', 'web')", env={"CONSUL_HTTP_ADDR": f"127.0.0.1:{DEAD['port']}"}
    )
    assert_clean_failure(run, "cannot reach the Consul agent", "connection refused")


def test_unreachable_agent_inventory(tmp_path):
    path = tmp_path / "dead.consul.yml"
    path.write_text(json.dumps({"plugin": "dockyard.discovery.consul", **DEAD}))
    process = run_inventory(path, "--list", env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"})
    assert process.returncode != 0
    assert f"cannot reach the Consul agent at {DEAD_URL}" in process.stderr
    assert "Traceback" not in process.stderr


def test_wrong_token_is_a_403_with_a_hint(acl_agent):
    wrong = {**acl_agent.connection(), "token": "00000000-0000-0000-0000-000000000000"}
    run = run_module("kv", {**wrong, "key": "secret"})
    assert_clean_failure(run, "denied access (HTTP 403, ACL)", "Check the token")
    assert run.result["status"] == 403 and run.result["error"] == "acl_denied"
    assert "00000000-0000-0000-0000-000000000000" not in run.output.replace(
        '"token": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"', ""
    )

    env = {"CONSUL_HTTP_ADDR": acl_agent.address, "CONSUL_HTTP_TOKEN": "00000000-0000-0000-0000-000000000000"}
    assert_clean_failure(run_template("lookup('dockyard.discovery.kv', 'secret')", env=env), "HTTP 403")


def test_right_token_from_the_environment(acl_agent):
    env = {"CONSUL_HTTP_ADDR": acl_agent.address, "CONSUL_HTTP_TOKEN": acl_agent.token}
    assert run_module("kv", {"key": "tokened", "value": "ok", "operation": "put"}, env=env).result["changed"] is True
    assert run_template("lookup('dockyard.discovery.kv', 'tokened')", env=env).result["msg"] == "ok"


def test_no_leader_is_a_5xx(leaderless_agent):
    run = run_module("service_info", {**leaderless_agent.connection(), "name": "web"})
    assert_clean_failure(run, "has no cluster leader (HTTP 500)")
    assert run.result["error"] == "no_leader"


def test_tls_failure_and_success(tls_agent):
    https = {"host": "127.0.0.1", "port": tls_agent.http_port, "scheme": "https"}
    run = run_module("catalog_info", {**https, "gather": ["datacenters"]})
    assert_clean_failure(run, "TLS handshake with Consul at", "CERTIFICATE_VERIFY_FAILED", "ca_path (CONSUL_CACERT)")
    assert run.result["error"] == "tls"
    trusted = run_module("catalog_info", {**https, "gather": ["datacenters"]}, env={"CONSUL_CACERT": tls_agent.ca_file})
    assert trusted.result["datacenters"] == ["dc1"], trusted
    plain = run_module("catalog_info", {**https, "scheme": "http", "gather": ["datacenters"]})
    assert_clean_failure(plain, "HTTP 400")


def test_invalid_arguments(agent):
    conn = agent.connection()
    assert_clean_failure(run_module("kv", {**conn, "key": "k", "operation": "put"}), "operation is put", "value")
    assert_clean_failure(
        run_module("service_info", {**conn, "name": "web", "index": 1, "wait": "soon"}), "wait='soon' is not a duration"
    )
    assert_clean_failure(run_module("service_info", {**conn, "port": "eighty", "name": "web"}), "port")
    assert_clean_failure(run_module("service_info", {**conn, "name": "a/b"}), "contains '/'")
    assert_clean_failure(
        run_module("agent_service", {**conn, "name": "x", "checks": [{"ttl": "30s", "tcp": "h:1"}]}),
        "mutually exclusive",
    )
    assert_clean_failure(
        run_template("query('dockyard.discovery.catalog', 'everything')"), "unknown term(s) ['everything']"
    )
    run = run_module("service_info", {"name": "web"}, env={"CONSUL_HTTP_ADDR": "unix:///run/consul.sock"})
    assert_clean_failure(run, "CONSUL_HTTP_ADDR='unix:///run/consul.sock' is not an address")


def all_keys(agent):
    try:
        return agent.http("GET", "/v1/kv/?keys")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise


def test_malformed_kv_path_changes_nothing(agent):
    agent.http("PUT", "/v1/kv/bad-input/canary", b"1")
    before = all_keys(agent)
    for key in ("/leading/slash", "double//slash", "dot/../dot"):
        run = run_module("kv", {**agent.connection(), "key": key, "value": "x", "operation": "put"})
        assert_clean_failure(run, f"malformed KV key {key!r}")
    assert_clean_failure(
        run_template("lookup('dockyard.discovery.kv', '/etc/passwd')", env={"CONSUL_HTTP_ADDR": agent.address}),
        "starts with '/'",
    )
    assert all_keys(agent) == before and "bad-input/canary" in before
