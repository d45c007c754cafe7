# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: acl_role
short_description: Create, update and delete Consul ACL roles
version_added: 0.1.0
description:
  - Makes the ACL role O(name) exist with the given policies and identities, or removes it.
  - Options left unset are not managed; an existing role keeps their current value. An empty
    list (V([])) unlinks everything of that kind.
  - Policies are looked up before anything is written, in check mode too, so that an unknown
    policy fails the task and changes nothing. So are the names of templated policies.
  - The options follow community.general's C(consul_role), so that a task can switch over by
    changing the module name and the connection options (see the connection doc fragment).
author: dockyard.discovery contributors (@dockyard)
options:
  name:
    description: The role's name, which identifies it.
    type: str
    required: true
  state:
    description: Whether the role exists.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: The role's description.
    type: str
  policies:
    description: Policies linked to the role, each by name or ID.
    type: list
    elements: dict
    suboptions:
      name:
        description: The policy's name.
        type: str
      id:
        description: The policy's ID.
        type: str
  service_identities:
    description: Service identities of the role.
    type: list
    elements: dict
    suboptions:
      service_name:
        description: The service's name.
        type: str
        required: true
        aliases: [name]
      datacenters:
        description: Datacenters the identity applies in; all when not set.
        type: list
        elements: str
  node_identities:
    description: Node identities of the role.
    type: list
    elements: dict
    suboptions:
      node_name:
        description: The node's name.
        type: str
        required: true
        aliases: [name]
      datacenter:
        description: The node's datacenter.
        type: str
        required: true
  templated_policies:
    description:
      - Templated policies of the role (Consul 1.17 and later), for example V(builtin/service)
        with the variable C(name).
    type: list
    elements: dict
    suboptions:
      template_name:
        description: The template's name, for example V(builtin/service) or V(builtin/dns).
        type: str
        required: true
      template_variables:
        description:
          - The template's variables. Consul's built-in templates take one, C(name), which
            they require unless the template has no variables (V(builtin/dns)).
        type: dict
      datacenters:
        description: Datacenters the templated policy applies in; all when not set.
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
  - Needs a token with C(acl = "write").
seealso:
  - module: dockyard.discovery.acl_policy
  - module: dockyard.discovery.acl_token
"""

EXAMPLES = r"""
- name: A role for the web servers
  dockyard.discovery.acl_role:
    name: web
    description: Web servers
    policies:
      - name: web-config-read
    service_identities:
      - service_name: web
        datacenters: [dc1]
    token: "{{ consul_management_token }}"

- name: A role for a node's agent, from a built-in template
  dockyard.discovery.acl_role:
    name: node1-agent
    templated_policies:
      - template_name: builtin/node
        template_variables:
          name: node1
    token: "{{ consul_management_token }}"

- name: Remove a role
  dockyard.discovery.acl_role:
    name: legacy-role
    state: absent
    token: "{{ consul_management_token }}"
"""

RETURN = r"""
operation:
  description: What was done, or would be done in check mode; V(null) when nothing changes.
  returned: always
  type: str
  choices: [create, update, remove]
  sample: update
role:
  description: The role after the task; V(null) when it does not exist.
  returned: always
  type: dict
  contains:
    id:
      description: The role's ID (V(null) for a role created in check mode).
      type: str
    name:
      description: Its name.
      type: str
    description:
      description: Its description.
      type: str
    policies:
      description: Names of the linked policies, sorted.
      type: list
      elements: str
    service_identities:
      description: The service identities (C(service_name), C(datacenters)).
      type: list
      elements: dict
    node_identities:
      description: The node identities (C(node_name), C(datacenter)).
      type: list
      elements: dict
    templated_policies:
      description: The templated policies (C(template_name), C(template_variables), C(datacenters)).
      type: list
      elements: dict
  sample:
    id: 42b7f2ce-8e5e-04ae-10fb-e75d1a657f7b
    name: web
    description: Web servers
    policies: [web-config-read]
    service_identities:
      - service_name: web
        datacenters: [dc1]
    node_identities: []
    templated_policies: []
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_acl import resolve_links
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_declarative import plan, result
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulInvalidArgument
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule


def _service_identities(items) -> list:
    return sorted(
        (
            {"service_name": item["service_name"], "datacenters": sorted(item.get("datacenters") or [])}
            for item in items
        ),
        key=lambda identity: identity["service_name"],
    )


def _node_identities(items) -> list:
    return sorted(
        ({"node_name": item["node_name"], "datacenter": item["datacenter"]} for item in items),
        key=lambda identity: (identity["node_name"], identity["datacenter"]),
    )


def _template_variables(variables, position: int | None = None) -> dict:
    """Consul stores the variables of its templates under lower-case keys (Name -> name)."""
    lowered = {}
    for key, value in (variables or {}).items():
        if position is not None and not isinstance(value, str):
            raise ConsulInvalidArgument(
                f"templated_policies[{position}].template_variables.{key} must be a string, got {value!r}."
            )
        lowered[str(key).lower()] = value
    return dict(sorted(lowered.items()))


def _templated_policies(items, check: bool = False) -> list:
    return sorted(
        (
            {
                "template_name": item["template_name"],
                "template_variables": _template_variables(item.get("template_variables"), position if check else None),
                "datacenters": sorted(item.get("datacenters") or []),
            }
            for position, item in enumerate(items)
        ),
        key=lambda template: (template["template_name"], sorted(template["template_variables"].items())),
    )


def normalised(role: dict | None) -> dict | None:
    """The managed fields of a role as Consul returns it, in the module's terms."""
    if role is None:
        return None
    return {
        "name": role["Name"],
        "description": role.get("Description") or "",
        "policies": sorted(p["Name"] for p in role.get("Policies") or []),
        "service_identities": _service_identities(
            {"service_name": i["ServiceName"], "datacenters": i.get("Datacenters")}
            for i in role.get("ServiceIdentities") or []
        ),
        "node_identities": _node_identities(
            {"node_name": i["NodeName"], "datacenter": i["Datacenter"]} for i in role.get("NodeIdentities") or []
        ),
        "templated_policies": _templated_policies(
            {
                "template_name": t["TemplateName"],
                "template_variables": t.get("TemplateVariables"),
                "datacenters": t.get("Datacenters"),
            }
            for t in role.get("TemplatedPolicies") or []
        ),
    }


def _check_templates(client, items) -> None:
    """Unknown template names and missing variables fail before anything is written (check mode too)."""
    if not items:
        return
    known = client.acl_templated_policies()
    for position, item in enumerate(items):
        template = known.get(item["template_name"])
        if template is None:
            raise ConsulInvalidArgument(
                f"templated_policies[{position}]: unknown template {item['template_name']!r}; "
                f"Consul knows {', '.join(sorted(known))}."
            )
        variables = _template_variables(item.get("template_variables"), position)
        if '"required"' in (template.get("Schema") or "") and not variables.get("name"):
            raise ConsulInvalidArgument(
                f"templated_policies[{position}]: template {item['template_name']!r} needs template_variables.name."
            )


def _body(name: str, after: dict, policies: list) -> dict:
    return {
        "Name": name,
        "Description": after.get("description") or "",
        "Policies": [{"ID": link["ID"]} for link in policies],
        "ServiceIdentities": [
            {"ServiceName": i["service_name"], **({"Datacenters": i["datacenters"]} if i["datacenters"] else {})}
            for i in after.get("service_identities") or []
        ],
        "NodeIdentities": [
            {"NodeName": i["node_name"], "Datacenter": i["datacenter"]} for i in after.get("node_identities") or []
        ],
        "TemplatedPolicies": [
            {
                "TemplateName": t["template_name"],
                **({"TemplateVariables": t["template_variables"]} if t["template_variables"] else {}),
                **({"Datacenters": t["datacenters"]} if t["datacenters"] else {}),
            }
            for t in after.get("templated_policies") or []
        ],
    }


def apply_role(consul: ConsulModule) -> dict:
    params, client = consul.params, consul.client
    name = params["name"]
    if not name or not name.strip():
        raise ConsulInvalidArgument("name must be a non-empty role name.")
    current_raw = client.acl_role(name=name)
    current = normalised(current_raw)

    wanted = None
    policies = None
    if params["state"] == "present":
        # Looked up in check mode too: an unknown policy or template fails both runs alike.
        policies = resolve_links(client, "policy", params["policies"])
        _check_templates(client, params["templated_policies"])
        wanted = {
            "name": name,
            "description": params["description"],
            "policies": [link["Name"] for link in policies] if policies is not None else None,
            "service_identities": _service_identities(params["service_identities"])
            if params["service_identities"] is not None
            else None,
            "node_identities": _node_identities(params["node_identities"])
            if params["node_identities"] is not None
            else None,
            "templated_policies": _templated_policies(params["templated_policies"], check=True)
            if params["templated_policies"] is not None
            else None,
        }
        if current_raw is None and not any(
            (policies, params["service_identities"], params["node_identities"], params["templated_policies"])
        ):
            raise ConsulInvalidArgument(
                f"role {name!r} does not exist yet: give it at least one policy, identity or templated policy."
            )
    decided = plan(current, wanted)

    role_id = current_raw["ID"] if current_raw else None
    after = decided.after
    if decided.changed and not consul.check_mode:
        if decided.operation == "remove":
            client.acl_role_delete(role_id)
        else:
            if policies is None:
                policies = [{"ID": p["ID"], "Name": p["Name"]} for p in (current_raw or {}).get("Policies") or []]
            written = client.acl_role_write(_body(name, after, policies), role_id=role_id)
            role_id = written["ID"]
            after = normalised(written)
    role = None if after is None else {"id": role_id, **normalised({"Name": name}), **after}
    return result(decided, consul.diff_mode, role=role)


def main():
    consul = ConsulModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "description": {"type": "str"},
            "policies": {
                "type": "list",
                "elements": "dict",
                "options": {"name": {"type": "str"}, "id": {"type": "str"}},
            },
            "service_identities": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "service_name": {"type": "str", "required": True, "aliases": ["name"]},
                    "datacenters": {"type": "list", "elements": "str"},
                },
            },
            "node_identities": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "node_name": {"type": "str", "required": True, "aliases": ["name"]},
                    "datacenter": {"type": "str", "required": True},
                },
            },
            "templated_policies": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "template_name": {"type": "str", "required": True},
                    "template_variables": {"type": "dict"},
                    "datacenters": {"type": "list", "elements": "str"},
                },
            },
        },
        supports_check_mode=True,
    )
    consul.run(apply_role)


if __name__ == "__main__":
    main()
