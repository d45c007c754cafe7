# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: agent_info
short_description: What the local Consul agent is, and the services and checks registered on it
version_added: 0.1.0
description:
  - Reads the agent's own configuration (node name, datacenter, server or client, version) and the
    services and checks registered on the agent itself (not the whole catalog).
  - Works without a cluster leader, so it can look at an agent that has not joined yet.
author: dockyard.discovery contributors (@dockyard)
options: {}
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
  - module: dockyard.discovery.agent_service
  - module: dockyard.discovery.cluster_info
"""

EXAMPLES = r"""
- name: Is the agent on this host a server?
  dockyard.discovery.agent_info:
  register: local_agent

- name: Say so
  ansible.builtin.debug:
    msg: "{{ local_agent.agent.node_name }} is a {{ 'server' if local_agent.agent.server else 'client' }}"
"""

RETURN = r"""
agent:
  description: The agent itself.
  returned: always
  type: dict
  contains:
    node_name:
      description: Its node name.
      type: str
    datacenter:
      description: Its datacenter.
      type: str
    server:
      description: Whether it is a server.
      type: bool
    version:
      description: Its Consul version.
      type: str
    revision:
      description: The commit it was built from.
      type: str
  sample: {node_name: node1, datacenter: dc1, server: true, version: 1.22.7, revision: 3b2b0bd1}
services:
  description: The services registered on the agent, by service ID.
  returned: always
  type: dict
  sample: {"web-1": {"name": "web", "tags": ["v1"], "address": "10.0.0.5", "port": 8080}}
checks:
  description: The checks registered on the agent, by check ID, with their status.
  returned: always
  type: dict
  sample: {"service:web-1": {"name": "Service 'web' check", "status": "passing", "service_id": "web-1"}}
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule


def read_agent(consul: ConsulModule) -> dict:
    client = consul.client
    services = {
        service_id: {
            "name": service.get("Service"),
            "tags": list(service.get("Tags") or []),
            "address": service.get("Address") or "",
            "port": service.get("Port") or 0,
        }
        for service_id, service in client.agent_services().items()
    }
    checks = {
        check_id: {"name": check.get("Name"), "status": check.get("Status"), "service_id": check.get("ServiceID") or ""}
        for check_id, check in client.agent_checks().items()
    }
    return {"changed": False, "agent": client.agent_config(), "services": services, "checks": checks}


def main():
    consul = ConsulModule(argument_spec={}, supports_check_mode=True)
    consul.run(read_agent)


if __name__ == "__main__":
    main()
