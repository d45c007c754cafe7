# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""binding_rule: create, update, no-op, delete, check mode, diff, bad input; raw HTTP is the reference."""

import uuid

import pytest
from conftest import assert_clean_failure, limited_token, run_module_direct
from test_auth_method import public_key

# the identity attributes the rules below bind to (value.project, ...)
CLAIMS = {"project": "project", "p": "p", "node": "node"}


@pytest.fixture(params=["acl_agent", "acl_tls_agent"])
def with_method(request):
    """An agent with a jwt auth method, over HTTP and over HTTPS."""
    agent = request.getfixturevalue(request.param)
    name = f"brt-{uuid.uuid4().hex[:6]}"
    agent.http(
        "PUT",
        "/v1/acl/auth-method",
        {"Name": name, "Type": "jwt", "Config": {"JWTValidationPubKeys": [public_key()], "ClaimMappings": CLAIMS}},
    )
    yield agent, name
    agent.http("DELETE", f"/v1/acl/auth-method/{name}")


def raw_rules(agent, method):
    return agent.http("GET", f"/v1/acl/binding-rules?authmethod={method}") or []


def rule(agent, method, name, check=False, **options):
    args = {**agent.connection(), "name": name, "auth_method": method, **options}
    return run_module_direct("binding_rule", args, check=check, diff=True)


def test_binding_rule_lifecycle(with_method):
    agent, method = with_method
    options = {"description": "per project", "selector": 'value.project != ""', "bind_type": "service"}
    options["bind_name"] = "${value.project}"
    checked = rule(agent, method, "svc", check=True, **options)
    assert (checked.result["changed"], checked.result["operation"]) == (True, "create"), checked
    assert checked.result["diff"]["before"] == {} and checked.result["binding_rule"]["id"] is None
    assert raw_rules(agent, method) == [], "check mode must not create"

    created = rule(agent, method, "svc", **options)
    stored = raw_rules(agent, method)
    assert len(stored) == 1 and created.result["binding_rule"]["id"] == stored[0]["ID"], created
    # the name is the description's prefix, as community.general stores it
    assert stored[0]["Description"] == "svc: per project"
    assert (stored[0]["BindType"], stored[0]["BindName"], stored[0]["Selector"]) == (
        "service",
        "${value.project}",
        'value.project != ""',
    )
    assert created.result["binding_rule"]["description"] == "per project"

    again = rule(agent, method, "svc", **options)
    assert again.result["changed"] is False and again.result["diff"]["before"] == again.result["diff"]["after"]
    # a second rule with its own name does not disturb the first
    other = rule(agent, method, "node", bind_type="node", bind_name="${value.node}")
    assert other.result["changed"] is True and len(raw_rules(agent, method)) == 2
    assert rule(agent, method, "svc", **options).result["changed"] is False

    templated = {"bind_type": "templated-policy", "bind_name": "builtin/service", "bind_vars": {"Name": "${value.p}"}}
    diff = rule(agent, method, "svc", check=True, **templated).result["diff"]
    assert (diff["before"]["bind_type"], diff["after"]["bind_type"]) == ("service", "templated-policy")
    assert next(r for r in raw_rules(agent, method) if r["ID"] == stored[0]["ID"])["BindType"] == "service"
    updated = rule(agent, method, "svc", **templated)
    assert updated.result["operation"] == "update", updated
    after = next(r for r in raw_rules(agent, method) if r["ID"] == stored[0]["ID"])
    assert after["BindVars"] == {"name": "${value.p}"} and after["Description"] == "svc: per project"
    assert rule(agent, method, "svc", **templated).result["changed"] is False  # Consul lower-cased Name

    assert rule(agent, method, "svc", check=True, state="absent").result["operation"] == "remove"
    assert len(raw_rules(agent, method)) == 2
    removed = rule(agent, method, "svc", state="absent")
    assert removed.result["changed"] is True and removed.result["binding_rule"] is None
    assert [r["Description"] for r in raw_rules(agent, method)] == ["node: "]
    assert rule(agent, method, "svc", state="absent").result["changed"] is False


def test_binding_rule_bad_input(with_method):
    agent, method = with_method
    for check in (True, False):
        unknown = rule(agent, "no-such-method", "r", check=check, bind_type="service", bind_name="x")
        assert_clean_failure(unknown, "unknown auth method 'no-such-method'")
        assert_clean_failure(rule(agent, method, "r", check=check, bind_type="service"), "does not exist yet")
        assert_clean_failure(rule(agent, method, "a: b", check=check, bind_type="service", bind_name="x"), "name")
        run = rule(agent, method, "r", check=check, bind_type="templated-policy", bind_name="builtin/service")
        assert_clean_failure(run, "needs bind_vars")
        run = rule(agent, method, "r", check=check, bind_type="service", bind_name="x", bind_vars={"name": "x"})
        assert_clean_failure(run, "templated-policy only")
        run = rule(agent, method, "r", check=check, bind_type="templated-policy", bind_name="b", bind_vars={"n": 1})
        assert_clean_failure(run, "must be a string")
    assert_clean_failure(rule(agent, method, "r", bind_type="user", bind_name="x"), "bind_type")
    assert_clean_failure(rule(agent, method, "r", bind_type="service", bind_name="x", bind_vars="x"), "dictionary")
    # Consul parses the selector when the rule is written (and answers 500)
    assert_clean_failure(
        rule(agent, method, "r", bind_type="service", bind_name="x", selector="=="), "Selector is invalid"
    )
    # the same name twice (made behind the module's back) is refused rather than guessed
    for _copy in range(2):
        agent.http(
            "PUT",
            "/v1/acl/binding-rule",
            {"AuthMethod": method, "Description": "dup: ", "BindType": "node", "BindName": "n"},
        )
    for check in (True, False):
        assert_clean_failure(rule(agent, method, "dup", check=check, bind_name="m"), "2 binding rules")
    assert sorted(r["Description"] for r in raw_rules(agent, method)) == ["dup: ", "dup: "]


def test_binding_rule_with_a_token_that_may_not_write_acls(with_method):
    agent, method = with_method
    if agent.mode != "acl":
        pytest.skip("once is enough")
    reader = limited_token(agent, 'acl = "read"')
    args = {**agent.connection(), "token": reader, "name": "r", "auth_method": method}
    args.update(bind_type="service", bind_name="x")
    assert run_module_direct("binding_rule", args, check=True).result["changed"] is True  # reads are allowed
    assert_clean_failure(run_module_direct("binding_rule", args), "HTTP 403")
    nobody = limited_token(agent, 'key_prefix "x/" { policy = "read" }')
    for check in (True, False):
        assert_clean_failure(run_module_direct("binding_rule", {**args, "token": nobody}, check=check), "HTTP 403")
    assert raw_rules(agent, method) == []


def test_binding_rule_against_a_server_that_is_not_consul(not_consul):
    for check in (True, False):
        args = {**not_consul, "name": "r", "auth_method": "m", "bind_type": "service", "bind_name": "x"}
        run = run_module_direct("binding_rule", args, check=check)
        assert_clean_failure(run)
        assert run.result.get("changed") is not True
