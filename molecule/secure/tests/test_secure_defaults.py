"""What an operator gets from site.yml without a security variable: gossip encryption, verified TLS,
default-deny ACLs, hardening defaults, and secrets kept in files only their owners can read."""

from __future__ import annotations

import json
import stat

import pytest
import requests
from conftest import NODES
from labkit.secure import CA, SECRETS, TLS, Api, management_token, secret, token_secret

SECRET_FILES = ["gossip.key", "acl-bootstrap.token", "tls/ca-key.pem"] + [f"tls/{n}-key.pem" for n in NODES]


def test_controller_secrets_are_readable_by_their_owner_only():
    assert stat.S_IMODE(SECRETS.stat().st_mode) == 0o700
    assert stat.S_IMODE(TLS.stat().st_mode) == 0o700
    for name in SECRET_FILES:
        assert stat.S_IMODE((SECRETS / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(CA.stat().st_mode) == 0o644


@pytest.mark.parametrize("name", NODES)
def test_agent_configuration_turns_every_protection_on(nodes, name):
    host = nodes[name].host
    config = host.file("/etc/consul.d/consul.json")
    assert (config.user, config.group, config.mode) == ("root", "consul", 0o640)
    rendered = json.loads(config.content_string)
    assert rendered["encrypt"] == secret("gossip.key")
    assert (rendered["encrypt_verify_incoming"], rendered["encrypt_verify_outgoing"]) == (True, True)
    assert rendered["acl"] == {"enabled": True, "default_policy": "deny", "enable_token_persistence": True}
    tls = rendered["tls"]
    assert (tls["defaults"]["verify_outgoing"], tls["internal_rpc"]["verify_incoming"]) == (True, True)
    assert tls["internal_rpc"]["verify_server_hostname"] is True
    assert rendered["auto_encrypt"] == {"allow_tls": True}
    assert (rendered["ports"]["http"], rendered["ports"]["https"]) == (-1, 8501)
    # Script checks from the API stay off; those of the agent's own files (root's) are on, for the
    # load-balancer's and registrator's checks in consul_services_dir.
    assert (rendered["enable_script_checks"], rendered["enable_local_script_checks"]) == (False, True)
    assert rendered["disable_remote_exec"] is True
    assert host.run("consul validate /etc/consul.d/consul.json").rc == 0


@pytest.mark.parametrize("name", NODES)
def test_the_running_agent_has_script_checks_and_remote_exec_off(nodes, name):
    config = Api(nodes[name].address).get("/v1/agent/self")["DebugConfig"]
    assert (config["EnableRemoteScriptChecks"], config["EnableLocalScriptChecks"]) == (False, True)
    assert config["DisableRemoteExec"] is True
    resolver = config["ACLResolverSettings"]
    assert (resolver["ACLsEnabled"], resolver["ACLDefaultPolicy"]) == (True, "deny")


@pytest.mark.parametrize("name", NODES)
def test_tls_files_and_token_store_have_explicit_owners_and_modes(nodes, name):
    host = nodes[name].host
    expected = {
        "/etc/consul.d/tls": ("root", "consul", 0o750),
        "/etc/consul.d/tls/ca.pem": ("root", "root", 0o644),
        "/etc/consul.d/tls/agent.pem": ("root", "consul", 0o644),
        "/etc/consul.d/tls/agent-key.pem": ("root", "consul", 0o640),
        "/var/lib/consul/acl-tokens.json": ("consul", "consul", 0o600),
        "/etc/consul-template.d/consul-template.json": ("root", "root", 0o600),
    }
    if name != "secure1":
        expected.pop("/etc/consul-template.d/consul-template.json")
    for path, owner in expected.items():
        found = host.file(path)
        assert (found.user, found.group, found.mode) == owner, path
    assert host.file("/etc/consul.d/tls/agent-key.pem").content_string == (TLS / f"{name}-key.pem").read_text()


@pytest.mark.parametrize("name", NODES)
def test_no_token_is_written_into_the_consul_configuration(nodes, name, api):
    config_dir = nodes[name].check("cat /etc/consul.d/consul.json /etc/systemd/system/consul.service")
    for description in (f"Agent token of {name} (dockyard.discovery)", f"DNS token of {name} (dockyard.discovery)"):
        assert token_secret(api, description) not in config_dir, description
    assert management_token() not in config_dir


@pytest.mark.parametrize("name", NODES)
def test_agent_and_dns_tokens_are_the_agents_own_set_through_the_agent_api(nodes, name, api):
    held = json.loads(nodes[name].check("cat /var/lib/consul/acl-tokens.json"))
    assert set(held) == {"agent", "dns"}
    assert held["agent"] == token_secret(api, f"Agent token of {name} (dockyard.discovery)")
    assert held["dns"] == token_secret(api, f"DNS token of {name} (dockyard.discovery)")


def test_each_consumer_token_has_the_narrowest_policy(api):
    policies = {p["Name"]: api.get(f"/v1/acl/policy/{p['ID']}")["Rules"] for p in api.get("/v1/acl/policies")}
    assert policies["registrator"] == 'service_prefix "" { policy = "write" }\nnode_prefix "" { policy = "read" }\n'
    assert policies["consul-template"] == 'service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }\n'
    assert policies["dns-read"] == (
        'node_prefix "" { policy = "read" }\nservice_prefix "" { policy = "read" }\nquery_prefix "" { policy = "read" }\n'
    )
    tokens = api.get("/v1/acl/tokens")
    by_description = {t["Description"]: t for t in tokens}
    for name in NODES:
        agent = by_description[f"Agent token of {name} (dockyard.discovery)"]
        assert agent["NodeIdentities"] == [{"NodeName": name, "Datacenter": "dc1"}] and not agent.get("Policies")
        assert [p["Name"] for p in by_description[f"registrator on {name} (dockyard.discovery)"]["Policies"]] == [
            "registrator"
        ]
    assert [p["Name"] for p in by_description["consul-template on secure1 (dockyard.discovery)"]["Policies"]] == [
        "consul-template"
    ]
    anonymous = by_description["Anonymous Token"]
    assert not anonymous.get("Policies")


def test_nginx_hides_its_version(nodes):
    response = requests.get(f"http://{nodes['secure1'].address}/", timeout=5)
    assert response.headers["Server"] == "nginx"
    assert "nginx/" in nodes["secure1"].check("nginx -v 2>&1")


def test_a_script_check_registered_through_the_api_is_refused_even_with_the_management_token():
    """Local script checks are on (the agent's files only): the HTTP API still cannot add one, which
    is what the remote-execution attacks on Consul agents use."""
    api = Api(NODES["secure2"].address)
    check = {"Name": "api script check", "ID": "verifier-script", "Args": ["/bin/true"], "Interval": "10s"}
    response = api.call("PUT", "/v1/agent/check/register", management_token(), json=check)
    assert response.status_code in (400, 500), (response.status_code, response.text)
    assert "Scripts are disabled on this agent from remote calls" in response.text, response.text
    assert "verifier-script" not in api.get("/v1/agent/checks", management_token())
