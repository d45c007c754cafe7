# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: acl_policy
short_description: Create, update and delete Consul ACL policies
version_added: 0.1.0
description:
  - Makes the ACL policy O(name) exist with the given rules, or removes it.
  - Options left unset are not managed; an existing policy keeps their current value.
  - The options follow community.general's C(consul_policy), so that a task can switch over by
    changing the module name and the connection options (see the connection doc fragment).
author: dockyard.discovery contributors (@dockyard)
options:
  name:
    description: The policy's name, which identifies it.
    type: str
    required: true
  state:
    description: Whether the policy exists.
    type: str
    choices: [present, absent]
    default: present
  rules:
    description:
      - The policy's rules in HCL or JSON, compared with the stored ones character for character.
      - Required when the policy does not exist yet.
      - Consul parses the rules only when they are written, so check mode cannot report a syntax
        error in them; the real run fails with Consul's parser message and changes nothing.
    type: str
  description:
    description: The policy's description.
    type: str
  valid_datacenters:
    description: Datacenters the policy applies in; V([]) means all of them.
    type: list
    elements: str
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
  - Needs a token with C(acl = "write") (the O(token) option or E(CONSUL_HTTP_TOKEN)).
seealso:
  - module: dockyard.discovery.acl_token
  - module: dockyard.discovery.acl_role
"""

EXAMPLES = r"""
- name: Let the web servers read their configuration
  dockyard.discovery.acl_policy:
    name: web-config-read
    description: Reads of app/web/ in the key/value store
    rules: |
      key_prefix "app/web/" {
        policy = "read"
      }
    token: "{{ consul_management_token }}"

- name: Remove a policy that is no longer used
  dockyard.discovery.acl_policy:
    name: legacy-policy
    state: absent
    token: "{{ consul_management_token }}"
"""

RETURN = r"""
operation:
  description: What was done, or would be done in check mode.
  returned: always
  type: str
  choices: [create, update, remove]
  sample: update
policy:
  description: The policy after the task; V(null) when it does not exist.
  returned: always
  type: dict
  contains:
    id:
      description: The policy's ID (V(null) for a policy created in check mode).
      type: str
    name:
      description: Its name.
      type: str
    description:
      description: Its description.
      type: str
    rules:
      description: Its rules.
      type: str
    valid_datacenters:
      description: Datacenters it applies in; V([]) means all.
      type: list
      elements: str
  sample:
    id: 0b3c0ac9-7d27-6fd5-8a18-6b5c0c3ed0f5
    name: web-config-read
    description: Reads of app/web/ in the key/value store
    rules: 'key_prefix "app/web/" { policy = "read" }'
    valid_datacenters: []
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_declarative import plan, result
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulInvalidArgument
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule


def _normalised(policy: dict | None) -> dict | None:
    if policy is None:
        return None
    return {
        "name": policy["Name"],
        "description": policy.get("Description") or "",
        "rules": policy.get("Rules") or "",
        "valid_datacenters": sorted(policy.get("Datacenters") or []),
    }


def apply_policy(consul: ConsulModule) -> dict:
    params, client = consul.params, consul.client
    name = params["name"]
    if not name or not name.strip():
        raise ConsulInvalidArgument("name must be a non-empty policy name.")
    current_raw = client.acl_policy(name=name)
    current = _normalised(current_raw)
    wanted = None
    if params["state"] == "present":
        datacenters = params["valid_datacenters"]
        wanted = {
            "name": name,
            "description": params["description"],
            "rules": params["rules"],
            "valid_datacenters": sorted(datacenters) if datacenters is not None else None,
        }
        if current is None and params["rules"] is None:
            raise ConsulInvalidArgument(f"policy {name!r} does not exist yet: give its rules.")
    decided = plan(current, wanted)
    policy_id = current_raw["ID"] if current_raw else None
    after = decided.after
    if decided.changed and not consul.check_mode:
        if decided.operation == "remove":
            client.acl_policy_delete(policy_id)
        else:
            body = {
                "Name": name,
                "Description": after.get("description") or "",
                "Rules": after["rules"],
                "Datacenters": after.get("valid_datacenters") or [],
            }
            written = client.acl_policy_write(body, policy_id=policy_id)
            policy_id = written["ID"]
            after = _normalised(written)
    policy = None if after is None else {"id": policy_id, "description": "", "valid_datacenters": [], **after}
    return result(decided, consul.diff_mode, policy=policy)


def main():
    consul = ConsulModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "rules": {"type": "str"},
            "description": {"type": "str"},
            "valid_datacenters": {"type": "list", "elements": "str"},
        },
        supports_check_mode=True,
    )
    consul.run(apply_policy)


if __name__ == "__main__":
    main()
