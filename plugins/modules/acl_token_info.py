# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: acl_token_info
short_description: List Consul ACL tokens, without their secrets
version_added: 0.1.0
description:
  - Lists the datacenter's ACL tokens, optionally those whose description matches O(description_regex).
  - Secrets are never returned, even though Consul sends them to a management token.
author: dockyard.discovery contributors (@dockyard)
options:
  description_regex:
    description: A Python regular expression the description must match (C(re.search)).
    type: str
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
  - Needs a token with C(acl = "read").
seealso:
  - module: dockyard.discovery.acl_token
"""

EXAMPLES = r"""
- name: The tokens issued for node3
  dockyard.discovery.acl_token_info:
    description_regex: ' on node3 \(dockyard\.discovery\)$'
    token: "{{ consul_management_token }}"
  register: node3_tokens

- name: Revoke them
  dockyard.discovery.acl_token:
    accessor_id: "{{ item.accessor_id }}"
    state: absent
    token: "{{ consul_management_token }}"
  loop: "{{ node3_tokens.tokens }}"
  loop_control:
    label: "{{ item.description }}"
"""

RETURN = r"""
tokens:
  description: The tokens, sorted by description then AccessorID; the same fields as RV(dockyard.discovery.acl_token#module:token), without secret.
  returned: always
  type: list
  elements: dict
  sample:
    - accessor_id: 7e5f3c2a-91d4-5b1e-8f6a-3c2d1b0a9e8f
      description: Agent token on node3 (dockyard.discovery)
      policies: []
      roles: []
      service_identities: []
      node_identities: [{node_name: node3, datacenter: dc1}]
      local: false
"""

import re

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulInvalidArgument
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_tokens import normalised


def list_tokens(consul: ConsulModule) -> dict:
    pattern = consul.params["description_regex"]
    try:
        matcher = re.compile(pattern) if pattern else None
    except re.error as error:
        raise ConsulInvalidArgument(f"description_regex {pattern!r} is not a regular expression: {error}.") from None
    tokens = [
        {"accessor_id": token["AccessorID"], **normalised(token)}
        for token in consul.client.acl_tokens()
        if matcher is None or matcher.search(token.get("Description") or "")
    ]
    tokens.sort(key=lambda token: (token["description"], token["accessor_id"]))
    return {"changed": False, "tokens": tokens}


def main():
    consul = ConsulModule(argument_spec={"description_regex": {"type": "str"}}, supports_check_mode=True)
    consul.run(list_tokens)


if __name__ == "__main__":
    main()
