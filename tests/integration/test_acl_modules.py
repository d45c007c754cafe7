# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""acl_bootstrap, acl_policy, acl_token: create, update, no-op, delete, check mode, diff, bad input.

Against real Consul agents with deny-by-default ACLs, over HTTP and HTTPS; raw HTTP is the reference.
Most runs call the module directly (run_module_direct); the ansible CLI runs the bootstrap, whose
secret Ansible must mask, and one policy lifecycle end to end.
"""

import time
import urllib.error
import uuid

import pytest
from conftest import assert_clean_failure, limited_token, run_module, run_module_direct
from consul_agent import ConsulAgent

RULES = 'key_prefix "aclt/" {\n  policy = "read"\n}\n'
TO_UUID_NAMESPACE = uuid.UUID("361E6D51-FAEC-444A-9079-341386DA8E2E")  # ansible.builtin.to_uuid's


def raw_policy(agent, name):
    try:
        return agent.http("GET", f"/v1/acl/policy/name/{name}")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def raw_token(agent, accessor):
    try:
        return agent.http("GET", f"/v1/acl/token/{accessor}")
    except urllib.error.HTTPError as error:
        if error.code == 403:
            return None
        raise


def policy(agent, name, check=False, **options):
    return run_module_direct("acl_policy", {**agent.connection(), "name": name, **options}, check=check, diff=True)


def token(agent, name, check=False, **options):
    return run_module_direct("acl_token", {**agent.connection(), "name": name, **options}, check=check, diff=True)


@pytest.fixture(params=["acl_agent", "acl_tls_agent"])
def secured(request):
    """Each test once over HTTP and once over HTTPS with a CA to verify."""
    return request.getfixturevalue(request.param)


# --- acl_bootstrap ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh_acl_agent():
    with ConsulAgent("acl_unbootstrapped") as running:
        yield running


def bootstrap(agent, secret=None, check=False):
    args = {"host": "127.0.0.1", "port": agent.http_port, **({"bootstrap_secret": secret} if secret else {})}
    deadline = time.monotonic() + 30
    while True:  # until a leader has set the ACL system up, Consul answers 500
        run = run_module("acl_bootstrap", args, check=check)
        if run.result.get("error") not in ("server_error", "no_leader") or time.monotonic() > deadline:
            return run
        time.sleep(0.5)


def test_bootstrap_check_mode_then_real_then_again(fresh_acl_agent):
    secret = str(uuid.uuid4())
    checked = bootstrap(fresh_acl_agent, secret, check=True)
    assert (checked.result["changed"], checked.result["bootstrapped"]) == (True, False), checked
    with pytest.raises(urllib.error.HTTPError):  # check mode bootstrapped nothing: the secret is unknown
        fresh_acl_agent.http("GET", "/v1/acl/token/self", token=secret)

    done = bootstrap(fresh_acl_agent, secret)
    assert (done.result["changed"], done.result["bootstrapped"]) == (True, True), done
    # the secret was a no_log option: Ansible masks it wherever it would show
    assert secret not in done.stdout + done.stderr
    me = fresh_acl_agent.http("GET", "/v1/acl/token/self", token=secret)
    assert [p["Name"] for p in me["Policies"]] == ["global-management"]
    assert done.result["token"]["accessor_id"] == me["AccessorID"]

    again = bootstrap(fresh_acl_agent, secret)
    assert (again.result["changed"], again.result["token"]["accessor_id"]) == (False, me["AccessorID"])
    assert bootstrap(fresh_acl_agent, secret, check=True).result["changed"] is False
    # without a secret, a bootstrapped datacenter is not an error
    unknown = bootstrap(fresh_acl_agent).result
    assert (unknown["changed"], unknown["bootstrapped"], unknown["token"]) == (False, True, None)


def test_bootstrap_with_another_secret_says_so(acl_agent):
    run = run_module("acl_bootstrap", {**acl_agent.connection(), "bootstrap_secret": str(uuid.uuid4())})
    assert_clean_failure(run, "bootstrapped with another token")
    run = run_module_direct("acl_bootstrap", {**acl_agent.connection(), "bootstrap_secret": "not-a-uuid"})
    assert_clean_failure(run, "bootstrap_secret", "is not a UUID")


def test_bootstrap_secret_of_a_token_that_is_not_management(acl_agent):
    secret = limited_token(acl_agent, 'key_prefix "x/" { policy = "read" }')
    for check in (True, False):
        run = run_module_direct("acl_bootstrap", {**acl_agent.connection(), "bootstrap_secret": secret}, check=check)
        assert_clean_failure(run, "not a management token")


# --- acl_policy ---------------------------------------------------------------------------


def test_policy_lifecycle(secured):
    name = f"aclt-{secured.mode}"
    checked = policy(secured, name, check=True, rules=RULES, description="Reads of aclt/")
    assert checked.result["changed"] is True and checked.result["operation"] == "create"
    assert checked.result["diff"]["before"] == {} and checked.result["diff"]["after"]["rules"] == RULES
    assert raw_policy(secured, name) is None

    created = policy(secured, name, rules=RULES, description="Reads of aclt/")
    stored = raw_policy(secured, name)
    assert created.result["operation"] == "create" and created.result["policy"]["id"] == stored["ID"]
    assert (stored["Rules"], stored["Description"]) == (RULES, "Reads of aclt/")

    assert policy(secured, name, rules=RULES, description="Reads of aclt/").result["changed"] is False
    assert policy(secured, name, check=True, rules=RULES).result["changed"] is False  # description unmanaged

    edited = RULES.replace('"read"', '"write"')
    diff = policy(secured, name, check=True, rules=edited).result["diff"]
    assert (diff["before"]["rules"], diff["after"]["rules"]) == (RULES, edited)
    assert raw_policy(secured, name)["Rules"] == RULES
    updated = policy(secured, name, rules=edited)
    assert updated.result["operation"] == "update" and raw_policy(secured, name)["Rules"] == edited
    assert raw_policy(secured, name)["ID"] == stored["ID"]

    assert policy(secured, name, check=True, state="absent").result["operation"] == "remove"
    assert raw_policy(secured, name) is not None
    removed = policy(secured, name, state="absent")
    assert removed.result["changed"] is True and removed.result["policy"] is None
    assert raw_policy(secured, name) is None
    assert policy(secured, name, state="absent").result["changed"] is False


def test_policy_through_the_ansible_cli(acl_tls_agent):
    """The same module as a user runs it: --check --diff, then for real, then again."""
    args = {**acl_tls_agent.connection(), "name": "aclt-cli", "rules": RULES}
    checked = run_module("acl_policy", args, check=True, diff=True)
    assert checked.result["changed"] is True and raw_policy(acl_tls_agent, "aclt-cli") is None
    assert checked.result["diff"]["after"]["rules"] == RULES
    assert run_module("acl_policy", args).result["changed"] is True
    assert raw_policy(acl_tls_agent, "aclt-cli")["Rules"] == RULES
    assert run_module("acl_policy", args, check=True, diff=True).result["changed"] is False
    acl_tls_agent.http("DELETE", f"/v1/acl/policy/{raw_policy(acl_tls_agent, 'aclt-cli')['ID']}")


def test_policy_bad_input(acl_agent):
    for check in (True, False):
        assert_clean_failure(policy(acl_agent, "aclt-norules", check=check), "does not exist yet", "rules")
        assert_clean_failure(policy(acl_agent, "", check=check, rules=RULES), "non-empty")
    # Consul parses the rules when they are written: its message comes through
    assert_clean_failure(policy(acl_agent, "aclt-bad", rules="key_prefix {"), "Failed to parse ACL rules")
    assert raw_policy(acl_agent, "aclt-bad") is None
    wrong_type = policy(acl_agent, "aclt-x", rules=RULES, valid_datacenters={"a": 1})
    assert_clean_failure(wrong_type, "valid_datacenters")


def test_policy_with_a_token_that_may_not_write_acls(acl_agent):
    reader = limited_token(acl_agent, 'acl = "read"')
    for check in (True, False):
        run = run_module_direct(
            "acl_policy",
            {**acl_agent.connection(), "token": reader, "name": "aclt-denied", "rules": RULES},
            check=check,
        )
        if check:  # reading is allowed with acl = read; check mode predicts the create
            assert run.result["changed"] is True
        else:
            assert_clean_failure(run, "denied access (HTTP 403, ACL)")
    nobody = limited_token(acl_agent, 'key_prefix "x/" { policy = "read" }')
    run = run_module_direct(
        "acl_policy", {**acl_agent.connection(), "token": nobody, "name": "aclt-denied", "rules": RULES}
    )
    assert_clean_failure(run, "HTTP 403")
    assert raw_policy(acl_agent, "aclt-denied") is None


# --- acl_token ----------------------------------------------------------------------------


@pytest.fixture
def with_policies(secured):
    for name in ("aclt-one", "aclt-two"):
        secured.http("PUT", "/v1/acl/policy", {"Name": name, "Rules": RULES})
    yield secured
    for name in ("aclt-one", "aclt-two"):
        found = raw_policy(secured, name)
        if found:
            secured.http("DELETE", f"/v1/acl/policy/{found['ID']}")


def test_token_lifecycle(with_policies):
    agent = with_policies
    name = f"dc1/aclt-{agent.mode}"
    accessor = str(uuid.uuid5(TO_UUID_NAMESPACE, name))
    checked = token(agent, name, check=True, policies=[{"name": "aclt-one"}], description="deploy")
    assert checked.result["operation"] == "create" and raw_token(agent, accessor) is None
    assert "secret_id" not in checked.result["token"]

    created = token(agent, name, policies=[{"name": "aclt-one"}], description="deploy")
    stored = raw_token(agent, accessor)
    assert created.result["token"]["accessor_id"] == accessor == stored["AccessorID"]
    assert "secret_id" not in created.result["token"]
    assert stored["SecretID"] not in created.stdout + created.stderr

    again = token(agent, name, policies=[{"name": "aclt-one"}], description="deploy", return_secret=True)
    assert again.result["changed"] is False and again.result["token"]["secret_id"] == stored["SecretID"]

    policy_id = raw_policy(agent, "aclt-two")["ID"]
    changed = token(agent, name, policies=[{"id": policy_id}, {"name": "aclt-one"}])
    assert changed.result["diff"]["before"]["policies"] == ["aclt-one"]
    assert changed.result["diff"]["after"]["policies"] == ["aclt-one", "aclt-two"]
    after = raw_token(agent, accessor)
    assert after["SecretID"] == stored["SecretID"] and after["Description"] == "deploy"
    assert sorted(p["Name"] for p in after["Policies"]) == ["aclt-one", "aclt-two"]
    assert stored["SecretID"] not in str(changed.result["diff"])

    identities = token(agent, name, node_identities=[{"node_name": "n1", "datacenter": "dc1"}])
    assert identities.result["changed"] is True
    assert raw_token(agent, accessor)["NodeIdentities"] == [{"NodeName": "n1", "Datacenter": "dc1"}]
    assert token(agent, name, node_identities=[{"node_name": "n1", "datacenter": "dc1"}]).result["changed"] is False

    assert token(agent, name, check=True, state="absent").result["operation"] == "remove"
    assert raw_token(agent, accessor) is not None
    assert token(agent, name, state="absent").result["changed"] is True and raw_token(agent, accessor) is None
    assert token(agent, name, state="absent").result["changed"] is False


def test_token_bad_input(with_policies):
    agent = with_policies
    for check in (True, False):
        unknown = token(agent, "dc1/aclt-unknown", check=check, policies=[{"name": "no-such-policy"}])
        assert_clean_failure(unknown, "unknown ACL policy 'no-such-policy'")
        assert_clean_failure(token(agent, "dc1/aclt-bare", check=check), "at least one policy")
        both = token(agent, "dc1/aclt-x", check=check, policies=[{"name": "aclt-one", "id": str(uuid.uuid4())}])
        assert_clean_failure(both, "exactly one of name or id")
    bad_id = run_module_direct(
        "acl_token", {**agent.connection(), "accessor_id": "nope", "policies": [{"name": "aclt-one"}]}
    )
    assert_clean_failure(bad_id, "is not a UUID")
    mismatch = run_module_direct(
        "acl_token", {**agent.connection(), "name": "a", "accessor_id": str(uuid.uuid4()), "policies": []}
    )
    assert_clean_failure(mismatch, "not the one derived from name")
    assert raw_token(agent, str(uuid.uuid5(TO_UUID_NAMESPACE, "dc1/aclt-unknown"))) is None


def test_token_secret_cannot_change(with_policies):
    agent = with_policies
    name, secret = "dc1/aclt-secret", str(uuid.uuid4())
    assert token(agent, name, policies=[{"name": "aclt-one"}], secret_id=secret).result["changed"] is True
    assert raw_token(agent, str(uuid.uuid5(TO_UUID_NAMESPACE, name)))["SecretID"] == secret
    assert token(agent, name, policies=[{"name": "aclt-one"}], secret_id=secret).result["changed"] is False
    for check in (True, False):
        run = token(agent, name, check=check, policies=[{"name": "aclt-one"}], secret_id=str(uuid.uuid4()))
        assert_clean_failure(run, "secret cannot change")
    token(agent, name, state="absent")


def test_anonymous_token_links_and_unlinks(with_policies):
    agent = with_policies
    anonymous = "00000000-0000-0000-0000-000000000002"
    args = {**agent.connection(), "accessor_id": anonymous}
    linked = run_module_direct("acl_token", {**args, "policies": [{"name": "aclt-one"}]}, diff=True)
    assert linked.result["changed"] is True
    stored = raw_token(agent, anonymous)
    assert [p["Name"] for p in stored["Policies"]] == ["aclt-one"] and stored["Description"] == "Anonymous Token"
    assert run_module_direct("acl_token", {**args, "policies": [{"name": "aclt-one"}]}).result["changed"] is False
    unlinked = run_module_direct("acl_token", {**args, "policies": []})
    assert unlinked.result["changed"] is True and not raw_token(agent, anonymous).get("Policies")
