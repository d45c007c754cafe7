# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: session_info
short_description: Read one Consul session, or list them
version_added: 0.1.0
description:
  - With O(id), the session with that ID (RV(session) is V(null) when it does not exist).
  - Without it, every session of the datacenter, or those of O(node).
author: dockyard.discovery contributors (@dockyard)
options:
  id:
    description: The session's ID (a UUID).
    type: str
  node:
    description: List only the sessions of this node.
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
seealso:
  - module: dockyard.discovery.session
"""

EXAMPLES = r"""
- name: Every session of node1
  dockyard.discovery.session_info:
    node: node1
  register: node1_sessions

- name: Is the deploy session still there?
  dockyard.discovery.session_info:
    id: "{{ deploy_session.session_id }}"
  register: deploy_session_now
"""

RETURN = r"""
session:
  description: With O(id), the session; V(null) when it does not exist.
  returned: when O(id) is given
  type: dict
  contains:
    id:
      description: Its ID.
      type: str
    name:
      description: Its name.
      type: str
    node:
      description: Its node.
      type: str
    behavior:
      description: V(release) or V(delete).
      type: str
    ttl:
      description: Its TTL in seconds, V(null) without one.
      type: float
    delay:
      description: Its lock delay in seconds.
      type: float
    node_checks:
      description: The node checks it depends on.
      type: list
      elements: str
    service_checks:
      description: The service checks it depends on.
      type: list
      elements: str
  sample: {id: 976597fb-f2f3-19e9-d0ce-7be610d8fc0d, name: deploy-lock, node: node1, behavior: release,
           ttl: 300.0, delay: 0.0, node_checks: [serfHealth], service_checks: []}
sessions:
  description: Without O(id), the sessions (each like RV(session)), sorted by ID.
  returned: when O(id) is not given
  type: list
  elements: dict
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_acl import check_uuid
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_sessions import normalised
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_validate import check_name


def read_sessions(consul: ConsulModule) -> dict:
    params, client = consul.params, consul.client
    datacenter = params["datacenter"]
    if params["id"]:
        session_id = check_uuid("session ID", params["id"])
        return {"changed": False, "session": normalised(client.session_info(session_id, datacenter=datacenter))}
    node = check_name("node", params["node"]) if params["node"] else None
    sessions = [normalised(s) for s in client.sessions(node=node, datacenter=datacenter)]
    return {"changed": False, "sessions": sorted(sessions, key=lambda s: s["id"])}


def main():
    consul = ConsulModule(
        argument_spec={"id": {"type": "str"}, "node": {"type": "str"}},
        mutually_exclusive=[("id", "node")],
        supports_check_mode=True,
    )
    consul.run(read_sessions)


if __name__ == "__main__":
    main()
