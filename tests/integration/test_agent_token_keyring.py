# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""agent_token and keyring against real agents: set, no-op, check mode, diff, rotation, bad input."""

import base64
import json
import os

import pytest
from conftest import assert_clean_failure, limited_token, run_module_direct
from consul_agent import ConsulAgent


def gossip_key(seed: int) -> str:
    return base64.b64encode(bytes([seed]) * 32).decode()


# --- agent_token --------------------------------------------------------------------------


def tokens_file(agent) -> str:
    return os.path.join(agent.workdir, "data", "acl-tokens.json")


def persisted(agent) -> dict:
    try:
        with open(tokens_file(agent)) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}


def agent_token(agent, tokens, check=False, **extra):
    return run_module_direct("agent_token", {**agent.connection(), "tokens": tokens, **extra}, check=check, diff=True)


@pytest.mark.parametrize("name", ["acl_agent", "acl_tls_agent"])
def test_agent_token_set_and_held(request, name):
    agent = request.getfixturevalue(name)
    secret = limited_token(agent, f'node "{agent.node_name}" {{ policy = "write" }}')
    path = tokens_file(agent)
    checked = agent_token(agent, {"dns": secret}, check=True, tokens_file=path)
    assert (checked.result["changed"], checked.result["set"]) == (True, ["dns"])
    assert persisted(agent).get("dns") != secret
    assert secret not in checked.stdout + checked.stderr

    done = agent_token(agent, {"dns": secret}, tokens_file=path)
    assert done.result["set"] == ["dns"] and persisted(agent)["dns"] == secret
    assert done.result["diff"]["after"] == {"dns": "(the given token)"}

    again = agent_token(agent, {"dns": secret}, tokens_file=path)
    assert (again.result["changed"], again.result["set"]) == (False, [])
    # without the file the module cannot know, and says it set the token
    assert agent_token(agent, {"dns": secret}).result["changed"] is True
    # an empty token clears it
    cleared = agent_token(agent, {"dns": ""}, tokens_file=path)
    assert cleared.result["set"] == ["dns"] and not persisted(agent).get("dns")
    assert agent_token(agent, {"dns": ""}, tokens_file=path).result["changed"] is False


def test_agent_token_bad_input(acl_agent):
    path = tokens_file(acl_agent)
    before = persisted(acl_agent)
    for check in (True, False):
        unknown = agent_token(
            acl_agent, {"agent": "3a1f6f3e-8c1b-4d5e-9f00-000000000000"}, check=check, tokens_file=path
        )
        assert_clean_failure(unknown, "tokens.agent is not a token Consul", "Nothing was changed")
        wrong = agent_token(acl_agent, {"master": "x"}, check=check)
        assert_clean_failure(wrong, "unknown agent token type(s) master")
    assert persisted(acl_agent) == before
    nobody = limited_token(acl_agent, 'key_prefix "x/" { policy = "read" }')
    denied = run_module_direct(
        "agent_token", {**acl_agent.connection(), "token": nobody, "tokens": {"dns": nobody}, "tokens_file": path}
    )
    assert_clean_failure(denied, "HTTP 403")
    assert persisted(acl_agent) == before


# --- keyring ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["acl", "acl_tls"])
def encrypted_agent(request):
    """Gossip encryption on, ACLs on; over HTTP and over HTTPS."""
    with ConsulAgent(request.param, encrypt=gossip_key(1)) as running:
        yield running


def raw_keyring(agent) -> tuple:
    pools = agent.http("GET", "/v1/operator/keyring")
    keys = set().union(*(pool["Keys"] for pool in pools))
    primaries = set().union(*(pool["PrimaryKeys"] for pool in pools))
    return keys, primaries


def keyring(agent, key, check=False, **options):
    return run_module_direct("keyring", {**agent.connection(), "key": key, **options}, check=check, diff=True)


def test_keyring_install_rotate_remove(encrypted_agent):
    agent, old, new = encrypted_agent, gossip_key(1), gossip_key(2)
    checked = keyring(agent, new, check=True)
    assert checked.result["changed"] is True and checked.result["actions"][0].startswith("install sha256:")
    assert raw_keyring(agent) == ({old}, {old})

    assert keyring(agent, new).result["changed"] is True
    assert raw_keyring(agent) == ({old, new}, {old})
    assert keyring(agent, new).result["changed"] is False

    rotation = keyring(agent, new, check=True, state="primary", exclusive=True)
    assert [a.split()[0] for a in rotation.result["actions"]] == ["use", "remove"]
    assert raw_keyring(agent) == ({old, new}, {old})
    assert rotation.result["diff"]["before"]["installed_keys"] != rotation.result["diff"]["after"]["installed_keys"]
    assert old not in rotation.stdout and new not in rotation.stdout

    rotated = keyring(agent, new, state="primary", exclusive=True)
    assert rotated.result["changed"] is True and raw_keyring(agent) == ({new}, {new})
    assert keyring(agent, new, state="primary", exclusive=True).result["changed"] is False

    for check in (True, False):
        assert_clean_failure(keyring(agent, new, check=check, state="absent"), "is the primary key")
    assert keyring(agent, old, state="absent").result["changed"] is False
    assert raw_keyring(agent) == ({new}, {new})


def test_keyring_bad_input(encrypted_agent, acl_agent):
    for check in (True, False):
        assert_clean_failure(keyring(encrypted_agent, "not-a-key", check=check), "is not a gossip key")
        assert_clean_failure(keyring(encrypted_agent, gossip_key(3), check=check, exclusive=True), "state=primary")
    assert_clean_failure(keyring(acl_agent, gossip_key(3)), "Gossip encryption is off")
    nobody = limited_token(encrypted_agent, 'key_prefix "x/" { policy = "read" }')
    denied = run_module_direct("keyring", {**encrypted_agent.connection(), "token": nobody, "key": gossip_key(3)})
    assert_clean_failure(denied, "HTTP 403")
