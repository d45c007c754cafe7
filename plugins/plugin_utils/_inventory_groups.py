# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Group names for the consul inventory plugin. Pure functions, no Ansible imports."""

from __future__ import annotations

import re

_INVALID = re.compile(r"[^A-Za-z0-9_]")
_RESERVED = ("all", "ungrouped")


def group_name(prefix: str, name: str) -> str:
    """`prefix + name`, made a valid Ansible group name.

    A name that is already valid (letters, digits, '_', not starting with a digit) is kept as it
    is, so service svc1 gives group svc1. Otherwise every other character becomes '_' and a
    leading digit gets a '_' in front: web-api -> web_api, 1web -> _1web, api.v2 -> api_v2.
    The reserved names all and ungrouped become all_ and ungrouped_.
    """
    candidate = _INVALID.sub("_", f"{prefix}{name}")
    if candidate[:1].isdigit():
        candidate = "_" + candidate
    if candidate in _RESERVED:
        candidate += "_"
    return candidate


def node_groups(node: dict, instances: list, health: str, prefixes: dict) -> list:
    """Every group one node belongs to, from its services, their tags, its datacenter and health.

    `prefixes` maps each kind of group to make (service, tag, datacenter, health) to its prefix.
    """
    groups = []

    def add(kind: str, name: str):
        prefix = prefixes.get(kind)
        if prefix is None or not name:
            return
        group = group_name(prefix, name)
        if group not in groups:
            groups.append(group)

    for instance in instances:
        add("service", instance["service"])
        for tag in instance.get("tags") or []:
            add("tag", tag)
    add("datacenter", node.get("datacenter") or "")
    add("health", health)
    return groups
