# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""acl_role: create, update, no-op, delete, check mode, diff, bad input; raw HTTP is the reference."""

import urllib.error
import uuid

import pytest
from conftest import assert_clean_failure, limited_token, run_module_direct

RULES = 'key_prefix "rolet/" {\n  policy = "read"\n}\n'


@pytest.fixture(params=["acl_agent", "acl_tls_agent"])
def secured(request):
    """Each test once over HTTP and once over HTTPS with a CA to verify."""
    agent = request.getfixturevalue(request.param)
    for name in ("rolet-one", "rolet-two"):
        if raw_policy(agent, name) is None:
            agent.http("PUT", "/v1/acl/policy", {"Name": name, "Rules": RULES})
    return agent


def raw_policy(agent, name):
    try:
        return agent.http("GET", f"/v1/acl/policy/name/{name}")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def raw_role(agent, name):
    try:
        return agent.http("GET", f"/v1/acl/role/name/{name}")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def role(agent, name, check=False, **options):
    return run_module_direct("acl_role", {**agent.connection(), "name": name, **options}, check=check, diff=True)


def test_role_lifecycle(secured):
    agent, name = secured, f"rolet-{secured.mode}"
    options = {
        "description": "web",
        "policies": [{"name": "rolet-one"}],
        "service_identities": [{"service_name": "web", "datacenters": ["dc1"]}],
    }
    checked = role(agent, name, check=True, **options)
    assert (checked.result["changed"], checked.result["operation"]) == (True, "create"), checked
    assert checked.result["diff"]["before"] == {} and checked.result["diff"]["after"]["policies"] == ["rolet-one"]
    assert checked.result["role"]["id"] is None
    assert raw_role(agent, name) is None, "check mode must not create"

    created = role(agent, name, **options)
    stored = raw_role(agent, name)
    assert created.result["operation"] == "create" and created.result["role"]["id"] == stored["ID"]
    assert [p["Name"] for p in stored["Policies"]] == ["rolet-one"] and stored["Description"] == "web"
    assert stored["ServiceIdentities"] == [{"ServiceName": "web", "Datacenters": ["dc1"]}]

    again = role(agent, name, **options)
    assert again.result["changed"] is False and again.result["diff"]["before"] == again.result["diff"]["after"]
    assert role(agent, name, check=True, policies=[{"name": "rolet-one"}]).result["changed"] is False

    # by ID as well as by name; node identity and templated policy added
    two = raw_policy(agent, "rolet-two")["ID"]
    update = {
        "policies": [{"id": two}, {"name": "rolet-one"}],
        "node_identities": [{"node_name": "n1", "datacenter": "dc1"}],
        "templated_policies": [{"template_name": "builtin/service", "template_variables": {"Name": "api"}}],
    }
    diff = role(agent, name, check=True, **update).result["diff"]
    assert (diff["before"]["policies"], diff["after"]["policies"]) == (["rolet-one"], ["rolet-one", "rolet-two"])
    assert raw_role(agent, name)["ModifyIndex"] == stored["ModifyIndex"], "check mode must not write"
    updated = role(agent, name, **update)
    assert updated.result["operation"] == "update", updated
    after = raw_role(agent, name)
    assert after["ID"] == stored["ID"] and after["Description"] == "web"  # unmanaged: kept
    assert sorted(p["Name"] for p in after["Policies"]) == ["rolet-one", "rolet-two"]
    assert after["NodeIdentities"] == [{"NodeName": "n1", "Datacenter": "dc1"}]
    assert after["TemplatedPolicies"][0]["TemplateVariables"] == {"name": "api"}
    assert after["ServiceIdentities"] == stored["ServiceIdentities"]
    # Consul lower-cases the variable names: the same task is a no-op
    assert role(agent, name, **update).result["changed"] is False

    cleared = role(agent, name, templated_policies=[], node_identities=[])
    assert cleared.result["changed"] is True
    assert not raw_role(agent, name).get("TemplatedPolicies") and not raw_role(agent, name).get("NodeIdentities")

    assert role(agent, name, check=True, state="absent").result["operation"] == "remove"
    assert raw_role(agent, name) is not None
    removed = role(agent, name, state="absent")
    assert removed.result["changed"] is True and removed.result["role"] is None
    assert removed.result["diff"]["after"] == {} and removed.result["diff"]["before"]["name"] == name
    assert raw_role(agent, name) is None
    assert role(agent, name, state="absent").result["changed"] is False


def test_role_bad_input(acl_agent):
    agent = acl_agent
    for check in (True, False):
        unknown = role(agent, "rolet-unknown", check=check, policies=[{"name": "no-such-policy"}])
        assert_clean_failure(unknown, "unknown ACL policy 'no-such-policy'")
        unknown_id = role(agent, "rolet-unknown", check=check, policies=[{"id": str(uuid.uuid4())}])
        assert_clean_failure(unknown_id, "unknown ACL policy")
        assert_clean_failure(role(agent, "rolet-bare", check=check), "at least one policy")
        assert_clean_failure(role(agent, "", check=check, policies=[{"name": "rolet-one"}]), "non-empty")
        both = role(agent, "rolet-x", check=check, policies=[{"name": "rolet-one", "id": str(uuid.uuid4())}])
        assert_clean_failure(both, "exactly one of name or id")
        template = role(agent, "rolet-t", check=check, templated_policies=[{"template_name": "builtin/nope"}])
        assert_clean_failure(template, "unknown template 'builtin/nope'")
        no_var = role(agent, "rolet-t", check=check, templated_policies=[{"template_name": "builtin/service"}])
        assert_clean_failure(no_var, "needs template_variables.name")
    assert_clean_failure(role(agent, "rolet-x", policies="rolet-one"), "dictionary requested")
    assert_clean_failure(role(agent, "rolet-x", policies=[{"nme": "rolet-one"}]), "nme")
    identity = role(agent, "rolet-x", node_identities=[{"node_name": "n1"}])
    assert_clean_failure(identity, "datacenter")
    for name in ("rolet-unknown", "rolet-bare", "rolet-x", "rolet-t"):
        assert raw_role(agent, name) is None


def test_role_with_a_token_that_may_not_write_acls(acl_agent):
    agent = acl_agent
    if raw_policy(agent, "rolet-one") is None:
        agent.http("PUT", "/v1/acl/policy", {"Name": "rolet-one", "Rules": RULES})
    reader = limited_token(agent, 'acl = "read"')
    args = {**agent.connection(), "token": reader, "name": "rolet-denied", "policies": [{"name": "rolet-one"}]}
    assert run_module_direct("acl_role", args, check=True).result["changed"] is True  # reads are allowed
    assert_clean_failure(run_module_direct("acl_role", args), "denied access (HTTP 403, ACL)")
    nobody = limited_token(agent, 'key_prefix "x/" { policy = "read" }')
    for check in (True, False):
        assert_clean_failure(run_module_direct("acl_role", {**args, "token": nobody}, check=check), "HTTP 403")
    assert raw_role(agent, "rolet-denied") is None


def test_role_against_a_server_that_is_not_consul(not_consul):
    for check in (True, False):
        run = run_module_direct("acl_role", {**not_consul, "name": "r", "policies": [{"name": "p"}]}, check=check)
        assert_clean_failure(run)
        assert run.result.get("changed") is not True
