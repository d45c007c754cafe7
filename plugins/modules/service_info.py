# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: service_info
short_description: List the instances of a Consul service
version_added: 0.1.0
description:
  - Reads the instances of one service from Consul.
  - By default only instances whose node and service checks all pass (Consul's health view).
    O(passing=false) adds the failing ones; O(catalog=true) reads the catalog instead, which
    lists every registration whatever its health, including those of a dead node that the
    catalog keeps for up to 72 hours.
  - An unknown service gives an empty list, not an error.
author: dockyard.discovery contributors (@dockyard)
options:
  name:
    description: The service name.
    type: str
    required: true
    aliases: [service]
  passing:
    description: Only instances whose checks all pass. Ignored when O(catalog=true).
    type: bool
    default: true
  catalog:
    description: Read the catalog view (every registration, no health) instead of the health view.
    type: bool
    default: false
  tag:
    description: Only instances that carry this tag.
    type: str
  node_meta:
    description: Only instances on nodes whose metadata has all these key/value pairs.
    type: dict
  near:
    description: Sort by estimated round trip time from this node; V(_agent) means the queried agent.
    type: str
  index:
    description:
      - Blocking query. Wait until the service's Consul index is greater than this value (the RV(index) of an earlier call),
        or O(wait) has passed.
    type: int
  wait:
    description: How long a blocking query waits, as a duration (V(30s), V(500ms), V(2m)); at most V(10m).
    type: str
    default: 5m
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
  - plugin: dockyard.discovery.service
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Healthy instances of web
  dockyard.discovery.service_info:
    name: web
  register: web

- name: Every registration of web in dc2 tagged v2, healthy or not
  dockyard.discovery.service_info:
    name: web
    catalog: true
    tag: v2
    datacenter: dc2

- name: Wait (up to 1 minute) for a change to web after the previous read
  dockyard.discovery.service_info:
    name: web
    index: "{{ web.index }}"
    wait: 1m
"""

RETURN = r"""
instances:
  description: The instances, in Consul's order.
  returned: success
  type: list
  elements: dict
  contains:
    service:
      description: Service name.
      type: str
      sample: web
    service_id:
      description: Service ID, unique on its node.
      type: str
      sample: node1:web:8080
    node:
      description: Node name.
      type: str
      sample: node1
    node_address:
      description: Node address.
      type: str
      sample: 172.20.20.10
    address:
      description: Service address, or the node address when the service has none.
      type: str
      sample: 172.20.20.10
    port:
      description: Service port.
      type: int
      sample: 8080
    endpoint:
      description: C(address:port), with brackets around an IPv6 address.
      type: str
      sample: 172.20.20.10:8080
    datacenter:
      description: Datacenter of the node (empty in the catalog view of some Consul versions).
      type: str
      sample: dc1
    tags:
      description: Service tags.
      type: list
      elements: str
    meta:
      description: Service metadata.
      type: dict
    node_meta:
      description: Node metadata.
      type: dict
    checks:
      description: Node and service checks (empty in the catalog view).
      type: list
      elements: dict
    status:
      description: Worst status of the checks (V(passing), V(warning), V(critical)); V(null) in the catalog view.
      type: str
      sample: passing
index:
  description: Consul index of the answer; pass it back as O(index) to wait for the next change.
  returned: success
  type: int
  sample: 42
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule


def read_instances(consul: ConsulModule) -> dict:
    params = consul.params
    index, instances = consul.client.service_instances(
        params["name"],
        passing=params["passing"],
        catalog=params["catalog"],
        tag=params["tag"],
        node_meta=params["node_meta"],
        datacenter=params["datacenter"],
        near=params["near"],
        index=params["index"],
        wait=params["wait"],
    )
    return {"changed": False, "instances": [i.to_dict() for i in instances], "index": index}


def main():
    consul = ConsulModule(
        argument_spec={
            "name": {"type": "str", "required": True, "aliases": ["service"]},
            "passing": {"type": "bool", "default": True},
            "catalog": {"type": "bool", "default": False},
            "tag": {"type": "str"},
            "node_meta": {"type": "dict"},
            "near": {"type": "str"},
            "index": {"type": "int"},
            "wait": {"type": "str", "default": "5m"},
        },
        supports_check_mode=True,
    )
    consul.run(read_instances)


if __name__ == "__main__":
    main()
