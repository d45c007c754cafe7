# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""auth_method: create, update, no-op, delete, check mode, diff, bad input; raw HTTP is the reference.

A jwt auth method with a local RSA public key, so that nothing outside the machine is needed.
"""

import urllib.error
import uuid

import pytest
from conftest import assert_clean_failure, limited_token, run_module_direct
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def public_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def pem():
    return public_key()


@pytest.fixture(params=["acl_agent", "acl_tls_agent"])
def secured(request):
    return request.getfixturevalue(request.param)


def raw_method(agent, name):
    try:
        return agent.http("GET", f"/v1/acl/auth-method/{name}")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def method(agent, name, check=False, **options):
    return run_module_direct("auth_method", {**agent.connection(), "name": name, **options}, check=check, diff=True)


def jwt_config(pem, **extra):
    return {"JWTValidationPubKeys": [pem], "BoundAudiences": ["consul"], "ClaimMappings": {"sub": "sub"}, **extra}


def test_auth_method_lifecycle(secured, pem):
    agent, name = secured, f"amt-{uuid.uuid4().hex[:6]}"
    options = {
        "type": "jwt",
        "description": "CI",
        "display_name": "CI jobs",
        "max_token_ttl": "1h",
        "token_locality": "local",
        "config": jwt_config(pem, ClockSkewLeeway="30s"),
    }
    checked = method(agent, name, check=True, **options)
    assert (checked.result["changed"], checked.result["operation"]) == (True, "create"), checked
    assert checked.result["diff"]["before"] == {} and checked.result["diff"]["after"]["max_token_ttl"] == 3600
    assert raw_method(agent, name) is None, "check mode must not create"

    created = method(agent, name, **options)
    stored = raw_method(agent, name)
    assert created.result["operation"] == "create", created
    # Consul's own forms: 1h0m0s, a duration in nanoseconds
    assert (stored["Type"], stored["MaxTokenTTL"], stored["TokenLocality"]) == ("jwt", "1h0m0s", "local")
    assert stored["Config"]["ClockSkewLeeway"] == 30_000_000_000
    assert (stored["Description"], stored["DisplayName"]) == ("CI", "CI jobs")

    # the same task again: no change despite Consul's normalisation
    again = method(agent, name, **options)
    assert again.result["changed"] is False, again
    assert again.result["diff"]["before"] == again.result["diff"]["after"]
    assert method(agent, name, check=True, max_token_ttl="60m").result["changed"] is False

    edited = {**options, "config": jwt_config(pem, ClockSkewLeeway="30s", BoundAudiences=["consul", "ci"])}
    diff = method(agent, name, check=True, **edited).result["diff"]
    assert (diff["before"]["config"]["BoundAudiences"], diff["after"]["config"]["BoundAudiences"]) == (
        ["consul"],
        ["consul", "ci"],
    )
    assert raw_method(agent, name)["ModifyIndex"] == stored["ModifyIndex"], "check mode must not write"
    updated = method(agent, name, **edited)
    assert updated.result["operation"] == "update", updated
    after = raw_method(agent, name)
    assert after["Config"]["BoundAudiences"] == ["consul", "ci"] and after["MaxTokenTTL"] == "1h0m0s"
    assert method(agent, name, **edited).result["changed"] is False

    assert method(agent, name, description="CI jobs").result["changed"] is True  # unmanaged options kept
    assert raw_method(agent, name)["Config"]["BoundAudiences"] == ["consul", "ci"]
    assert raw_method(agent, name)["DisplayName"] == "CI jobs"

    assert method(agent, name, check=True, state="absent").result["operation"] == "remove"
    assert raw_method(agent, name) is not None
    removed = method(agent, name, state="absent")
    assert removed.result["changed"] is True and removed.result["auth_method"] is None
    assert raw_method(agent, name) is None
    assert method(agent, name, state="absent").result["changed"] is False


def test_auth_method_bad_input(acl_agent, pem):
    agent = acl_agent
    for check in (True, False):
        assert_clean_failure(method(agent, "amt-bad", check=check, type="jwt"), "does not exist yet", "config")
        assert_clean_failure(method(agent, "amt-bad", check=check, config={}), "does not exist yet", "type")
        run = method(agent, "amt-bad", check=check, type="jwt", config=jwt_config(pem), max_token_ttl="long")
        assert_clean_failure(run, "max_token_ttl")
        run = method(agent, "amt-bad", check=check, type="jwt", config=jwt_config(pem, ClockSkewLeeway="soon"))
        assert_clean_failure(run, "not a duration")
        assert_clean_failure(method(agent, "a/b", check=check, type="jwt", config={}), "auth method name")
    assert_clean_failure(method(agent, "amt-bad", type="ldap", config={}), "type")
    assert_clean_failure(method(agent, "amt-bad", type="jwt", config="keys"), "dictionary requested")
    # Consul validates the configuration itself when it is written (and answers 500)
    assert_clean_failure(
        method(agent, "amt-bad", type="jwt", config={"JWTValidationPubKeys": ["nope"]}), "Invalid Auth Method"
    )
    assert raw_method(agent, "amt-bad") is None

    name = f"amt-type-{uuid.uuid4().hex[:6]}"
    assert method(agent, name, type="jwt", config=jwt_config(pem)).result["changed"] is True
    for check in (True, False):
        assert_clean_failure(method(agent, name, check=check, type="oidc"), "a type cannot change")
    method(agent, name, state="absent")


def test_auth_method_with_a_token_that_may_not_write_acls(acl_agent, pem):
    agent = acl_agent
    reader = limited_token(agent, 'acl = "read"')
    args = {**agent.connection(), "token": reader, "name": "amt-denied", "type": "jwt", "config": jwt_config(pem)}
    assert run_module_direct("auth_method", args, check=True).result["changed"] is True  # reads are allowed
    assert_clean_failure(run_module_direct("auth_method", args), "HTTP 403")
    nobody = limited_token(agent, 'key_prefix "x/" { policy = "read" }')
    for check in (True, False):
        assert_clean_failure(run_module_direct("auth_method", {**args, "token": nobody}, check=check), "HTTP 403")
    assert raw_method(agent, "amt-denied") is None


def test_auth_method_against_a_server_that_is_not_consul(not_consul):
    for check in (True, False):
        run = run_module_direct("auth_method", {**not_consul, "name": "m", "type": "jwt", "config": {}}, check=check)
        assert_clean_failure(run)
        assert run.result.get("changed") is not True
