# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules gliderlabs/registrator applies to turn a running container into Consul services.

Pure functions over `docker inspect` output, with no Ansible and no I/O, so that the
registrator_reconcile module and the tests share one copy. The behaviour follows registrator's
master branch (bridge/bridge.go, bridge/util.go); tests/smoke/test_registrator_rules.py checks the
prediction field by field against what the real registrator registers.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field

# registrator's own pattern for IDs it generated: <hostname>:<container name>:<port>[:udp]
SERVICE_ID_PATTERN = re.compile(r"^(.+?):([a-zA-Z0-9][a-zA-Z0-9_.-]+):[0-9]+(?::udp)?$")


@dataclass(frozen=True)
class RegistratorOptions:
    """The registrator flags that change which services a container produces."""

    hostname: str
    internal: bool = False
    host_ip: str = ""
    explicit: bool = False
    force_tags: tuple = ()
    use_ip_from_label: str = ""


@dataclass(frozen=True)
class ExpectedService:
    """One service registrator would register for a container port."""

    id: str
    name: str
    address: str
    port: int
    tags: tuple = ()
    meta: dict = field(default_factory=dict, hash=False, compare=True)
    container_id: str = ""
    container_name: str = ""

    def registration(self) -> dict:
        """The body of PUT /v1/agent/service/register, as registrator sends it."""
        body = {"ID": self.id, "Name": self.name, "Address": self.address, "Port": self.port, "Tags": list(self.tags)}
        if self.meta:
            body["Meta"] = dict(self.meta)
        check = _build_check(self)
        if check:
            body["Check"] = check
        return body


def service_metadata(env: list, labels: dict, exposed_port: str) -> tuple[dict, set]:
    """SERVICE_* settings from env and labels, for one exposed port.

    Labels are read after env, so a label wins over an env variable with the same key.
    A port-specific key (SERVICE_80_NAME) wins over the generic one (SERVICE_NAME),
    whatever their order. Returns the settings and the keys that came from the port.
    """
    pairs = list(env or []) + [f"{k}={v}" for k, v in (labels or {}).items()]
    metadata: dict = {}
    from_port: set = set()
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.startswith("SERVICE_"):
            continue
        key = name[len("SERVICE_") :].lower()
        if key in from_port:
            continue
        head, _sep, rest = key.partition("_")
        if head.isdigit() and rest:
            if head != exposed_port:
                continue
            metadata[rest] = value
            from_port.add(rest)
        else:
            metadata[key] = value
    return metadata, from_port


def parse_escaped_commas(text: str) -> list:
    """registrator's recParseEscapedComma: split on commas not escaped as '\\,', drop empty items.

    Items are not trimmed, and come out in the order registrator's recursion produces
    (last item first), so a registration matches the one registrator makes byte for byte.
    """
    items = []
    while text:
        if text[0] == ",":
            text = text[1:]
            continue
        offset = 0
        while True:
            index = text.find(",", offset)
            if index == -1:
                items.insert(0, text)
                return items
            if text[index - 1] != "\\":
                items.insert(0, text[:index])
                text = text[index + 1 :]
                break
            text = text[: index - 1] + text[index:]
            offset = index
    return items


def _combine_tags(*sources: str) -> tuple:
    tags = []
    for source in sources:
        tags.extend(parse_escaped_commas(source or ""))
    return tuple(tags)


def _container_ip(inspect: dict) -> str:
    settings = inspect.get("NetworkSettings") or {}
    if settings.get("IPAddress"):
        return settings["IPAddress"]
    address = ""
    for network in (settings.get("Networks") or {}).values():
        address = (network or {}).get("IPAddress") or address
    return address


def container_ports(inspect: dict) -> dict:
    """Every port of a container as {"80/tcp": (host_ip, host_port)}; host_port is '' when unpublished."""
    config = inspect.get("Config") or {}
    ports = {}
    for port in config.get("ExposedPorts") or {}:
        ports[port] = ("0.0.0.0", port.split("/")[0])
    for port, published in ((inspect.get("NetworkSettings") or {}).get("Ports") or {}).items():
        host_ip, host_port = "", ""
        if published:
            host_ip = published[0].get("HostIp") or ""
            host_port = published[0].get("HostPort") or ""
        ports[port] = (host_ip or "0.0.0.0", host_port)
    network_mode = (inspect.get("HostConfig") or {}).get("NetworkMode") or ""
    if network_mode not in ("", "bridge", "default", "host") and not network_mode.startswith("container:"):
        overlay_ip = (((inspect.get("NetworkSettings") or {}).get("Networks") or {}).get(network_mode) or {}).get(
            "IPAddress"
        )
        if overlay_ip:
            ports = {port: (overlay_ip, binding[1]) for port, binding in ports.items()}
    return ports


def resolve_host_ip(hostname: str) -> str:
    """What registrator does with a 0.0.0.0 binding: resolve its own hostname."""
    try:
        return socket.gethostbyname(hostname)
    except OSError:
        return "0.0.0.0"


def services_for_container(inspect: dict, options: RegistratorOptions, resolve=resolve_host_ip) -> list:
    """The services registrator registers for one container, sorted by ID."""
    config = inspect.get("Config") or {}
    name = (inspect.get("Name") or "").lstrip("/")
    default_name = (config.get("Image") or "").rsplit("/", 1)[-1].split(":")[0]
    container_ip = _container_ip(inspect)

    ports = {key: value for key, value in container_ports(inspect).items() if options.internal or value[1]}
    is_group = len(ports) > 1
    services = []
    for key, (host_ip, host_port) in ports.items():
        exposed_port, _sep, port_type = key.partition("/")
        port_type = port_type or "tcp"
        metadata, from_port = service_metadata(config.get("Env"), config.get("Labels"), exposed_port)
        if metadata.get("ignore"):
            continue
        service_name = metadata.get("name", "")
        if not service_name:
            if options.explicit:
                continue
            service_name = default_name
        if is_group and "name" not in from_port:
            service_name = f"{service_name}-{exposed_port}"

        if host_ip == "0.0.0.0":
            host_ip = resolve(options.hostname)
        if options.host_ip:
            host_ip = options.host_ip
        if options.internal:
            address, port = container_ip, int(exposed_port)
        else:
            address, port = host_ip, int(host_port)
        if options.use_ip_from_label:
            labelled = (config.get("Labels") or {}).get(options.use_ip_from_label, "")
            if labelled:
                address = labelled.rsplit("/", 1)[0] if "/" in labelled else labelled

        service_id = f"{options.hostname}:{name}:{exposed_port}"
        if port_type == "udp":
            tags = _combine_tags(metadata.get("tags", ""), ",".join(options.force_tags), "udp")
            service_id += ":udp"
        else:
            tags = _combine_tags(metadata.get("tags", ""), ",".join(options.force_tags))
        service_id = metadata.get("id") or service_id
        meta = {k: v for k, v in metadata.items() if k not in ("id", "tags", "name")}
        services.append(
            ExpectedService(
                id=service_id,
                name=service_name,
                address=address,
                port=port,
                tags=tags,
                meta=meta,
                container_id=inspect.get("Id", ""),
                container_name=name,
            )
        )
    return sorted(services, key=lambda s: s.id)


def registered_by(service_id: str, hostname: str) -> bool:
    """True when an agent service ID has the shape registrator gives IDs on `hostname`."""
    match = SERVICE_ID_PATTERN.match(service_id or "")
    return bool(match) and match.group(1) == hostname


def _build_check(service: ExpectedService) -> dict:
    attrs = service.meta
    check: dict = {}
    timeout = attrs.get("check_timeout")
    if attrs.get("check_http"):
        check["HTTP"] = f"http://{service.address}:{service.port}{attrs['check_http']}"
        if attrs.get("check_http_method"):
            check["Method"] = attrs["check_http_method"]
    elif attrs.get("check_https"):
        check["HTTP"] = f"https://{service.address}:{service.port}{attrs['check_https']}"
        if attrs.get("check_https_method"):
            check["Method"] = attrs["check_https_method"]
    elif attrs.get("check_ttl"):
        check["TTL"] = attrs["check_ttl"]
        timeout = None
    elif attrs.get("check_tcp"):
        check["TCP"] = f"{service.address}:{service.port}"
    elif attrs.get("check_grpc"):
        check["GRPC"] = f"{service.address}:{service.port}"
        if attrs.get("check_grpc_use_tls"):
            check["GRPCUseTLS"] = True
            if attrs.get("check_tls_skip_verify"):
                check["TLSSkipVerify"] = True
    else:
        return {}
    if timeout:
        check["Timeout"] = timeout
    if "TTL" not in check:
        check["Interval"] = attrs.get("check_interval") or "10s"
    if attrs.get("check_initial_status"):
        check["Status"] = attrs["check_initial_status"]
    if attrs.get("check_deregister_after"):
        check["DeregisterCriticalServiceAfter"] = attrs["check_deregister_after"]
    return check
