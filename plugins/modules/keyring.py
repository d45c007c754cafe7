# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: keyring
short_description: Install, use and remove Consul gossip encryption keys
version_added: 0.1.0
description:
  - Manages the gossip keyring of every agent in the datacenter (LAN) and of the servers (WAN)
    through C(/v1/operator/keyring), the API of C(consul keyring).
  - O(state=present) installs O(key) on every agent. O(state=primary) installs it and makes it the
    key agents encrypt with. O(state=absent) removes it.
  - A key rotation is O(state=primary) with O(exclusive=true); the new key is installed everywhere,
    made primary, and only then the old keys are removed, so that no agent loses contact.
  - A key counts as installed or primary only when every agent of every pool reports it.
  - Keys are secrets; results and diffs name them by fingerprint (the first 16 hex digits of their SHA-256).
author: dockyard.discovery contributors (@dockyard)
options:
  key:
    description: The gossip key, 32 bytes in base64 as C(consul keygen) prints it.
    type: str
    required: true
  state:
    description: What the key should be.
    type: str
    choices: [present, primary, absent]
    default: present
  exclusive:
    description: With O(state=primary), remove every other key once O(key) is primary everywhere.
    type: bool
    default: false
extends_documentation_fragment:
  - dockyard.discovery.connection
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
  action_group:
    description: Part of the action group C(dockyard.discovery.consul), for O(ignore:module_defaults).
    support: full
    membership: [dockyard.discovery.consul]
notes:
  - Needs a token with C(keyring = "write"), and gossip encryption on (C(encrypt) in the agents' configuration).
"""

EXAMPLES = r"""
- name: Rotate the gossip key
  dockyard.discovery.keyring:
    key: "{{ lookup('ansible.builtin.file', 'secrets/gossip-key') }}"
    state: primary
    exclusive: true
    token: "{{ consul_management_token }}"
  run_once: true
"""

RETURN = r"""
actions:
  description: What was done in order, or would be done in check mode.
  returned: always
  type: list
  elements: str
  sample: ["install sha256:6c1f0e9b2a3d4c5e", "use sha256:6c1f0e9b2a3d4c5e", "remove sha256:0f9e8d7c6b5a4e3d"]
installed_keys:
  description:
    - Fingerprints of the keys installed on every agent after the task.
    - Not named C(keys), which Jinja's dot notation would read as the dict method.
  returned: always
  type: list
  elements: str
  sample: ["sha256:6c1f0e9b2a3d4c5e"]
primary:
  description: Fingerprint of the key that is primary on every agent after the task, if one is.
  returned: always
  type: str
  sample: "sha256:6c1f0e9b2a3d4c5e"
"""

import base64
import binascii

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_agent_admin import key_fingerprint
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulInvalidArgument
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule


def check_key(key: str) -> str:
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) not in (16, 24, 32):
        raise ConsulInvalidArgument("key is not a gossip key: give 32 bytes in base64, as `consul keygen` prints.")
    return key


def summary(pools: list) -> tuple:
    """(keys every agent of every pool holds, every key any agent holds, the key primary everywhere or None)."""
    everywhere, anywhere, primary = None, set(), None
    for pool in pools:
        nodes = pool.get("NumNodes") or 0
        complete = {key for key, count in (pool.get("Keys") or {}).items() if count >= nodes}
        anywhere |= set(pool.get("Keys") or {})
        everywhere = complete if everywhere is None else everywhere & complete
        primaries = {key for key, count in (pool.get("PrimaryKeys") or {}).items() if count >= nodes}
        primary = primaries if primary is None else primary & primaries
    single_primary = next(iter(primary)) if primary and len(primary) == 1 else None
    return everywhere or set(), anywhere, single_primary


def apply_keyring(consul: ConsulModule) -> dict:
    params, client = consul.params, consul.client
    key = check_key(params["key"])
    if params["exclusive"] and params["state"] != "primary":
        raise ConsulInvalidArgument("exclusive=true goes with state=primary.")
    installed, anywhere, primary = summary(client.keyring())

    steps = []  # (method, key)
    if params["state"] in ("present", "primary") and key not in installed:
        steps.append(("post", key))
    if params["state"] == "primary" and primary != key:
        steps.append(("put", key))
    if params["state"] == "primary" and params["exclusive"]:
        steps.extend(("delete", other) for other in sorted(anywhere - {key}))
    if params["state"] == "absent" and key in anywhere:
        if primary == key:
            raise ConsulInvalidArgument(
                f"key {key_fingerprint(key)} is the primary key: make another key primary first. Nothing was changed."
            )
        steps.append(("delete", key))

    if not consul.check_mode:
        for method, step_key in steps:
            client.keyring_call(method, step_key)
    verbs = {"post": "install", "put": "use", "delete": "remove"}
    after_keys, after_primary = set(installed), primary
    for method, step_key in steps:
        if method == "post":
            after_keys.add(step_key)
        elif method == "put":
            after_primary = step_key
        else:
            after_keys.discard(step_key)
    outcome = {
        "changed": bool(steps),
        "actions": [f"{verbs[method]} {key_fingerprint(step_key)}" for method, step_key in steps],
        "installed_keys": sorted(key_fingerprint(k) for k in after_keys),
        "primary": key_fingerprint(after_primary) if after_primary else None,
    }
    if consul.diff_mode:
        outcome["diff"] = {
            "before": {
                "installed_keys": sorted(key_fingerprint(k) for k in anywhere),
                "primary": key_fingerprint(primary) if primary else None,
            },
            "after": {"installed_keys": outcome["installed_keys"], "primary": outcome["primary"]},
        }
    return outcome


def main():
    consul = ConsulModule(
        argument_spec={
            "key": {"type": "str", "required": True, "no_log": True},
            "state": {"type": "str", "choices": ["present", "primary", "absent"], "default": "present"},
            "exclusive": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    consul.run(apply_keyring)


if __name__ == "__main__":
    main()
