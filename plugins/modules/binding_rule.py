# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: binding_rule
short_description: Create, update and delete the binding rules of a Consul auth method
version_added: 0.1.0
description:
  - Makes the binding rule O(name) of auth method O(auth_method) exist with the given settings, or removes it.
  - "Consul's binding rules have an ID but no name. As community.general's C(consul_binding_rule)
    does, this module stores the name at the start of the rule's description, as
    C(<name>: <description>), and finds the rule by that prefix. Rules of an auth method need
    distinct names; two rules with the same prefix fail the task."
  - Options left unset are not managed; an existing rule keeps their current value.
  - The auth method is looked up first, in check mode too, so that an unknown one fails both runs alike.
author: dockyard.discovery contributors (@dockyard)
options:
  name:
    description:
      - The rule's name, which identifies it among the rules of O(auth_method). It cannot contain a colon followed by a space.
    type: str
    required: true
  auth_method:
    description: The auth method the rule belongs to.
    type: str
    required: true
  state:
    description: Whether the rule exists.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: The rule's description; it is stored after the O(name) prefix.
    type: str
  selector:
    description:
      - The expression that matches the identities the rule applies to, for example
        C(value.project == "web").
      - An empty selector matches every identity the auth method accepts.
    type: str
  bind_type:
    description: What the rule gives a token created at login; required to create a rule.
    type: str
    choices: [service, node, role, templated-policy, policy]
  bind_name:
    description:
      - The name of the service, node, role, templated policy or policy the token gets; it may use
        the identity's attributes, for example V(${value.project}). Required to create a rule.
    type: str
  bind_vars:
    description:
      - The variables of the templated policy with O(bind_type=templated-policy), for example
        C(name). Consul stores their names in lower case.
    type: dict
extends_documentation_fragment:
  - dockyard.discovery.connection
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Consul checks O(selector) and O(bind_name) when the rule is written; check mode cannot.
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
  - module: dockyard.discovery.auth_method
"""

EXAMPLES = r"""
- name: CI jobs log in as the service of their project
  dockyard.discovery.binding_rule:
    name: ci-project-service
    auth_method: ci-jwt
    description: A service identity per project
    selector: value.project != ""
    bind_type: service
    bind_name: ${value.project}
    token: "{{ consul_management_token }}"

- name: Through a templated policy
  dockyard.discovery.binding_rule:
    name: ci-templated
    auth_method: ci-jwt
    bind_type: templated-policy
    bind_name: builtin/service
    bind_vars:
      name: ${value.project}
    token: "{{ consul_management_token }}"

- name: Remove a rule
  dockyard.discovery.binding_rule:
    name: ci-project-service
    auth_method: ci-jwt
    state: absent
    token: "{{ consul_management_token }}"
"""

RETURN = r"""
operation:
  description: What was done, or would be done in check mode; V(null) when nothing changes.
  returned: always
  type: str
  choices: [create, update, remove]
  sample: create
binding_rule:
  description: The rule after the task; V(null) when it does not exist.
  returned: always
  type: dict
  contains:
    id:
      description: The rule's ID (V(null) for a rule created in check mode).
      type: str
    name:
      description: Its name (the prefix of the stored description).
      type: str
    auth_method:
      description: Its auth method.
      type: str
    description:
      description: Its description without the name prefix.
      type: str
    selector:
      description: Its selector.
      type: str
    bind_type:
      description: Its bind type.
      type: str
    bind_name:
      description: Its bind name.
      type: str
    bind_vars:
      description: Its templated policy variables.
      type: dict
  sample:
    id: 49c909b0-877e-1299-b0d3-4fdd8b6993b4
    name: ci-project-service
    auth_method: ci-jwt
    description: A service identity per project
    selector: value.project != ""
    bind_type: service
    bind_name: ${value.project}
    bind_vars: {}
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_declarative import plan, result
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulInvalidArgument
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_validate import check_name

SEPARATOR = ": "


def _vars(variables) -> dict:
    lowered = {}
    for key, value in (variables or {}).items():
        if not isinstance(value, str):
            raise ConsulInvalidArgument(f"bind_vars.{key} must be a string, got {value!r}.")
        lowered[str(key).lower()] = value
    return dict(sorted(lowered.items()))


def normalised(rule: dict | None, name: str) -> dict | None:
    if rule is None:
        return None
    return {
        "name": name,
        "auth_method": rule.get("AuthMethod"),
        "description": (rule.get("Description") or "")[len(name) + len(SEPARATOR) :],
        "selector": rule.get("Selector") or "",
        "bind_type": rule.get("BindType") or "",
        "bind_name": rule.get("BindName") or "",
        "bind_vars": _vars(rule.get("BindVars")),
    }


def apply_rule(consul: ConsulModule) -> dict:
    params, client = consul.params, consul.client
    name = params["name"]
    if not isinstance(name, str) or not name.strip() or SEPARATOR in name:
        raise ConsulInvalidArgument(f"name must be a non-empty string without {SEPARATOR!r}, got {name!r}.")
    auth_method = check_name("auth method", params["auth_method"])
    if params["state"] == "present" and client.acl_auth_method(auth_method) is None:
        raise ConsulInvalidArgument(
            f"unknown auth method {auth_method!r}: create it first (dockyard.discovery.auth_method)."
        )
    # Listing the rules of an unknown auth method gives [], so that absent stays idempotent.
    found = [
        rule
        for rule in client.acl_binding_rules(auth_method)
        if (rule.get("Description") or "").startswith(name + SEPARATOR)
    ]
    if len(found) > 1:
        ids = ", ".join(sorted(rule["ID"] for rule in found))
        raise ConsulInvalidArgument(
            f"{len(found)} binding rules of {auth_method!r} are named {name!r} ({ids}); remove all but one."
        )
    current_raw = found[0] if found else None
    current = normalised(current_raw, name)
    wanted = None
    if params["state"] == "present":
        bind_vars = _vars(params["bind_vars"]) if params["bind_vars"] is not None else None
        wanted = {
            "name": name,
            "auth_method": auth_method,
            "description": params["description"],
            "selector": params["selector"],
            "bind_type": params["bind_type"],
            "bind_name": params["bind_name"],
            "bind_vars": bind_vars,
        }
        if current is None:
            missing = [option for option in ("bind_type", "bind_name") if params[option] is None]
            if missing:
                raise ConsulInvalidArgument(
                    f"binding rule {name!r} does not exist yet: give its {' and '.join(missing)}."
                )
        effective = {**(current or {}), **{k: v for k, v in wanted.items() if v is not None}}
        if effective.get("bind_type") == "templated-policy" and not effective.get("bind_vars"):
            raise ConsulInvalidArgument("bind_type=templated-policy needs bind_vars (for example name).")
        if effective.get("bind_type") != "templated-policy" and effective.get("bind_vars"):
            raise ConsulInvalidArgument("bind_vars applies to bind_type=templated-policy only.")
    decided = plan(current, wanted)
    rule_id = current_raw["ID"] if current_raw else None
    after = decided.after
    if decided.changed and not consul.check_mode:
        if decided.operation == "remove":
            client.acl_binding_rule_delete(rule_id)
        else:
            body = {
                "AuthMethod": auth_method,
                "Description": name + SEPARATOR + (after.get("description") or ""),
                "Selector": after.get("selector") or "",
                "BindType": after["bind_type"],
                "BindName": after["bind_name"],
            }
            if after.get("bind_vars"):
                body["BindVars"] = after["bind_vars"]
            written = client.acl_binding_rule_write(body, rule_id=rule_id)
            rule_id = written["ID"]
            after = normalised(written, name)
    rule = None
    if after is not None:
        rule = {"id": rule_id, **normalised({"AuthMethod": auth_method}, name), **after}
    return result(decided, consul.diff_mode, binding_rule=rule)


def main():
    consul = ConsulModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "auth_method": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "description": {"type": "str"},
            "selector": {"type": "str"},
            "bind_type": {"type": "str", "choices": ["service", "node", "role", "templated-policy", "policy"]},
            "bind_name": {"type": "str"},
            "bind_vars": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    consul.run(apply_rule)


if __name__ == "__main__":
    main()
