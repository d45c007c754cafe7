# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: agent_check
short_description: Register and deregister health checks on the local Consul agent
version_added: 0.1.0
description:
  - Makes the check O(id) (by default O(name)) exist on the agent the module talks to with the
    given definition, or deregisters it. A check belongs to the node, or with O(service_id) to one
    of the agent's services.
  - Exactly one of O(http), O(tcp) and O(ttl) says what the check does. Ports, URLs and durations
    are checked before anything is sent, in check mode too.
  - A registration is a whole definition. Options left unset get Consul's defaults, not the
    values of the registered check.
  - "What a check probes cannot be read back: Consul's agent and health APIs return a check's
    name, type, interval, timeout, notes and service, but not its URL, TCP address, TTL, method,
    headers or C(deregister_critical_service_after). So that a changed target is still found,
    the module keeps a fingerprint of the whole definition on the last line of the check's
    notes (C(dockyard-definition: <hash>)); RV(check.notes) leaves that line out. A check
    without it (registered by something else, or with O(track_definition=false)) has an
    unknown target, so the module registers it again and reports a change, never V(ok)."
  - Registering again sets the check's status back to O(status) (critical when not set) until
    its next run.
  - The options follow community.general's C(consul_agent_check) where they exist.
author: dockyard.discovery contributors (@dockyard)
options:
  name:
    description: The check's name.
    type: str
    required: true
  id:
    description: The check's ID, unique on the agent; O(name) when not set.
    type: str
  state:
    description: Whether the check is registered.
    type: str
    choices: [present, absent]
    default: present
  service_id:
    description: The ID of the agent service the check belongs to; a node check when not set.
    type: str
  notes:
    description: Free-form notes, shown with the check.
    type: str
  http:
    description: URL (V(http) or V(https)) that the agent requests every O(interval); 2xx is passing, 429 warning.
    type: str
  method:
    description: HTTP method of an O(http) check; V(GET) when not set.
    type: str
  header:
    description: HTTP headers of an O(http) check, each a string or a list of strings.
    type: dict
  tls_skip_verify:
    description: Whether an V(https) O(http) check skips verifying the certificate.
    type: bool
    default: false
  tcp:
    description: C(host:port) that the agent connects to every O(interval); a connection is passing.
    type: str
  ttl:
    description:
      - A duration such as V(30s). The check is critical unless something reports its status within it
        (C(PUT /v1/agent/check/pass/<id>)).
    type: str
  interval:
    description: How often an O(http) or O(tcp) check runs, a duration such as V(10s); V(10s) when not set.
    type: str
  check_timeout:
    description:
      - Timeout of an O(http) or O(tcp) check, a duration; Consul's default (10s) when not set.
      - community.general calls it C(timeout); here O(timeout) is the connection's timeout (see below).
    type: str
  deregister_critical_service_after:
    description: With O(service_id), deregister the service when the check has been critical this long.
    type: str
  status:
    description: The check's status when it is registered (again); not compared.
    type: str
    choices: [passing, warning, critical]
  track_definition:
    description:
      - Keep the fingerprint of the definition in the check's notes (see above).
      - With V(false) the module cannot see a registered check's target, so every run registers it
        again and reports a change.
    type: bool
    default: true
  force:
    description: Register the check again even when it looks the same (it also resets its status).
    type: bool
    default: false
extends_documentation_fragment:
  - dockyard.discovery.connection
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows what the agent returns, and the definition's fingerprint for what it does not.
  platform:
    platforms: posix
  action_group:
    description: Part of the action group C(dockyard.discovery.consul), for O(ignore:module_defaults).
    support: full
    membership: [dockyard.discovery.consul]
notes:
  - Needs a token with C(node = "write") on the agent's node, or C(service = "write") on the service
    for a check with O(service_id).
  - The check lives on the agent the module talks to (O(host)); run the task against each agent.
  - The O(header) values go into the fingerprint (a truncated SHA-256, which cannot be reversed
    but can confirm a guessed value); keep secrets out of health check headers.
seealso:
  - module: dockyard.discovery.agent_service
"""

EXAMPLES = r"""
- name: The node's disk is checked by a local HTTP endpoint
  dockyard.discovery.agent_check:
    name: disk
    http: http://127.0.0.1:9100/health/disk
    interval: 30s
    check_timeout: 5s
    notes: Fails above 90% usage

- name: A TCP check of the web service
  dockyard.discovery.agent_check:
    name: web-port
    service_id: web-1
    tcp: 127.0.0.1:8080
    interval: 10s

- name: A heartbeat that a cron job reports (PUT /v1/agent/check/pass/backup)
  dockyard.discovery.agent_check:
    name: backup
    ttl: 25h
    status: passing

- name: Remove the disk check
  dockyard.discovery.agent_check:
    name: disk
    state: absent
"""

RETURN = r"""
operation:
  description: What was done, or would be done in check mode; V(null) when nothing changes.
  returned: always
  type: str
  choices: [create, update, remove]
  sample: create
check:
  description: The check after the task, as far as the agent shows it; V(null) when it does not exist.
  returned: always
  type: dict
  contains:
    id:
      description: The check's ID.
      type: str
    name:
      description: Its name.
      type: str
    service_id:
      description: The service it belongs to; V("") for a node check.
      type: str
    notes:
      description: Its notes, without the fingerprint line.
      type: str
    type:
      description: V(http), V(tcp) or V(ttl).
      type: str
    interval:
      description: The interval in seconds; V(null) for a ttl check.
      type: float
    timeout:
      description: The timeout in seconds; V(null) when not managed.
      type: float
    definition:
      description: The fingerprint of the definition; V(null) when the check has none (its target is unknown).
      type: str
  sample:
    id: disk
    name: disk
    service_id: ""
    notes: Fails above 90% usage
    type: http
    interval: 30.0
    timeout: 5.0
    definition: 3f2a9c0d1b7e4a55
"""

import hashlib
import json
import re
import urllib.parse

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_declarative import Plan, plan, result
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulInvalidArgument
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_validate import (
    check_name,
    check_port,
    go_duration,
)

FINGERPRINT_MARK = "dockyard-definition: "
DEFAULT_INTERVAL = "10s"
_DURATIONS = ("Interval", "Timeout", "TTL", "DeregisterCriticalServiceAfter")
_METHOD = re.compile(r"[A-Z]+")
_FINGERPRINT_LINE = re.compile(r"(?:^|\n)" + re.escape(FINGERPRINT_MARK) + r"([0-9a-f]{16})$")


def split_notes(notes: str) -> tuple:
    """(the user's notes, the fingerprint or None) of a check's stored notes."""
    notes = notes or ""
    match = _FINGERPRINT_LINE.search(notes)
    if not match:
        return notes, None
    return notes[: match.start()], match.group(1)


def _duration(option: str, value, positive: bool = True):
    if value is None:
        return None
    seconds = go_duration(value)
    if positive and seconds <= 0:
        raise ConsulInvalidArgument(f"{option}={value!r} must be longer than 0s.")
    return seconds


def _check_http(url: str) -> None:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConsulInvalidArgument(f"http={url!r} is not an http:// or https:// URL with a host.")
    try:
        parsed.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        raise ConsulInvalidArgument(f"http={url!r} has an invalid port (1-65535).") from None
    if parsed.port is not None:
        check_port("http port", parsed.port)


def _check_tcp(address: str) -> None:
    host, _colon, port = address.rpartition(":")
    if not host or not port:
        raise ConsulInvalidArgument(f"tcp must be host:port, got {address!r}.")
    if port.isdigit():  # Go's net.Dial also takes a service name (host:http)
        check_port("tcp port", port)
    elif not port.isalpha():
        raise ConsulInvalidArgument(f"tcp={address!r}: {port!r} is not a port.")


def definition(params) -> dict:
    """The registration body (without the notes' fingerprint line) for the module options."""
    check_id = check_name("check ID", params["id"] or params["name"])
    check_name("check", params["name"])
    kinds = [kind for kind in ("http", "tcp", "ttl") if params[kind] is not None]
    if len(kinds) != 1:
        raise ConsulInvalidArgument(f"give exactly one of http, tcp or ttl, got {', '.join(kinds) or 'none'}.")
    kind = kinds[0]
    body = {"ID": check_id, "Name": params["name"]}
    if params["service_id"] is not None:
        body["ServiceID"] = check_name("service ID", params["service_id"])
    if kind == "ttl":
        _duration("ttl", params["ttl"])
        body["TTL"] = params["ttl"]
        for option in ("interval", "check_timeout", "method", "header"):
            if params[option] is not None:
                raise ConsulInvalidArgument(f"{option} does not apply to a ttl check.")
    else:
        if kind == "http":
            _check_http(params["http"])
            body["HTTP"] = params["http"]
            if params["method"] is not None:
                if not _METHOD.fullmatch(params["method"]):
                    raise ConsulInvalidArgument(f"method={params['method']!r} is not an HTTP method such as GET.")
                body["Method"] = params["method"]
            if params["header"] is not None:
                body["Header"] = {
                    str(name): [str(v) for v in (values if isinstance(values, list) else [values])]
                    for name, values in sorted(params["header"].items())
                }
            if params["tls_skip_verify"]:
                body["TLSSkipVerify"] = True
        else:
            _check_tcp(params["tcp"])
            body["TCP"] = params["tcp"]
            for option in ("method", "header"):
                if params[option] is not None:
                    raise ConsulInvalidArgument(f"{option} applies to http checks only.")
        body["Interval"] = params["interval"] or DEFAULT_INTERVAL
        _duration("interval", body["Interval"])
        if params["check_timeout"] is not None:
            _duration("check_timeout", params["check_timeout"])
            body["Timeout"] = params["check_timeout"]
    if params["deregister_critical_service_after"] is not None:
        _duration("deregister_critical_service_after", params["deregister_critical_service_after"])
        body["DeregisterCriticalServiceAfter"] = params["deregister_critical_service_after"]
    if params["notes"]:
        if _FINGERPRINT_LINE.search(params["notes"]):
            raise ConsulInvalidArgument(f"notes must not end with a {FINGERPRINT_MARK.strip()!r} line.")
        body["Notes"] = params["notes"]
    return body


def fingerprint(body: dict) -> str:
    """Of the definition's meaning: V(30s) and V(0.5m) are one interval."""
    canonical = {key: go_duration(value) if key in _DURATIONS else value for key, value in body.items()}
    text = json.dumps(canonical, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def normalised(check: dict | None) -> dict | None:
    """What the agent shows of a check, in the module's terms."""
    if check is None:
        return None
    notes, stored = split_notes(check.get("Notes"))
    kind = check.get("Type") or ""
    interval = go_duration(check["Interval"]) if check.get("Interval") else 0
    timeout = go_duration(check["Timeout"]) if check.get("Timeout") else 0
    return {
        "id": check["CheckID"],
        "name": check.get("Name") or "",
        "service_id": check.get("ServiceID") or "",
        "notes": notes,
        "type": kind,
        "interval": interval or None,
        "timeout": timeout or None,
        "definition": stored,
    }


def _wanted(body: dict) -> dict:
    kind = next(kind for kind in ("http", "tcp", "ttl") if kind.upper() in body)
    return {
        "id": body["ID"],
        "name": body["Name"],
        "service_id": body.get("ServiceID") or "",
        "notes": body.get("Notes") or "",
        "type": kind,
        "interval": _duration("interval", body.get("Interval")),
        # unset: Consul's default, not compared (a change of it changes the fingerprint)
        "timeout": _duration("check_timeout", body.get("Timeout")),
        "definition": fingerprint(body),
    }


def apply_check(consul: ConsulModule) -> dict:
    params, client = consul.params, consul.client
    check_id = check_name("check ID", params["id"] or params["name"])
    wanted = body = None
    if params["state"] == "present":
        body = definition(params)
        wanted = _wanted(body)
    current = normalised(client.agent_checks().get(check_id))
    # Read in check mode too: Consul refuses a check of a service it does not have.
    if body is not None and body.get("ServiceID") and body["ServiceID"] not in client.agent_services():
        raise ConsulInvalidArgument(
            f"service_id {body['ServiceID']!r}: the agent has no such service (register it first, "
            "dockyard.discovery.agent_service)."
        )
    decided = plan(current, wanted)
    if wanted is not None and current is not None and not decided.changed and params["force"]:
        decided = Plan("update", current, decided.after)
    after = decided.after
    if decided.changed and not consul.check_mode:
        if decided.operation == "remove":
            client.check_deregister(check_id)
        else:
            registration = dict(body)
            if params["track_definition"]:
                notes = body.get("Notes")
                registration["Notes"] = (f"{notes}\n" if notes else "") + FINGERPRINT_MARK + wanted["definition"]
            if params["status"]:
                registration["Status"] = params["status"]
            client.check_register(registration)
            read_back = normalised(client.agent_checks().get(check_id))
            if read_back is not None:
                after = {**read_back, "timeout": (after or {}).get("timeout")}
                if not params["track_definition"]:
                    after["definition"] = None
    return result(decided, consul.diff_mode, check=after)


def main():
    consul = ConsulModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "id": {"type": "str"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "service_id": {"type": "str"},
            "notes": {"type": "str"},
            "http": {"type": "str"},
            "method": {"type": "str"},
            "header": {"type": "dict"},
            "tls_skip_verify": {"type": "bool", "default": False},
            "tcp": {"type": "str"},
            "ttl": {"type": "str"},
            "interval": {"type": "str"},
            "check_timeout": {"type": "str"},
            "deregister_critical_service_after": {"type": "str"},
            "status": {"type": "str", "choices": ["passing", "warning", "critical"]},
            "track_definition": {"type": "bool", "default": True},
            "force": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    consul.run(apply_check)


if __name__ == "__main__":
    main()
