# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACL tokens in the modules' terms: what acl_token manages and acl_token_info lists. No secrets, no Ansible."""

from __future__ import annotations


def service_identities(items) -> list:
    return sorted(
        (
            {"service_name": item["service_name"], "datacenters": sorted(item.get("datacenters") or [])}
            for item in items
        ),
        key=lambda identity: identity["service_name"],
    )


def node_identities(items) -> list:
    return sorted(
        ({"node_name": item["node_name"], "datacenter": item["datacenter"]} for item in items),
        key=lambda identity: (identity["node_name"], identity["datacenter"]),
    )


def normalised(token: dict | None) -> dict | None:
    """The managed fields of a token as Consul returns it, in the module's terms (no secret)."""
    if token is None:
        return None
    return {
        "description": token.get("Description") or "",
        "policies": sorted(p["Name"] for p in token.get("Policies") or []),
        "roles": sorted(r["Name"] for r in token.get("Roles") or []),
        "service_identities": service_identities(
            {"service_name": i["ServiceName"], "datacenters": i.get("Datacenters")}
            for i in token.get("ServiceIdentities") or []
        ),
        "node_identities": node_identities(
            {"node_name": i["NodeName"], "datacenter": i["Datacenter"]} for i in token.get("NodeIdentities") or []
        ),
        "local": bool(token.get("Local")),
    }
