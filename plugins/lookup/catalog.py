# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: catalog
short_description: Service or node names from the Consul catalog
version_added: 0.1.0
description:
  - For the term V(services), the names of the services in the catalog; for V(nodes), the names of the nodes.
  - All terms share one connection.
author: dockyard.discovery contributors (@dockyard)
options:
  _terms:
    description: V(services) or V(nodes).
    type: list
    elements: str
    required: true
  node_meta:
    description: Only services and nodes on nodes whose metadata has all these key/value pairs.
    type: dict
  tag:
    description: With V(services), only services that carry this tag on some instance.
    type: str
extends_documentation_fragment:
  - dockyard.discovery.connection
  - dockyard.discovery.connection.plugins
"""

EXAMPLES = r"""
- name: Every service
  ansible.builtin.debug:
    msg: "{{ query('dockyard.discovery.catalog', 'services') }}"

- name: Nodes in rack r1
  ansible.builtin.debug:
    msg: "{{ query('dockyard.discovery.catalog', 'nodes', node_meta={'rack': 'r1'}) }}"
"""

RETURN = r"""
_list:
  description: Sorted service or node names, for every term in turn.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.dockyard.discovery.plugins.plugin_utils._consul_plugin import ansible_errors, client_for

TERMS = ("services", "nodes")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        unknown = [term for term in terms if term not in TERMS]
        if unknown:
            raise AnsibleLookupError(
                f"dockyard.discovery.catalog: unknown term(s) {unknown}; use 'services' or 'nodes'."
            )
        client = client_for(self, AnsibleLookupError)
        datacenter, node_meta, tag = self.get_option("datacenter"), self.get_option("node_meta"), self.get_option("tag")
        results = []
        with ansible_errors(AnsibleLookupError):
            for term in terms:
                if term == "services":
                    _index, services = client.services(datacenter=datacenter, node_meta=node_meta)
                    results.extend(sorted(name for name, tags in services.items() if tag is None or tag in tags))
                else:
                    _index, nodes = client.nodes(datacenter=datacenter, node_meta=node_meta)
                    results.extend(sorted(node.name for node in nodes))
        return results
