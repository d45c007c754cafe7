# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconcile plan: missing, outdated, stale, in sync."""

from ansible_collections.dockyard.discovery.plugins.module_utils._registrator_reconcile import plan_reconcile
from ansible_collections.dockyard.discovery.plugins.module_utils._registrator_rules import ExpectedService


def expected(port, tags=("b", "a")):
    return ExpectedService(
        id=f"docker1:web:{port}", name=f"web-{port}", address="10.0.0.5", port=30000 + port, tags=tags
    )


def agent_entry(service, **changes):
    entry = {
        "ID": service.id,
        "Service": service.name,
        "Address": service.address,
        "Port": service.port,
        "Tags": list(service.tags),
        "Meta": dict(service.meta),
    }
    entry.update(changes)
    return entry


def test_plan():
    in_sync, outdated, missing = expected(80), expected(81), expected(82)
    agent = {
        in_sync.id: agent_entry(in_sync, Tags=["a", "b"], Meta=None),  # tag order and empty meta do not matter
        outdated.id: agent_entry(outdated, Port=1),
        "docker1:dead:80": {"ID": "docker1:dead:80", "Service": "dead"},  # a crashed container's orphan
        "docker1:dead:53:udp": {"ID": "docker1:dead:53:udp", "Service": "dns"},
        "docker2:web:80": {"ID": "docker2:web:80", "Service": "web"},  # another host's registrator
        "web": {"ID": "web", "Service": "web"},  # registered by hand
    }
    plan = plan_reconcile([in_sync, outdated, missing], agent, "docker1")
    assert plan.in_sync == [in_sync.id]
    assert plan.outdated == [outdated]
    assert plan.missing == [missing]
    assert plan.stale == ["docker1:dead:53:udp", "docker1:dead:80"]
    assert plan.changes_needed


def test_nothing_to_do():
    service = expected(80)
    plan = plan_reconcile([service], {service.id: agent_entry(service)}, "docker1")
    assert not plan.changes_needed and plan.in_sync == [service.id]
