# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: catalog_info
short_description: List the services, nodes and datacenters of the Consul catalog
version_added: 0.1.0
description:
  - Reads the Consul catalog; O(gather) chooses which parts.
author: dockyard.discovery contributors (@dockyard)
options:
  gather:
    description: Which parts of the catalog to read.
    type: list
    elements: str
    choices: [services, nodes, datacenters]
    default: [services, nodes, datacenters]
  node_meta:
    description: Only services and nodes on nodes whose metadata has all these key/value pairs.
    type: dict
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
requirements:
  - python-consul2 or py-consul
seealso:
  - plugin: dockyard.discovery.catalog
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Everything
  dockyard.discovery.catalog_info:
  register: catalog

- name: Services of the nodes with rack=r1
  dockyard.discovery.catalog_info:
    gather: [services]
    node_meta:
      rack: r1
"""

RETURN = r"""
services:
  description: Service names with their tags (sorted).
  returned: when O(gather) contains V(services)
  type: dict
  sample: {"consul": [], "web": ["v1", "blue"]}
nodes:
  description: Catalog nodes.
  returned: when O(gather) contains V(nodes)
  type: list
  elements: dict
  contains:
    name:
      description: Node name.
      type: str
    address:
      description: Node address.
      type: str
    datacenter:
      description: Datacenter.
      type: str
    id:
      description: Node ID.
      type: str
    meta:
      description: Node metadata.
      type: dict
    tagged_addresses:
      description: Tagged addresses (lan, wan, ...).
      type: dict
datacenters:
  description: Known datacenters, nearest first.
  returned: when O(gather) contains V(datacenters)
  type: list
  elements: str
  sample: [dc1]
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule


def read_catalog(consul: ConsulModule) -> dict:
    params = consul.params
    client = consul.client
    result = {"changed": False}
    if "services" in params["gather"]:
        result["services"] = client.services(datacenter=params["datacenter"], node_meta=params["node_meta"]).value
    if "nodes" in params["gather"]:
        nodes = client.nodes(datacenter=params["datacenter"], node_meta=params["node_meta"]).value
        result["nodes"] = [node.to_dict() for node in nodes]
    if "datacenters" in params["gather"]:
        result["datacenters"] = client.datacenters()
    return result


def main():
    consul = ConsulModule(
        argument_spec={
            "gather": {
                "type": "list",
                "elements": "str",
                "choices": ["services", "nodes", "datacenters"],
                "default": ["services", "nodes", "datacenters"],
            },
            "node_meta": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    consul.run(read_catalog)


if __name__ == "__main__":
    main()
