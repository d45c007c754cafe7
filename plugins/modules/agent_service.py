# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: agent_service
short_description: Register or deregister a service, with its checks, on a Consul agent
version_added: 0.1.0
description:
  - Registers a service on the agent it talks to (C(/v1/agent/service/register)), with HTTP, TCP and TTL checks,
    or deregisters it.
  - Idempotent. It reads the agent's registration, compares it with the wanted one, and
    re-registers only when they differ. The agent API does not return what a check probes
    (URL, TCP address, TTL, method, headers), so the module keeps a fingerprint of the check
    definitions in the service meta key C(dockyard_checks). A service registered by other means
    is re-registered once to add it.
  - Checks missing from O(checks) are removed from the service.
author: dockyard.discovery contributors (@dockyard)
options:
  name:
    description: Service name.
    type: str
    required: true
  id:
    description: Service ID, unique on the agent. Defaults to O(name).
    type: str
  state:
    description: V(present) registers, V(absent) deregisters the service with ID O(id).
    type: str
    choices: [present, absent]
    default: present
  service_address:
    description: Service address. Empty means the node's address.
    type: str
  service_port:
    description:
      - Service port, V(0) to V(65535); V(0) or not set means the service has no port.
      - (O(port) is the agent's port, from the connection options.)
    type: int
  tags:
    description: Service tags.
    type: list
    elements: str
    default: []
  meta:
    description: Service metadata (string values). The key C(dockyard_checks) is reserved.
    type: dict
    default: {}
  enable_tag_override:
    description: Let anti-entropy keep tags changed in the catalog.
    type: bool
    default: false
  checks:
    description: Health checks; each needs exactly one of O(checks[].http), O(checks[].tcp) or O(checks[].ttl).
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: Check ID. Consul's default is C(service:<id>), or C(service:<id>:<n>) with several checks.
        type: str
      name:
        description: Check name. Defaults to C(Service '<name>' check).
        type: str
      http:
        description: URL an HTTP check requests; a 2xx answer passes, 429 warns, anything else fails.
        type: str
      method:
        description: HTTP method of an HTTP check.
        type: str
      headers:
        description: HTTP headers of an HTTP check.
        type: dict
      tls_skip_verify:
        description: Do not verify the certificate of an HTTPS check.
        type: bool
        default: false
      tcp:
        description: C(host:port) a TCP check connects to.
        type: str
      ttl:
        description: A TTL check fails unless it is updated within this duration (V(30s)).
        type: str
      interval:
        description: How often an HTTP or TCP check runs; V(10s) when not set.
        type: str
      timeout:
        description: Timeout of an HTTP or TCP check.
        type: str
      notes:
        description: Free text for humans.
        type: str
      status:
        description: Status of the check until it first runs.
        type: str
        choices: [passing, warning, critical]
      deregister_critical_service_after:
        description: Deregister the service when this check has been critical for this long (V(90m)).
        type: str
extends_documentation_fragment:
  - dockyard.discovery.connection
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
  action_group:
    description: Part of the action group C(dockyard.discovery.consul), for O(ignore:module_defaults).
    support: full
    membership: [dockyard.discovery.consul]
requirements:
  - python-consul2 or py-consul
"""

EXAMPLES = r"""
- name: Register web with an HTTP and a TTL check
  dockyard.discovery.agent_service:
    name: web
    id: web-8080
    service_port: 8080
    tags: [v1]
    checks:
      - http: http://127.0.0.1:8080/health
        interval: 5s
        timeout: 2s
      - ttl: 30s
        name: heartbeat

- name: Deregister it
  dockyard.discovery.agent_service:
    name: web
    id: web-8080
    state: absent
"""

RETURN = r"""
service:
  description: The registration after the task (as it will be, in check mode); V(null) when absent.
  returned: success
  type: dict
  contains:
    id:
      description: Service ID.
      type: str
    name:
      description: Service name.
      type: str
    address:
      description: Service address.
      type: str
    port:
      description: Service port.
      type: int
    tags:
      description: Tags.
      type: list
      elements: str
    meta:
      description: Metadata, with the C(dockyard_checks) fingerprint.
      type: dict
    enable_tag_override:
      description: Tag override flag.
      type: bool
    checks:
      description: Checks as the agent reports them (id, name, type, interval and timeout in seconds, notes).
      type: list
      elements: dict
registration:
  description: The body sent (or, in check mode, that would be sent) to the agent.
  returned: when the service is registered
  type: dict
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._agent_service import (
    current_view,
    desired_view,
    registration_body,
)
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulNotFound
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_validate import check_name


def apply_service(consul: ConsulModule) -> dict:
    params = consul.params
    client = consul.client
    service_id = params["id"] or params["name"]
    # Validated before the agent is read, in check mode too: what the real run refuses, check mode refuses.
    check_name("service", params["name"])
    check_name("service ID", service_id)
    body = None
    if params["state"] == "present":
        body = registration_body(
            params["name"],
            service_id,
            params["service_address"],
            params["service_port"],
            params["tags"],
            params["meta"],
            params["enable_tag_override"],
            params["checks"],
        )
    before = current_view(client.agent_services().get(service_id), client.agent_checks())

    if params["state"] == "absent":
        changed = before is not None
        if changed and not consul.check_mode:
            try:
                client.deregister_service(service_id)
            except ConsulNotFound:
                pass  # deregistered by someone else since it was read: the wanted state
        return _result(consul, changed, before, None)

    after = desired_view(body)
    changed = before != after
    if changed and not consul.check_mode:
        client.register_service(body, replace_existing_checks=True)
    return _result(consul, changed, before, after, registration=body)


def _result(consul: ConsulModule, changed: bool, before, after, **extra) -> dict:
    result = {"changed": changed, "service": after, **extra}
    if consul.diff_mode:
        result["diff"] = {"before": before or {}, "after": after or {}}
    return result


def main():
    check_options = {
        "id": {"type": "str"},
        "name": {"type": "str"},
        "http": {"type": "str"},
        "method": {"type": "str"},
        "headers": {"type": "dict"},
        "tls_skip_verify": {"type": "bool", "default": False},
        "tcp": {"type": "str"},
        "ttl": {"type": "str"},
        "interval": {"type": "str"},
        "timeout": {"type": "str"},
        "notes": {"type": "str"},
        "status": {"type": "str", "choices": ["passing", "warning", "critical"]},
        "deregister_critical_service_after": {"type": "str"},
    }
    consul = ConsulModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "id": {"type": "str"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "service_address": {"type": "str"},
            "service_port": {"type": "int"},
            "tags": {"type": "list", "elements": "str", "default": []},
            "meta": {"type": "dict", "default": {}},
            "enable_tag_override": {"type": "bool", "default": False},
            "checks": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": check_options,
                "mutually_exclusive": [["http", "tcp", "ttl"]],
                "required_one_of": [["http", "tcp", "ttl"]],
            },
        },
        supports_check_mode=True,
    )
    consul.run(apply_service)


if __name__ == "__main__":
    main()
