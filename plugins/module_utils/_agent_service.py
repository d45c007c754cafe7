# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired and current state of an agent service registration, in one comparable shape.

The agent API does not return what a check probes (URL, TCP address, TTL, method, headers,
deregister timeout), so the registration carries a fingerprint of its check definitions in
service meta key `dockyard_checks`; a changed definition changes the fingerprint. No Ansible.
"""

from __future__ import annotations

import hashlib
import json

from ._consul_errors import ConsulInvalidArgument
from ._consul_validate import (
    check_name,
    check_port,
    go_duration,
)

FINGERPRINT_KEY = "dockyard_checks"
DEFAULT_INTERVAL = "10s"


def _seconds(value):
    return go_duration(value) if value not in (None, "") else None


def check_body(check: dict, position: int, service_id: str, service_name: str, count: int) -> dict:
    """The Consul body of one check given as module options (keys as in the argument spec)."""
    kinds = [kind for kind in ("http", "tcp", "ttl") if check.get(kind)]
    if len(kinds) != 1:
        raise ConsulInvalidArgument(f"checks[{position}] needs exactly one of http, tcp or ttl, got {kinds or 'none'}.")
    kind = kinds[0]
    # Consul's own naming for unnamed service checks.
    default_id = f"service:{service_id}" if count == 1 else f"service:{service_id}:{position + 1}"
    body = {"CheckID": check.get("id") or default_id, "Name": check.get("name") or f"Service '{service_name}' check"}
    if kind == "ttl":
        _seconds(check["ttl"])
        body["TTL"] = check["ttl"]
        for option in ("interval", "timeout", "method", "headers"):
            if check.get(option):
                raise ConsulInvalidArgument(f"checks[{position}]: {option} does not apply to a ttl check.")
    else:
        if kind == "http":
            body["HTTP"] = check["http"]
            if check.get("method"):
                body["Method"] = check["method"]
            if check.get("headers"):
                body["Header"] = {k: [str(v)] for k, v in sorted(check["headers"].items())}
            if check.get("tls_skip_verify"):
                body["TLSSkipVerify"] = True
        else:
            host, _colon, port = check["tcp"].rpartition(":")
            if not host or not port:
                raise ConsulInvalidArgument(f"checks[{position}]: tcp must be host:port, got {check['tcp']!r}.")
            if port.isdigit():  # Go's net.Dial also takes a service name (host:http)
                check_port(f"checks[{position}].tcp port", int(port))
            body["TCP"] = check["tcp"]
        body["Interval"] = check.get("interval") or DEFAULT_INTERVAL
        _seconds(body["Interval"])
        if check.get("timeout"):
            _seconds(check["timeout"])
            body["Timeout"] = check["timeout"]
    if check.get("notes"):
        body["Notes"] = check["notes"]
    if check.get("status"):
        body["Status"] = check["status"]
    if check.get("deregister_critical_service_after"):
        _seconds(check["deregister_critical_service_after"])
        body["DeregisterCriticalServiceAfter"] = check["deregister_critical_service_after"]
    return body


def fingerprint(checks: list) -> str:
    text = json.dumps(sorted(checks, key=lambda c: c["CheckID"]), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def registration_body(
    name: str, service_id: str, address, port, tags, meta, enable_tag_override: bool, checks: list
) -> dict:
    """The PUT /v1/agent/service/register body for module options.

    Everything ConsulClient.register_service would refuse is refused here, before anything is
    sent, so that check mode fails exactly where the real run does.
    """
    check_name("service", name)
    service_id = service_id or name
    check_name("service ID", service_id)
    port = check_port("service_port", port, allow_zero=True)
    bodies = [check_body(c, i, service_id, name, len(checks)) for i, c in enumerate(checks or [])]
    ids = [b["CheckID"] for b in bodies]
    if len(set(ids)) != len(ids):
        raise ConsulInvalidArgument(f"check IDs must be unique, got {ids}.")
    meta = {str(k): str(v) for k, v in (meta or {}).items()}
    if FINGERPRINT_KEY in meta:
        raise ConsulInvalidArgument(f"meta key {FINGERPRINT_KEY!r} is reserved for the check fingerprint.")
    if bodies:
        meta[FINGERPRINT_KEY] = fingerprint(bodies)
    body = {
        "ID": service_id,
        "Name": name,
        "Tags": [str(t) for t in tags or []],
        "Meta": meta,
        "Address": address or "",
        "Port": int(port or 0),
        "EnableTagOverride": bool(enable_tag_override),
    }
    if bodies:
        body["Checks"] = bodies
    return body


def _check_view(check_id: str, name: str, kind: str, interval, timeout, notes) -> dict:
    return {
        "id": check_id,
        "name": name,
        "type": kind,
        "interval": _seconds(interval),
        "timeout": _seconds(timeout),
        "notes": notes or "",
    }


def desired_view(body: dict) -> dict:
    """What the agent will report once `body` is registered."""
    checks = []
    for check in body.get("Checks") or []:
        kind = "http" if "HTTP" in check else "tcp" if "TCP" in check else "ttl"
        checks.append(
            _check_view(
                check["CheckID"], check["Name"], kind, check.get("Interval"), check.get("Timeout"), check.get("Notes")
            )
        )
    return _view(body["ID"], body["Name"], body["Address"], body["Port"], body["Tags"], body["Meta"], body, checks)


def current_view(service: dict | None, agent_checks: dict) -> dict | None:
    """The registration as the agent reports it (/v1/agent/services entry and /v1/agent/checks)."""
    if service is None:
        return None
    checks = [
        _check_view(c["CheckID"], c.get("Name"), c.get("Type"), c.get("Interval"), c.get("Timeout"), c.get("Notes"))
        for c in agent_checks.values()
        if c.get("ServiceID") == service.get("ID")
    ]
    return _view(
        service.get("ID"),
        service.get("Service"),
        service.get("Address"),
        service.get("Port"),
        service.get("Tags"),
        service.get("Meta"),
        service,
        checks,
    )


def _view(service_id, name, address, port, tags, meta, raw, checks) -> dict:
    return {
        "id": service_id,
        "name": name,
        "address": address or "",
        "port": int(port or 0),
        "tags": list(tags or []),
        "meta": dict(meta or {}),
        "enable_tag_override": bool(raw.get("EnableTagOverride")),
        "checks": sorted(checks, key=lambda c: c["id"]),
    }
