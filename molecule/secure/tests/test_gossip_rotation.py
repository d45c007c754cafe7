"""Gossip key rotation behind consul_encrypt_rotate: a new key from consul keygen replaces the stored
one, every agent's keyring is moved to it (install, use, remove), and the old key no longer gets in."""

from __future__ import annotations

import base64
import json

from conftest import NODES
from labkit.ansible_runner import ansible_playbook, role_playbook
from labkit.rogue import RogueAgent
from labkit.secure import secret
from labkit.waiting import wait_for

ALIVE = 1


def test_rotation_moves_every_agent_to_a_new_key(api, tmp_path):
    old_key = secret("gossip.key")
    playbook = role_playbook(tmp_path, "consul", "consul_servers")
    result = ansible_playbook(playbook, "-e", "consul_encrypt_rotate=true")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    new_key = secret("gossip.key")
    assert new_key != old_key and len(base64.b64decode(new_key)) == 32
    for pool in api.get("/v1/operator/keyring"):
        assert (pool["Keys"], pool["PrimaryKeys"]) == ({new_key: 3}, {new_key: 3}), pool["WAN"]
    for name, node in NODES.items():
        assert json.loads(node.check("cat /etc/consul.d/consul.json"))["encrypt"] == new_key, name
    wait_for(
        lambda: sorted((m["Name"], m["Status"]) for m in api.get("/v1/agent/members")) == [(n, ALIVE) for n in NODES],
        30,
        0.5,
        what="every agent alive with the new key",
    )
    with RogueAgent("rogue-oldkey", tmp_path, encrypt=old_key) as rogue:
        response = rogue.join()
        assert response.status_code == 500
        assert "No installed keys could decrypt the message" in response.text
    with RogueAgent("rogue-newkey", tmp_path, encrypt=new_key) as rogue:
        assert rogue.join().status_code == 200
