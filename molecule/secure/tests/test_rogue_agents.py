"""Strangers at the door: agents the lab did not configure try to join gossip without the key, to
talk RPC with a certificate from another CA, and to act as a server with a client certificate from
the lab's own CA. Each refusal is checked for its reason, next to a control that gets in."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time

import pytest
from labkit.rogue import CONSUL, GATEWAY, SERF, SERVERS, RogueAgent, consul_cli, lab_member, server_journals
from labkit.secure import CA, TLS, management_token, secret
from labkit.waiting import wait_for

RPC_TLS = b"\x03"  # Consul's RPC type byte for "TLS follows"
SERVER_NAME = "server.dc1.consul"


def gossip(**extra):
    return {"retry_join": [], **extra}


def tls_client(cert: str, key: str, **extra) -> dict:
    return {
        "tls": {
            "defaults": {"ca_file": str(CA), "cert_file": cert, "key_file": key, "verify_outgoing": True},
            "internal_rpc": {"verify_server_hostname": True},
        },
        **extra,
    }


ACL = {"acl": {"enabled": True, "default_policy": "deny", "enable_token_persistence": True}}


def test_gossip_join_without_the_key_fails(tmp_path):
    with RogueAgent("rogue-nokey", tmp_path, **gossip()) as rogue:
        response = rogue.join()
        print(f"join without a key -> {response.status_code} {' '.join(response.text.split())}")
        assert response.status_code == 500
        assert "Remote state is encrypted and encryption is not configured" in response.text
        assert lab_member("rogue-nokey") is None


def test_gossip_join_with_another_key_fails(nodes, tmp_path):
    other_key = subprocess.run([CONSUL, "keygen"], capture_output=True, text=True, check=True).stdout.strip()
    assert other_key != secret("gossip.key")
    start = time.time()
    with RogueAgent("rogue-wrongkey", tmp_path, **gossip(encrypt=other_key)) as rogue:
        response = rogue.join()
        print(f"join with another key -> {response.status_code} {' '.join(response.text.split())}")
        assert response.status_code == 500
        assert "No installed keys could decrypt the message" in response.text
        assert lab_member("rogue-wrongkey") is None
    # journald may take a moment to take the servers' lines in.
    expected = f"memberlist: failed to receive: No installed keys could decrypt the message from={GATEWAY}:"
    wait_for(lambda: expected in server_journals(nodes, start), 10, 0.5, what="the servers refusing the key")


def test_gossip_join_with_the_key_works(tmp_path):
    with RogueAgent("rogue-withkey", tmp_path, **gossip(encrypt=secret("gossip.key"))) as rogue:
        response = rogue.join()
        assert response.status_code == 200, response.text
        wait_for(lambda: (lab_member("rogue-withkey") or {}).get("Status") == 1, 10, 0.2, what="rogue-withkey alive")
    assert lab_member("rogue-withkey") is None


@pytest.fixture(scope="module")
def foreign_client_cert(tmp_path_factory):
    """A client certificate from a CA the lab does not trust."""
    workdir = tmp_path_factory.mktemp("foreign-ca")
    consul_cli("tls", "ca", "create", cwd=workdir)
    consul_cli("tls", "cert", "create", "-client", "-dc", "dc1", cwd=workdir)
    return str(workdir / "dc1-client-consul-0.pem"), str(workdir / "dc1-client-consul-0-key.pem")


@pytest.fixture(scope="module")
def lab_client_cert(tmp_path_factory):
    """A client certificate signed by the lab's own CA: client.dc1.consul, not server.dc1.consul."""
    workdir = tmp_path_factory.mktemp("lab-client-cert")
    consul_cli(
        "tls", "cert", "create", "-client", "-dc", "dc1", "-ca", str(CA), "-key", str(TLS / "ca-key.pem"), cwd=workdir
    )
    return str(workdir / "dc1-client-consul-0.pem"), str(workdir / "dc1-client-consul-0-key.pem")


def in_gossip(name: str) -> bool:
    """The lab's servers see the agent alive: gossip (with the key) works, RPC is another matter."""
    return (lab_member(name) or {}).get("Status") == 1


def test_rpc_client_with_an_untrusted_certificate_is_refused(nodes, tmp_path, foreign_client_cert):
    start = time.time()
    config = {**gossip(encrypt=secret("gossip.key"), retry_join=SERF), **tls_client(*foreign_client_cert), **ACL}
    with RogueAgent("rogue-foreign-cert", tmp_path, **config) as rogue:
        wait_for(lambda: in_gossip(rogue.name), 20, 0.5, what="the rogue in gossip")
        # The agent retries a failed RPC on every server for up to its rpc_hold_timeout before it
        # answers, which on a loaded machine can take longer than the default 15 s.
        response = rogue.http("GET", "/v1/catalog/services", management_token(), timeout=90)
        print(f"RPC through a client with a foreign certificate -> {response.status_code} {response.text.strip()}")
        assert response.status_code in (403, 500)
        assert "rpc error" in response.text
        wait_for(
            lambda: "x509: certificate signed by unknown authority" in server_journals(nodes, start),
            10,
            0.5,
            what="the servers refusing the certificate",
        )
    journals = server_journals(nodes, start)
    refused = [line for line in journals.split("\n") if f"from={GATEWAY}:" in line and "unknown authority" in line]
    print(f"server log: {refused[0] if refused else journals[-500:]}")
    assert refused


def test_rpc_client_with_an_auto_encrypt_certificate_works(api, tmp_path):
    """The control, set up like the consul role sets up a client: CA, auto_encrypt, its own agent token."""
    name = "rogue-auto-encrypt"
    body = {"Description": f"{name} (verifier)", "NodeIdentities": [{"NodeName": name, "Datacenter": "dc1"}]}
    created = api.call("PUT", "/v1/acl/token", management_token(), json=body)
    assert created.status_code == 200, created.text
    config = {
        **gossip(encrypt=secret("gossip.key"), retry_join=SERF),
        "tls": {
            "defaults": {"ca_file": str(CA), "verify_outgoing": True},
            "internal_rpc": {"verify_server_hostname": True},
        },
        "auto_encrypt": {"tls": True},
        **ACL,
    }
    try:
        rogue = RogueAgent(name, tmp_path, **config)
        rogue.seed_token(created.json()["SecretID"])
        with rogue:
            wait_for(lambda: in_gossip(rogue.name), 20, 0.5, what="the client in gossip")
            response = rogue.http("GET", "/v1/catalog/services", management_token())
            assert response.status_code == 200, response.text
            assert "consul" in response.json()
    finally:
        api.call("DELETE", f"/v1/acl/token/{created.json()['AccessorID']}", management_token())


def rpc_tls_probe(address: str, port: int = 8300) -> ssl.SSLSocket:
    """Open Consul's RPC port the way a server does, checking the peer is server.dc1.consul."""
    context = ssl.create_default_context(cafile=str(CA))
    context.load_cert_chain(str(TLS / "secure1.pem"), str(TLS / "secure1-key.pem"))
    raw = socket.create_connection((address, port), timeout=5)
    raw.sendall(RPC_TLS)
    return context.wrap_socket(raw, server_hostname=SERVER_NAME)


@pytest.mark.parametrize("address", SERVERS)
def test_real_servers_prove_they_are_servers(address):
    with rpc_tls_probe(address) as conn:
        names = [value for kind, value in conn.getpeercert()["subjectAltName"] if kind == "DNS"]
        assert SERVER_NAME in names


def test_a_client_certificate_cannot_act_as_a_server(nodes, api, tmp_path, lab_client_cert):
    start = time.time()
    cert, key = lab_client_cert
    config = {
        **gossip(encrypt=secret("gossip.key"), retry_join=SERF),
        "server": True,
        "tls": {
            "defaults": {"ca_file": str(CA), "cert_file": cert, "key_file": key, "verify_outgoing": True},
            "internal_rpc": {"verify_incoming": True, "verify_server_hostname": True},
        },
        **ACL,
    }
    with RogueAgent("rogue-server", tmp_path, **config) as rogue:
        wait_for(lambda: in_gossip(rogue.name), 20, 0.5, what="the rogue server in gossip")
        with pytest.raises(ssl.SSLCertVerificationError) as mismatch:
            rpc_tls_probe(GATEWAY, rogue.server_port)
        assert "Hostname mismatch, certificate is not valid for 'server.dc1.consul'" in str(mismatch.value)
        expected = "x509: certificate is valid for client.dc1.consul, localhost, not server.dc1.consul"
        wait_for(lambda: expected in server_journals(nodes, start), 20, 0.5, what="the servers refusing the rogue")
        refused = [line for line in server_journals(nodes, start).split("\n") if expected in line]
        print(f"server log: {refused[0]}")
        raft = {s["Node"]: s for s in api.get("/v1/operator/raft/configuration")["Servers"]}
        assert sorted(n for n, s in raft.items() if s["Voter"]) == sorted(nodes)
        assert "rogue-server" not in raft or not raft["rogue-server"]["Voter"]
        leader = rogue.http("GET", "/v1/status/leader")
        assert (leader.status_code, leader.json()) == (200, "")
    assert sorted(s["Node"] for s in api.get("/v1/operator/raft/configuration")["Servers"]) == sorted(nodes)
