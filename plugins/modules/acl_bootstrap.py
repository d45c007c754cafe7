# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: acl_bootstrap
short_description: Bootstrap a Consul datacenter's ACL system
version_added: 0.1.0
description:
  - Bootstraps the ACL system once per datacenter and returns the management token.
  - With O(bootstrap_secret), that secret becomes the management token, so that it can be generated
    and stored before the datacenter exists. A later run finds the datacenter bootstrapped, checks
    that O(bootstrap_secret) is a token Consul knows, and reports no change. A datacenter bootstrapped
    with another token is an error that says so.
  - Without O(bootstrap_secret), a datacenter bootstrapped before is not an error either; the
    management token is then unknown to the module (RV(token) is V(null)).
  - In check mode nothing is bootstrapped. A O(bootstrap_secret) that Consul knows reports no change;
    otherwise the module reports that it would bootstrap, which it cannot confirm without doing it.
  - The token is returned as RV(token). Use C(no_log) on the task.
author: dockyard.discovery contributors (@dockyard)
options:
  bootstrap_secret:
    description: The SecretID (a UUID) the management token gets.
    type: str
  state:
    description: Only V(bootstrapped).
    type: str
    choices: [bootstrapped]
    default: bootstrapped
extends_documentation_fragment:
  - dockyard.discovery.connection
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    description: Part of the action group C(dockyard.discovery.consul), for O(ignore:module_defaults).
    support: full
    membership: [dockyard.discovery.consul]
notes:
  - Until the servers have elected a leader and set up the ACL system, Consul answers with an error
    whose C(error) is V(server_error) or V(no_leader); retry the task with C(until).
seealso:
  - module: dockyard.discovery.acl_token
"""

EXAMPLES = r"""
- name: Bootstrap the ACLs with a secret generated beforehand
  dockyard.discovery.acl_bootstrap:
    bootstrap_secret: "{{ lookup('ansible.builtin.file', 'secrets/consul-bootstrap-token') }}"
  register: bootstrap
  until: bootstrap is succeeded
  retries: 30
  delay: 2
  no_log: true
"""

RETURN = r"""
bootstrapped:
  description: Whether the datacenter's ACL system is bootstrapped after the task (V(false) only in check mode).
  returned: always
  type: bool
  sample: true
token:
  description: The management token, when the module bootstrapped or O(bootstrap_secret) is that token.
  returned: always
  type: dict
  contains:
    accessor_id:
      description: Its AccessorID.
      type: str
    secret_id:
      description: Its SecretID.
      type: str
  sample:
    accessor_id: 5d1a6f1b-7c2e-4b59-9f1d-8a7e6c5b4a39
    secret_id: 9e7a7a1c-0c0d-4e3c-8f25-0b1f7a6e3d21
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_acl import check_uuid
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulError
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule

MANAGEMENT_POLICY = "global-management"


def _token(data: dict | None) -> dict | None:
    if not data:
        return None
    return {"accessor_id": data.get("AccessorID"), "secret_id": data.get("SecretID")}


def apply_bootstrap(consul: ConsulModule) -> dict:
    client = consul.client
    secret = consul.params["bootstrap_secret"]
    if secret:
        secret = check_uuid("bootstrap_secret", secret)
        known = client.acl_token_self(secret)
        if known is not None:
            if MANAGEMENT_POLICY not in [p.get("Name") for p in known.get("Policies") or []]:
                raise ConsulError(
                    f"bootstrap_secret is a token of this datacenter, but not a management token "
                    f"(its policies: {[p.get('Name') for p in known.get('Policies') or []]})."
                )
            return {"changed": False, "bootstrapped": True, "token": _token({**known, "SecretID": secret})}
    if consul.check_mode:
        return {"changed": True, "bootstrapped": False, "token": None}
    created = client.acl_bootstrap(secret)
    if created is not None:
        return {"changed": True, "bootstrapped": True, "token": _token(created)}
    if secret:
        raise ConsulError(
            f"the ACL system of Consul at {client.base_url} was bootstrapped with another token than "
            "bootstrap_secret. Give the datacenter's management token as bootstrap_secret, or reset the "
            "ACL bootstrap (Consul's 'ACL bootstrap reset' procedure) and run again."
        )
    return {"changed": False, "bootstrapped": True, "token": None}


def main():
    consul = ConsulModule(
        argument_spec={
            "bootstrap_secret": {"type": "str", "no_log": True},
            "state": {"type": "str", "choices": ["bootstrapped"], "default": "bootstrapped"},
        },
        supports_check_mode=True,
    )
    consul.run(apply_bootstrap)


if __name__ == "__main__":
    main()
