"""The dockyard.discovery.consul inventory plugin, pointed at the lab's catalog, groups the
nodes by the services registrator registered on them."""

import json
import os
from pathlib import Path

from labkit.ansible_runner import ansible

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])


def test_inventory_groups_nodes_by_service():
    result = ansible(
        "ansible-inventory",
        "-i",
        str(PROJECT / "lab" / "inventory" / "lab.consul.yml"),
        "--list",
        env={"ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "build" / "collections")},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    inventory = json.loads(result.stdout)
    assert {name: sorted(inventory[name]["hosts"]) for name in ("svc1", "svc2", "svc3")} == {
        "svc1": ["node1"],
        "svc2": ["node2"],
        "svc3": ["node3"],
    }
    address = inventory["_meta"]["hostvars"]["node2"]["ansible_host"]
    # ansible-inventory marks values from plugins as unsafe: {"__ansible_unsafe": "..."}
    assert (address.get("__ansible_unsafe") if isinstance(address, dict) else address) == "172.20.20.20"
