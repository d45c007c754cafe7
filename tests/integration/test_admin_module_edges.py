# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read modules agent_info and acl_token_info, and what every new module does with a server
that is not Consul, wrong types and a token that may not do the job."""

import base64
import uuid

import pytest
from conftest import assert_clean_failure, limited_token, run_module_direct

GOSSIP_KEY = base64.b64encode(b"\x07" * 32).decode()

# One valid call per module: against a server that is not Consul each must say so.
CALLS = [
    ("acl_bootstrap", {"bootstrap_secret": str(uuid.uuid4())}),
    ("acl_policy", {"name": "p", "rules": 'key_prefix "" { policy = "read" }'}),
    ("acl_role", {"name": "r", "policies": [{"name": "p"}]}),
    ("acl_token", {"name": "t", "policies": [{"name": "p"}]}),
    ("acl_token_info", {}),
    ("agent_info", {}),
    ("agent_token", {"tokens": {"agent": str(uuid.uuid4())}}),
    ("keyring", {"key": GOSSIP_KEY}),
    ("session", {"name": "s"}),
    ("session_info", {}),
    ("agent_check", {"name": "c", "ttl": "30s"}),
    ("auth_method", {"name": "m", "type": "jwt", "config": {"JWTValidationPubKeys": ["x"]}}),
    ("binding_rule", {"name": "b", "auth_method": "m", "bind_type": "service", "bind_name": "x"}),
]


@pytest.mark.parametrize(("module", "args"), CALLS, ids=[c[0] for c in CALLS])
def test_a_server_that_is_not_consul_is_named(not_consul, module, args):
    for check in (True, False):
        run = run_module_direct(module, {**not_consul, **args}, check=check)
        message = assert_clean_failure(run, "is not a Consul agent")
        assert run.result.get("changed") is not True, message


@pytest.mark.parametrize(
    ("module", "args", "named"),
    [
        ("acl_policy", {"name": "p", "rules": 'key_prefix "" {}', "valid_datacenters": {"a": 1}}, "valid_datacenters"),
        # Ansible's own check of a list of dicts, the same for every module
        ("acl_token", {"name": "t", "policies": "not-a-list-of-dicts"}, "dictionary requested"),
        ("acl_token", {"name": "t", "local": "sometimes"}, "local"),
        ("agent_token", {"tokens": "agent"}, "tokens"),
        ("keyring", {"key": GOSSIP_KEY, "exclusive": "maybe"}, "exclusive"),
        ("acl_token_info", {"description_regex": "("}, "description_regex"),
    ],
    ids=["policy-datacenters", "token-policies", "token-local", "agent-tokens", "keyring-exclusive", "bad-regex"],
)
def test_wrong_types_are_refused_with_the_option_named(acl_agent, module, args, named):
    for check in (True, False):
        assert_clean_failure(run_module_direct(module, {**acl_agent.connection(), **args}, check=check), named)


def test_a_token_that_may_not_read_acls_is_denied_clearly(acl_agent):
    nobody = limited_token(acl_agent, 'key_prefix "x/" { policy = "read" }')
    for module, args in (
        ("acl_token", {"name": "denied", "policies": [{"name": "global-management"}]}),
        ("acl_token_info", {}),
    ):
        run = run_module_direct(module, {**acl_agent.connection(), "token": nobody, **args})
        assert_clean_failure(run, "denied access (HTTP 403, ACL)")


def test_agent_info_describes_the_agent_and_its_registrations(agent):
    agent.http("PUT", "/v1/agent/service/register", {"ID": "edge-web-1", "Name": "edge-web", "Port": 8080})
    try:
        run = run_module_direct("agent_info", agent.connection(), check=True)
        assert run.result["changed"] is False
        me = agent.http("GET", "/v1/agent/self")["Config"]
        assert run.result["agent"] == {
            "node_name": me["NodeName"],
            "datacenter": me["Datacenter"],
            "server": me["Server"],
            "version": me["Version"],
            "revision": me["Revision"],
        }
        assert run.result["services"]["edge-web-1"] == {"name": "edge-web", "tags": [], "address": "", "port": 8080}
    finally:
        agent.deregister("edge-web-1")


def test_acl_token_info_lists_without_secrets_and_filters(acl_agent):
    secret = str(uuid.uuid4())
    accessor = acl_agent.http(
        "PUT",
        "/v1/acl/token",
        {
            "SecretID": secret,
            "Description": "edge token on hostx (dockyard.discovery)",
            "NodeIdentities": [{"NodeName": "hostx", "Datacenter": "dc1"}],
        },
    )["AccessorID"]
    try:
        every = run_module_direct("acl_token_info", acl_agent.connection())
        assert accessor in [t["accessor_id"] for t in every.result["tokens"]]
        assert secret not in every.stdout and acl_agent.token not in every.stdout.replace('"token": "', "")
        assert all("secret_id" not in t for t in every.result["tokens"])
        mine = run_module_direct(
            "acl_token_info", {**acl_agent.connection(), "description_regex": r" on hostx \(dockyard\.discovery\)$"}
        )
        assert [t["accessor_id"] for t in mine.result["tokens"]] == [accessor]
        assert mine.result["tokens"][0]["node_identities"] == [{"node_name": "hostx", "datacenter": "dc1"}]
    finally:
        acl_agent.http("DELETE", f"/v1/acl/token/{accessor}")
