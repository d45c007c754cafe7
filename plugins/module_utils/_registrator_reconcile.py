# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare what registrator should have registered on a host with what the agent holds.

Pure: takes the ExpectedService list from _registrator_rules and the agent's
/v1/agent/services answer. No Ansible, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._registrator_rules import registered_by


@dataclass
class ReconcilePlan:
    missing: list = field(default_factory=list)  # ExpectedService with no registration
    outdated: list = field(default_factory=list)  # ExpectedService registered with other values
    stale: list = field(default_factory=list)  # agent service IDs no running container produces
    in_sync: list = field(default_factory=list)  # service IDs that match

    @property
    def changes_needed(self) -> bool:
        return bool(self.missing or self.outdated or self.stale)


def registered_view(agent_service: dict) -> dict:
    """The fields registrator sets, from an /v1/agent/services entry; tag order does not matter."""
    return {
        "name": agent_service.get("Service") or "",
        "address": agent_service.get("Address") or "",
        "port": int(agent_service.get("Port") or 0),
        "tags": sorted(agent_service.get("Tags") or []),
        "meta": dict(agent_service.get("Meta") or {}),
    }


def expected_view(service) -> dict:
    return {
        "name": service.name,
        "address": service.address,
        "port": service.port,
        "tags": sorted(service.tags),
        "meta": dict(service.meta),
    }


def plan_reconcile(expected: list, agent_services: dict, hostname: str) -> ReconcilePlan:
    """What to register and deregister so the agent holds exactly what registrator would.

    Only IDs of registrator's shape for `hostname` (<hostname>:<container>:<port>[:udp]) can be
    stale: services registered by other means are never touched.
    """
    plan = ReconcilePlan()
    expected_ids = set()
    for service in expected:
        expected_ids.add(service.id)
        current = agent_services.get(service.id)
        if current is None:
            plan.missing.append(service)
        elif registered_view(current) != expected_view(service):
            plan.outdated.append(service)
        else:
            plan.in_sync.append(service.id)
    plan.stale = sorted(
        service_id
        for service_id in agent_services
        if service_id not in expected_ids and registered_by(service_id, hostname)
    )
    return plan
