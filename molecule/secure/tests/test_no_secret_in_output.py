"""Another converge, at -vvv: it changes nothing, its whole output holds no token, gossip key or
private key, and the secrets are the same afterwards (no key or token is ever replaced silently)."""

from __future__ import annotations

import base64
import json

import pytest
from conftest import NODES
from cryptography.hazmat.primitives import serialization
from labkit.ansible_runner import ansible_playbook, recap
from labkit.secure import SECRETS, TLS, Api, management_token, sha256

CENSORED = "the output has been hidden due to the fact that 'no_log: true' was specified for this result"


def pem_body(pem: str) -> list[str]:
    """The base64 lines of a PEM document, without its BEGIN/END lines."""
    return [line for line in pem.split("\n") if line and not line.startswith("-----")]


def private_key_bodies() -> list[str]:
    """The base64 lines of every private key the role generated, as they would show in a log.

    The last line of an EC key's PEM encodes only its public point, which is also a substring of
    the public key's PEM (certificate details print it): that line is public and left out.
    """
    lines = []
    for key in sorted(TLS.glob("*key.pem")):
        pem = key.read_bytes()
        public = serialization.load_pem_private_key(pem, password=None).public_key()
        public_pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        public_body = "".join(pem_body(public_pem.decode()))
        private = [line for line in pem_body(pem.decode()) if line not in public_body]
        assert len(private) >= 2, key  # the private scalar is always checked
        lines += private
    return lines


def snapshot(api: Api) -> dict:
    """Digests of every secret, on the controller, in Consul and on the nodes."""
    tokens = {t["AccessorID"]: t["SecretID"] for t in api.get("/v1/acl/tokens")}
    keyring = sorted(
        (pool["WAN"], sorted(pool["Keys"]), sorted(pool["PrimaryKeys"])) for pool in api.get("/v1/operator/keyring")
    )
    nodes = {}
    for name, node in NODES.items():
        registrator = json.loads(node.docker("inspect", "registrator").stdout)[0]
        nodes[name] = {
            "acl-tokens.json": sha256(node.check("cat /var/lib/consul/acl-tokens.json")),
            "consul.json": sha256(node.check("cat /etc/consul.d/consul.json")),
            "registrator env": sha256("\n".join(sorted(registrator["Config"]["Env"]))),
        }
    nodes["secure1"]["consul-template.json"] = sha256(
        NODES["secure1"].check("cat /etc/consul-template.d/consul-template.json")
    )
    files = {
        str(path.relative_to(SECRETS)): sha256(path.read_bytes())
        for path in sorted(SECRETS.rglob("*"))
        if path.is_file()
    }
    return {"tokens": sha256(json.dumps(tokens, sort_keys=True)), "keyring": keyring, "nodes": nodes, "files": files}


@pytest.fixture(scope="module")
def verbose_converge(api):
    before = snapshot(api)
    # JSON results: one line each, so a secret cannot hide behind YAML's line folding. The site
    # playbook on the inventory's (pinned) releases, which test_0_upgrade moved the lab to.
    result = ansible_playbook(
        "dockyard.discovery.site", "-vvv", env={"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}, timeout=900
    )
    return before, result, result.stdout + result.stderr


def test_the_verbose_converge_changes_nothing(verbose_converge):
    _before, result, output = verbose_converge
    assert result.returncode == 0, output[-3000:]
    counts = recap(output)
    assert set(counts) == set(NODES)
    assert all(counts[host] == (0, 0, 0) for host in counts), counts


def test_no_secret_value_appears_in_the_verbose_output(verbose_converge, api):
    _before, _result, output = verbose_converge
    tokens = {
        t["Description"]: api.get(f"/v1/acl/token/{t['AccessorID']}")["SecretID"] for t in api.get("/v1/acl/tokens")
    }
    tokens.pop("Anonymous Token")
    gossip_key = (SECRETS / "gossip.key").read_text().strip()
    assert len(base64.b64decode(gossip_key)) == 32
    assert management_token() in tokens.values()
    # Every agent, DNS and consumer token is in the list, so an omission would not go unnoticed.
    assert len(tokens) >= 3 * len(NODES) + 2, sorted(tokens)
    secrets = {
        "gossip key": gossip_key,
        **tokens,
        **{f"private key line {i}": line for i, line in enumerate(private_key_bodies())},
    }
    leaked = sorted(name for name, value in secrets.items() if value in output)
    assert leaked == []
    # The output is the real thing: verbose, and with the secret-handling tasks censored, not skipped.
    assert "<secure1> ESTABLISH" in output and len(output) > 200_000, len(output)
    assert output.count(CENSORED) >= 20


def test_secrets_are_the_same_after_another_converge(verbose_converge, api):
    before, _result, _output = verbose_converge
    assert snapshot(api) == before
