# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: service
short_description: Endpoints of Consul services
version_added: 0.1.0
description:
  - Returns the instances of each service named in the terms, as C(address:port) strings or as dicts
    (the shape of M(dockyard.discovery.service_info)'s RV(dockyard.discovery.service_info#module:instances)).
  - Healthy instances only by default. An unknown service gives no endpoints, not an error.
  - All terms share one connection.
author: dockyard.discovery contributors (@dockyard)
options:
  _terms:
    description: Service names.
    type: list
    elements: str
    required: true
  tag:
    description: Only instances with this tag.
    type: str
  passing:
    description: Only instances whose checks all pass; V(false) adds the failing ones.
    type: bool
    default: true
  format:
    description: V(endpoint) gives C(address:port) strings, V(dict) the full instance.
    type: str
    choices: [endpoint, dict]
    default: endpoint
extends_documentation_fragment:
  - dockyard.discovery.connection
  - dockyard.discovery.connection.plugins
"""

EXAMPLES = r"""
- name: Upstreams for a proxy
  ansible.builtin.debug:
    msg: "{{ query('dockyard.discovery.service', 'web') }}"

- name: Instances with details, from another datacenter
  ansible.builtin.debug:
    msg: "{{ item.node }} {{ item.endpoint }} {{ item.status }}"
  loop: "{{ query('dockyard.discovery.service', 'web', 'api', format='dict', datacenter='dc2', tag='v2') }}"
"""

RETURN = r"""
_list:
  description: C(address:port) strings, or dicts with service, service_id, node, node_address, address, port,
    endpoint, datacenter, tags, meta, node_meta, checks and status, for every term in turn.
  type: list
  elements: raw
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.dockyard.discovery.plugins.plugin_utils._consul_plugin import ansible_errors, client_for


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        client = client_for(self, AnsibleLookupError)
        as_dict = self.get_option("format") == "dict"
        results = []
        with ansible_errors(AnsibleLookupError):
            for term in terms:
                _index, instances = client.service_instances(
                    term,
                    passing=self.get_option("passing"),
                    tag=self.get_option("tag"),
                    datacenter=self.get_option("datacenter"),
                )
                results.extend(i.to_dict() if as_dict else i.endpoint for i in instances)
        return results
