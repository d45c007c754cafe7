# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: consul
short_description: Hosts from the Consul catalog, grouped by service, tag, datacenter and health
version_added: 0.1.0
description:
  - Every catalog node becomes a host named after the node, with its address, datacenter,
    node meta, services and health as host variables.
  - Nodes are grouped by the services they run, by the tags of those services, by datacenter
    and by health. O(keyed_groups), O(compose) and O(groups) add more through Ansible's
    constructed features; results can be cached.
  - The configuration file name must end with C(consul.yml) or C(consul.yaml).
  - Group names. A service group is named exactly like the service when that is a valid group
    name (letters, digits and C(_), not starting with a digit), for example C(svc1). Otherwise
    every other character becomes C(_) and a leading digit gets a C(_) in front (C(web-api)
    gives C(web_api), C(1web) gives C(_1web)); C(all) and C(ungrouped) become C(all_) and
    C(ungrouped_). The same rule applies to tag, datacenter and health groups after their prefix.
author: dockyard.discovery contributors (@dockyard)
options:
  plugin:
    description: Marks the file as this plugin's configuration.
    type: str
    required: true
    choices: [dockyard.discovery.consul]
  datacenters:
    description: Datacenters to read; the agent's own when empty.
    type: list
    elements: str
    default: []
  node_meta:
    description: Only nodes whose metadata has all these key/value pairs.
    type: dict
    default: {}
  group_by:
    description:
      - Which groups to make. V(health) is the worst status of the node's checks (C(passing), C(warning), C(critical)).
    type: list
    elements: str
    choices: [service, tag, datacenter, health]
    default: [service, tag, datacenter, health]
  service_group_prefix:
    description: Prefix of the groups made from service names.
    type: str
    default: ""
  tag_group_prefix:
    description: Prefix of the groups made from service tags.
    type: str
    default: tag_
  datacenter_group_prefix:
    description: Prefix of the groups made from datacenters.
    type: str
    default: dc_
  health_group_prefix:
    description: Prefix of the groups made from node health.
    type: str
    default: health_
  set_ansible_host:
    description: Set C(ansible_host) to the node address. Turn off when you connect by node name.
    type: bool
    default: true
extends_documentation_fragment:
  - dockyard.discovery.connection
  - dockyard.discovery.connection.plugins
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
"""

EXAMPLES = r"""
# lab.consul.yml
plugin: dockyard.discovery.consul
host: 172.20.20.10
keyed_groups:
  - key: consul_node_meta.rack | default('none')
    prefix: rack
compose:
  web_port: consul_services | selectattr('name', 'equalto', 'web') | map(attribute='port') | first | default(omit)
"""

import os

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_results import worst_status
from ansible_collections.dockyard.discovery.plugins.plugin_utils._consul_plugin import ansible_errors, client_for
from ansible_collections.dockyard.discovery.plugins.plugin_utils._inventory_groups import node_groups


def fetch_datacenter(client, datacenter, node_meta) -> dict:
    """Nodes, service instances and checks of one datacenter, as JSON-ready dicts (cacheable)."""
    nodes = client.nodes(datacenter=datacenter, node_meta=node_meta).value
    names = client.services(datacenter=datacenter, node_meta=node_meta).value
    instances = []
    for name in sorted(names):
        found = client.service_instances(name, catalog=True, datacenter=datacenter, node_meta=node_meta).value
        instances.extend(i.to_dict() for i in found)
    checks = client.checks("any", datacenter=datacenter).value
    return {
        "nodes": [n.to_dict() for n in nodes],
        "instances": instances,
        "checks": [c.to_dict() for c in checks],
    }


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "dockyard.discovery.consul"

    def verify_file(self, path):
        return super().verify_file(path) and os.path.basename(path).endswith(("consul.yml", "consul.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        data = None
        if use_cache:
            try:
                data = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if data is None:
            data = self._fetch()
        if update_cache:
            self._cache[cache_key] = data
        self._populate(data)

    def _fetch(self) -> dict:
        client = client_for(self, AnsibleParserError)
        with ansible_errors(AnsibleParserError):
            datacenters = self.get_option("datacenters") or [None]
            return {dc or "": fetch_datacenter(client, dc, self.get_option("node_meta")) for dc in datacenters}

    def _populate(self, data: dict) -> None:
        prefixes = {kind: self.get_option(f"{kind}_group_prefix") or "" for kind in self.get_option("group_by")}
        strict = self.get_option("strict")
        for datacenter in data.values():
            by_node = {}
            for instance in datacenter["instances"]:
                by_node.setdefault(instance["node"], []).append(instance)
            statuses = {}
            for check in datacenter["checks"]:
                statuses.setdefault(check["node"], []).append(check["status"])
            for node in datacenter["nodes"]:
                self._add_node(
                    node, by_node.get(node["name"], []), worst_status(statuses.get(node["name"], [])), prefixes, strict
                )

    def _add_node(self, node: dict, instances: list, health: str, prefixes: dict, strict: bool) -> None:
        host = node["name"]
        self.inventory.add_host(host)
        hostvars = {
            "consul_address": node["address"],
            "consul_datacenter": node["datacenter"],
            "consul_node_id": node["id"],
            "consul_node_meta": node["meta"],
            "consul_tagged_addresses": node["tagged_addresses"],
            "consul_health": health,
            "consul_services": [
                {
                    "id": i["service_id"],
                    "name": i["service"],
                    "address": i["address"],
                    "port": i["port"],
                    "tags": i["tags"],
                    "meta": i["meta"],
                }
                for i in instances
            ],
        }
        if self.get_option("set_ansible_host") and node["address"]:
            hostvars["ansible_host"] = node["address"]
        for name, value in hostvars.items():
            self.inventory.set_variable(host, name, value)
        for group in node_groups(node, instances, health, prefixes):
            self.inventory.add_group(group)
            self.inventory.add_child(group, host)
        self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
