# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: kv
short_description: Values from the Consul key/value store
version_added: 0.1.0
description:
  - Returns the value of each key in the terms, or with O(recurse=true) the tree under each
    prefix as a dict of key to value.
  - A key that does not exist gives O(default).
  - All terms share one connection.
author: dockyard.discovery contributors (@dockyard)
options:
  _terms:
    description: Keys (relative paths such as C(app/config/port)), or prefixes with O(recurse=true).
    type: list
    elements: str
    required: true
  recurse:
    description: Return every key under the prefix, as a dict of key to value.
    type: bool
    default: false
  default:
    description: What a missing key gives.
    type: raw
extends_documentation_fragment:
  - dockyard.discovery.connection
  - dockyard.discovery.connection.plugins
"""

EXAMPLES = r"""
- name: One value
  ansible.builtin.debug:
    msg: "{{ lookup('dockyard.discovery.kv', 'app/config/port', default='8080') }}"

- name: A tree
  ansible.builtin.debug:
    msg: "{{ lookup('dockyard.discovery.kv', 'app/config/', recurse=true) }}"
"""

RETURN = r"""
_list:
  description: One value (a string, or O(default)) per term; with O(recurse=true) one dict of key to value per term.
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
        recurse = self.get_option("recurse")
        datacenter = self.get_option("datacenter")
        results = []
        with ansible_errors(AnsibleLookupError):
            for term in terms:
                _index, found = client.kv_get(term, recurse=recurse, datacenter=datacenter)
                if recurse:
                    results.append({entry.key: entry.value for entry in found})
                else:
                    results.append(found.value if found is not None else self.get_option("default"))
        return results
