# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sessions in the modules' terms, shared by session and session_info. No Ansible imports."""

from __future__ import annotations

from ._consul_validate import go_duration


def normalised(session: dict | None) -> dict | None:
    if session is None:
        return None
    ttl = session.get("TTL") or ""
    return {
        "id": session["ID"],
        "name": session.get("Name") or "",
        "node": session.get("Node"),
        "behavior": session.get("Behavior") or "release",
        "ttl": go_duration(ttl) if ttl else None,
        "delay": (session.get("LockDelay") or 0) / 1e9,
        # "Checks" is the deprecated field; Consul 1.22 still fills NodeChecks from it.
        "node_checks": sorted(set(session.get("NodeChecks") or []) | set(session.get("Checks") or [])),
        "service_checks": sorted(check["ID"] for check in session.get("ServiceChecks") or []),
    }
