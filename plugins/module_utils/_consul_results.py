# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed results: one shape for service instances, nodes, checks and cluster state.

Built from the JSON the Consul HTTP API returns. `to_dict()` gives the shape modules return
and lookups hand to templates. No Ansible imports.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

# Worst first wins when statuses are combined; maintenance mode reports as critical.
_SEVERITY = {"passing": 0, "warning": 1, "critical": 2}


class Indexed(NamedTuple):
    """A read result with the X-Consul-Index to pass back as `index` for a blocking query."""

    index: int
    value: Any


def parse_index(raw) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0


def worst_status(statuses) -> str:
    """The aggregate health of a set of check statuses; no checks counts as passing."""
    worst = "passing"
    for status in statuses:
        status = status if status in _SEVERITY else "critical"
        if _SEVERITY[status] > _SEVERITY[worst]:
            worst = status
    return worst


def format_endpoint(address: str, port: int) -> str:
    if ":" in address and not address.startswith("["):
        address = f"[{address}]"
    return f"{address}:{port}"


@dataclass
class Check:
    node: str
    check_id: str
    name: str
    status: str
    service_id: str = ""
    service_name: str = ""
    output: str = ""
    type: str = ""

    @classmethod
    def from_api(cls, raw: dict) -> Check:
        return cls(
            node=raw.get("Node") or "",
            check_id=raw.get("CheckID") or "",
            name=raw.get("Name") or "",
            status=raw.get("Status") or "critical",
            service_id=raw.get("ServiceID") or "",
            service_name=raw.get("ServiceName") or "",
            output=raw.get("Output") or "",
            type=raw.get("Type") or "",
        )

    def to_dict(self) -> dict:
        # Field by field rather than asdict(): asdict's recursive deep copy is what a lookup of
        # 10,000 instances with format=dict spent most of its time on (bench/scale.py).
        return {
            "node": self.node,
            "check_id": self.check_id,
            "name": self.name,
            "status": self.status,
            "service_id": self.service_id,
            "service_name": self.service_name,
            "output": self.output,
            "type": self.type,
        }


@dataclass
class ServiceInstance:
    """One registration of a service on one node.

    `address` follows Consul's rule: the service address, or the node address when the service
    has none. `status` is the worst of the node and service checks, or None for a catalog read
    (which carries no health).
    """

    service: str
    service_id: str
    node: str
    node_address: str
    address: str
    port: int
    datacenter: str = ""
    tags: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    node_meta: dict = field(default_factory=dict)
    checks: list = field(default_factory=list)
    status: str | None = None

    @property
    def endpoint(self) -> str:
        return format_endpoint(self.address, self.port)

    @classmethod
    def from_health(cls, entry: dict) -> ServiceInstance:
        """An entry of GET /v1/health/service/<name>."""
        node = entry.get("Node") or {}
        service = entry.get("Service") or {}
        raw_checks = entry.get("Checks")
        checks = [Check.from_api(c) for c in raw_checks] if raw_checks else []
        return cls(
            service=service.get("Service") or "",
            service_id=service.get("ID") or "",
            node=node.get("Node") or "",
            node_address=node.get("Address") or "",
            address=service.get("Address") or node.get("Address") or "",
            port=int(service.get("Port") or 0),
            datacenter=node.get("Datacenter") or "",
            tags=list(service.get("Tags") or []),
            meta=dict(service.get("Meta") or {}),
            node_meta=dict(node.get("Meta") or {}),
            checks=checks,
            status=worst_status([c.status for c in checks]) if checks else "passing",
        )

    @classmethod
    def from_catalog(cls, entry: dict) -> ServiceInstance:
        """An entry of GET /v1/catalog/service/<name>."""
        return cls(
            service=entry.get("ServiceName") or "",
            service_id=entry.get("ServiceID") or "",
            node=entry.get("Node") or "",
            node_address=entry.get("Address") or "",
            address=entry.get("ServiceAddress") or entry.get("Address") or "",
            port=int(entry.get("ServicePort") or 0),
            datacenter=entry.get("Datacenter") or "",
            tags=list(entry.get("ServiceTags") or []),
            meta=dict(entry.get("ServiceMeta") or {}),
            node_meta=dict(entry.get("NodeMeta") or {}),
        )

    def to_dict(self) -> dict:
        # Field by field rather than asdict(), as in Check.to_dict: the same dict, with copies of
        # the containers (Consul's tags are strings and its meta maps string to string, so a
        # shallow copy is a full one), at a fraction of asdict's cost per instance.
        return {
            "service": self.service,
            "service_id": self.service_id,
            "node": self.node,
            "node_address": self.node_address,
            "address": self.address,
            "port": self.port,
            "datacenter": self.datacenter,
            "tags": list(self.tags),
            "meta": dict(self.meta),
            "node_meta": dict(self.node_meta),
            "checks": [c.to_dict() if isinstance(c, Check) else deepcopy(c) for c in self.checks],
            "status": self.status,
            "endpoint": self.endpoint,
        }


@dataclass
class Node:
    name: str
    address: str
    datacenter: str = ""
    id: str = ""
    meta: dict = field(default_factory=dict)
    tagged_addresses: dict = field(default_factory=dict)

    @classmethod
    def from_api(cls, raw: dict) -> Node:
        """An entry of GET /v1/catalog/nodes (or the Node part of /v1/catalog/node/<name>)."""
        return cls(
            name=raw.get("Node") or "",
            address=raw.get("Address") or "",
            datacenter=raw.get("Datacenter") or "",
            id=raw.get("ID") or "",
            meta=dict(raw.get("Meta") or {}),
            tagged_addresses=dict(raw.get("TaggedAddresses") or {}),
        )

    def to_dict(self) -> dict:
        return asdict(self)


# serf member status codes, from serf's MemberStatus
_MEMBER_STATUS = {0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}


@dataclass
class Member:
    name: str
    address: str
    port: int
    status: str
    role: str = ""
    datacenter: str = ""
    version: str = ""
    tags: dict = field(default_factory=dict)

    @classmethod
    def from_api(cls, raw: dict) -> Member:
        """An entry of GET /v1/agent/members."""
        tags = dict(raw.get("Tags") or {})
        role = tags.get("role") or ""
        return cls(
            name=raw.get("Name") or "",
            address=raw.get("Addr") or "",
            port=int(raw.get("Port") or 0),
            status=_MEMBER_STATUS.get(raw.get("Status"), str(raw.get("Status"))),
            role="server" if role == "consul" else (role or "client"),
            datacenter=tags.get("dc") or "",
            version=tags.get("build", "").split(":")[0],
            tags=tags,
        )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RaftServer:
    id: str
    node: str
    address: str
    leader: bool
    voter: bool

    @classmethod
    def from_api(cls, raw: dict) -> RaftServer:
        """An entry of the Servers list of GET /v1/operator/raft/configuration."""
        return cls(
            id=raw.get("ID") or "",
            node=raw.get("Node") or "",
            address=raw.get("Address") or "",
            leader=bool(raw.get("Leader")),
            voter=bool(raw.get("Voter")),
        )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class AutopilotHealth:
    healthy: bool
    failure_tolerance: int
    servers: list = field(default_factory=list)

    @classmethod
    def from_api(cls, raw: dict) -> AutopilotHealth:
        """GET /v1/operator/autopilot/health."""
        servers = [
            {
                "id": s.get("ID") or "",
                "name": s.get("Name") or "",
                "address": s.get("Address") or "",
                "healthy": bool(s.get("Healthy")),
                "leader": bool(s.get("Leader")),
                "voter": bool(s.get("Voter")),
                "serf_status": s.get("SerfStatus") or "",
                "last_index": int(s.get("LastIndex") or 0),
            }
            for s in raw.get("Servers") or []
        ]
        return cls(
            healthy=bool(raw.get("Healthy")),
            failure_tolerance=int(raw.get("FailureTolerance") or 0),
            servers=servers,
        )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class KVEntry:
    key: str
    value: str | None
    flags: int = 0
    create_index: int = 0
    modify_index: int = 0
    session: str = ""

    @classmethod
    def from_api(cls, raw: dict) -> KVEntry:
        """An entry of GET /v1/kv/<key>; the consul package has already base64-decoded Value."""
        value = raw.get("Value")
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        return cls(
            key=raw.get("Key") or "",
            value=value,
            flags=int(raw.get("Flags") or 0),
            create_index=int(raw.get("CreateIndex") or 0),
            modify_index=int(raw.get("ModifyIndex") or 0),
            session=raw.get("Session") or "",
        )

    def to_dict(self) -> dict:
        return asdict(self)
