# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: acl_token
short_description: Create, update and delete Consul ACL tokens with a stable AccessorID
version_added: 0.1.0
description:
  - Makes the ACL token with AccessorID O(accessor_id) exist with the given links, or removes it.
  - The AccessorID identifies the token, so the same task finds the same token on every run. Give it
    explicitly, or give O(name) and the module derives it (the same UUID as C({{ name | to_uuid }})).
  - An existing token keeps its secret; its description, policies, roles and identities are brought
    in line. Options left unset are not managed.
  - Policies and roles are looked up before anything is written, in check mode too; an unknown one
    fails the task and changes nothing.
  - The secret is returned only with O(return_secret=true). Use C(no_log) on such a task.
  - The options follow community.general's C(consul_token) where they exist.
author: dockyard.discovery contributors (@dockyard)
options:
  accessor_id:
    description: The token's AccessorID (a UUID). One of O(accessor_id) and O(name) is required.
    type: str
  name:
    description:
      - A name the AccessorID is derived from, so that a playbook needs no UUID of its own.
      - Include something unique to the datacenter, for example V(dc1/web-deploy).
    type: str
  state:
    description: Whether the token exists.
    type: str
    choices: [present, absent]
    default: present
  secret_id:
    description:
      - The SecretID of a new token; Consul generates one when not set.
      - The secret of an existing token cannot change; a different value fails the task.
    type: str
  description:
    description: The token's description.
    type: str
  policies:
    description: Policies linked to the token, each by name or ID.
    type: list
    elements: dict
    suboptions:
      name:
        description: The policy's name.
        type: str
      id:
        description: The policy's ID.
        type: str
  roles:
    description: Roles linked to the token, each by name or ID.
    type: list
    elements: dict
    suboptions:
      name:
        description: The role's name.
        type: str
      id:
        description: The role's ID.
        type: str
  service_identities:
    description: Service identities of the token.
    type: list
    elements: dict
    suboptions:
      service_name:
        description: The service's name.
        type: str
        required: true
      datacenters:
        description: Datacenters the identity applies in; all when not set.
        type: list
        elements: str
  node_identities:
    description: Node identities of the token.
    type: list
    elements: dict
    suboptions:
      node_name:
        description: The node's name.
        type: str
        required: true
      datacenter:
        description: The node's datacenter.
        type: str
        required: true
  local:
    description: Whether the token is local to its datacenter (not replicated). Fixed at creation.
    type: bool
  expiration_ttl:
    description: Lifetime of a new token, for example V(24h); it cannot change afterwards.
    type: str
  return_secret:
    description: Return the token's SecretID as RV(token.secret_id).
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
    details: The diff never shows the SecretID.
  platform:
    platforms: posix
  action_group:
    description: Part of the action group C(dockyard.discovery.consul), for O(ignore:module_defaults).
    support: full
    membership: [dockyard.discovery.consul]
notes:
  - Needs a token with C(acl = "write").
seealso:
  - module: dockyard.discovery.acl_policy
  - module: dockyard.discovery.acl_role
  - module: dockyard.discovery.agent_token
"""

EXAMPLES = r"""
- name: A token for the deploy job, found again on every run by its name
  dockyard.discovery.acl_token:
    name: dc1/deploy
    description: Deploy job
    policies:
      - name: web-config-read
    token: "{{ consul_management_token }}"
    return_secret: true
  register: deploy_token
  no_log: true

- name: A token for one node's agent
  dockyard.discovery.acl_token:
    name: dc1/agent-node1
    node_identities:
      - node_name: node1
        datacenter: dc1
    token: "{{ consul_management_token }}"

- name: Revoke the deploy token
  dockyard.discovery.acl_token:
    name: dc1/deploy
    state: absent
    token: "{{ consul_management_token }}"
"""

RETURN = r"""
operation:
  description: What was done, or would be done in check mode.
  returned: always
  type: str
  choices: [create, update, remove]
  sample: create
token:
  description: The token after the task; V(null) when it does not exist.
  returned: always
  type: dict
  contains:
    accessor_id:
      description: The AccessorID.
      type: str
    secret_id:
      description: The SecretID; only with O(return_secret=true), and V(null) for a token created in check mode.
      type: str
    description:
      description: The description.
      type: str
    policies:
      description: Names of the linked policies, sorted.
      type: list
      elements: str
    roles:
      description: Names of the linked roles, sorted.
      type: list
      elements: str
    service_identities:
      description: The service identities.
      type: list
      elements: dict
    node_identities:
      description: The node identities.
      type: list
      elements: dict
    local:
      description: Whether the token is local.
      type: bool
  sample:
    accessor_id: 7e5f3c2a-91d4-5b1e-8f6a-3c2d1b0a9e8f
    description: Deploy job
    policies: [web-config-read]
    roles: []
    service_identities: []
    node_identities: []
    local: false
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_acl import (
    accessor_for,
    check_uuid,
    resolve_links,
)
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_declarative import plan, result
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulInvalidArgument
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_tokens import (
    node_identities,
    normalised,
    service_identities,
)


def _body(accessor_id: str, after: dict, policies: list, roles: list) -> dict:
    return {
        "AccessorID": accessor_id,
        "Description": after.get("description") or "",
        "Policies": [{"ID": link["ID"]} for link in policies],
        "Roles": [{"ID": link["ID"]} for link in roles],
        "ServiceIdentities": [
            {"ServiceName": i["service_name"], **({"Datacenters": i["datacenters"]} if i["datacenters"] else {})}
            for i in after.get("service_identities") or []
        ],
        "NodeIdentities": [
            {"NodeName": i["node_name"], "Datacenter": i["datacenter"]} for i in after.get("node_identities") or []
        ],
        "Local": bool(after.get("local")),
    }


def _current_links(token: dict | None, field: str) -> list:
    return [{"ID": link["ID"], "Name": link["Name"]} for link in (token or {}).get(field) or []]


def apply_token(consul: ConsulModule) -> dict:
    params, client = consul.params, consul.client
    accessor_id = check_uuid("accessor_id", params["accessor_id"]) if params["accessor_id"] else None
    if params["name"] is not None:
        derived = accessor_for(params["name"])
        if accessor_id and accessor_id != derived:
            raise ConsulInvalidArgument(
                f"accessor_id {accessor_id} is not the one derived from name {params['name']!r} ({derived}); give one of them."
            )
        accessor_id = derived
    current_raw = client.acl_token(accessor_id)
    current = normalised(current_raw)

    wanted = None
    policies = roles = None
    if params["state"] == "present":
        # Looked up in check mode too: an unknown policy or role fails both runs alike.
        policies = resolve_links(client, "policy", params["policies"])
        roles = resolve_links(client, "role", params["roles"])
        wanted = {
            "description": params["description"],
            "policies": [link["Name"] for link in policies] if policies is not None else None,
            "roles": [link["Name"] for link in roles] if roles is not None else None,
            "service_identities": service_identities(params["service_identities"])
            if params["service_identities"] is not None
            else None,
            "node_identities": node_identities(params["node_identities"])
            if params["node_identities"] is not None
            else None,
            "local": params["local"],
        }
        if current_raw is not None:
            if params["secret_id"] and params["secret_id"] != current_raw.get("SecretID"):
                raise ConsulInvalidArgument(
                    f"token {accessor_id} exists with another SecretID; a token's secret cannot change. "
                    "Remove the token first (state=absent) to give it a new secret."
                )
            if params["local"] is not None and params["local"] != current["local"]:
                raise ConsulInvalidArgument(f"token {accessor_id}: local is fixed when a token is created.")
        if current_raw is None and not any((policies, roles, params["service_identities"], params["node_identities"])):
            raise ConsulInvalidArgument(
                f"token {accessor_id} does not exist yet: give it at least one policy, role or identity."
            )
    decided = plan(current, wanted)

    secret = current_raw.get("SecretID") if current_raw else None
    after = decided.after
    if decided.changed and not consul.check_mode:
        if decided.operation == "remove":
            client.acl_token_delete(accessor_id)
        else:
            body = _body(
                accessor_id,
                after,
                policies if policies is not None else _current_links(current_raw, "Policies"),
                roles if roles is not None else _current_links(current_raw, "Roles"),
            )
            if decided.operation == "create":
                if params["secret_id"]:
                    body["SecretID"] = params["secret_id"]
                if params["expiration_ttl"]:
                    body["ExpirationTTL"] = params["expiration_ttl"]
            else:
                body["SecretID"] = secret
            written = client.acl_token_write(body, exists=decided.operation == "update")
            secret = written.get("SecretID")
            after = normalised(written)
    token = None
    if after is not None:
        token = {"accessor_id": accessor_id, **normalised({}), **after}
        if params["return_secret"]:
            token["secret_id"] = secret
    return result(decided, consul.diff_mode, token=token)


def main():
    link = {"type": "list", "elements": "dict", "options": {"name": {"type": "str"}, "id": {"type": "str"}}}
    consul = ConsulModule(
        argument_spec={
            "accessor_id": {"type": "str"},
            "name": {"type": "str"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "secret_id": {"type": "str", "no_log": True},
            "description": {"type": "str"},
            "policies": link,
            "roles": link,
            "service_identities": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "service_name": {"type": "str", "required": True},
                    "datacenters": {"type": "list", "elements": "str"},
                },
            },
            "node_identities": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "node_name": {"type": "str", "required": True},
                    "datacenter": {"type": "str", "required": True},
                },
            },
            "local": {"type": "bool"},
            "expiration_ttl": {"type": "str"},
            "return_secret": {"type": "bool", "default": False},
        },
        required_one_of=[("accessor_id", "name")],
        supports_check_mode=True,
    )
    consul.run(apply_token)


if __name__ == "__main__":
    main()
