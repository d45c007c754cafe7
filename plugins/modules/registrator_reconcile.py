# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: registrator_reconcile
short_description: Compare the services registrator should have registered on a Docker host with the local agent, and fix them
version_added: 0.1.0
description:
  - Runs on a Docker host. Lists the running containers through the Docker SDK and applies
    registrator's own rules to work out the services they should produce (C(SERVICE_*)
    environment variables and labels, the C(<name>-<port>) suffix for containers with several
    published ports, IDs of the form C(<hostname>:<container>:<port>[:udp]), O(internal)).
  - Compares them with the services registered on the local Consul agent and reports what is
    RV(missing), RV(outdated) and RV(stale).
  - With O(state=reconciled) it deregisters stale entries and registers missing and outdated
    ones. That cleans up registrator's best-known failure, orphans left behind when registrator
    or the host crashed while containers stopped.
  - Only services whose ID has registrator's shape for O(hostname) can be stale, so services
    registered by other means (or with a C(SERVICE_ID) override) are never removed.
author: dockyard.discovery contributors (@dockyard)
options:
  state:
    description: V(report) only compares; V(reconciled) also applies the changes.
    type: str
    choices: [report, reconciled]
    default: report
  hostname:
    description:
      - The hostname registrator runs with; it is the first part of every service ID registrator makes.
      - Defaults to the host name of the target, which is registrator's own when it runs with host networking.
    type: str
  internal:
    description: Registrator's C(-internal) flag, register container IPs and exposed ports instead of published ones.
    type: bool
    default: false
  host_ip:
    description: Registrator's C(-ip) flag, the address to register for published ports.
    type: str
  explicit:
    description: Registrator's C(-explicit) flag, only containers with a C(SERVICE_NAME) (or C(SERVICE_<port>_NAME)).
    type: bool
    default: false
  tags:
    description: Registrator's C(-tags) flag, tags added to every service (plain values, no Go templates).
    type: list
    elements: str
    default: []
  use_ip_from_label:
    description: Registrator's C(-useIpFromLabel) flag, a container label holding the address to register.
    type: str
extends_documentation_fragment:
  - dockyard.discovery.connection
  - dockyard.discovery.docker
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
notes:
  - Check commands and scripts (C(SERVICE_CHECK_CMD), C(SERVICE_CHECK_SCRIPT)) and Go templates in O(tags) are not supported.
"""

EXAMPLES = r"""
- name: Report orphans and gaps
  dockyard.discovery.registrator_reconcile:
    internal: false
  register: drift

- name: Remove orphans, register what is missing
  dockyard.discovery.registrator_reconcile:
    state: reconciled
"""

RETURN = r"""
expected:
  description: IDs of the services the running containers produce.
  returned: success
  type: list
  elements: str
  sample: ["docker1:web:8080"]
missing:
  description: Registrations (agent register bodies) of expected services the agent does not have.
  returned: success
  type: list
  elements: dict
outdated:
  description: Registrations of expected services the agent has with other name, address, port, tags or meta.
  returned: success
  type: list
  elements: dict
stale:
  description: IDs of registrator-made services on the agent that no running container produces.
  returned: success
  type: list
  elements: str
  sample: ["docker1:old:8080"]
in_sync:
  description: IDs of expected services registered as they should be.
  returned: success
  type: list
  elements: str
containers:
  description: Number of running containers inspected.
  returned: success
  type: int
"""

import os
import socket

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule
from ansible_collections.dockyard.discovery.plugins.module_utils._docker_api import (
    DOCKER_IMPORT_ERROR,
    DockerUnavailable,
    default_docker_host,
)
from ansible_collections.dockyard.discovery.plugins.module_utils._registrator_repair import docker_api, repair
from ansible_collections.dockyard.discovery.plugins.module_utils._registrator_rules import RegistratorOptions


def reconcile(consul: ConsulModule) -> dict:
    params = consul.params
    options = RegistratorOptions(
        hostname=params["hostname"] or socket.gethostname(),
        internal=params["internal"],
        host_ip=params["host_ip"] or "",
        explicit=params["explicit"],
        force_tags=tuple(params["tags"]),
        use_ip_from_label=params["use_ip_from_label"] or "",
    )
    api = docker_api(default_docker_host(params["docker_host"], os.environ))
    found = repair(consul.client, api, options, fix=params["state"] == "reconciled", check_mode=consul.check_mode)
    result = found.summary()
    if consul.diff_mode:
        result["diff"] = {"before": found.before, "after": found.after}
    return result


def main():
    consul = ConsulModule(
        argument_spec={
            "state": {"type": "str", "choices": ["report", "reconciled"], "default": "report"},
            "hostname": {"type": "str"},
            "internal": {"type": "bool", "default": False},
            "host_ip": {"type": "str"},
            "explicit": {"type": "bool", "default": False},
            "tags": {"type": "list", "elements": "str", "default": []},
            "use_ip_from_label": {"type": "str"},
            "docker_host": {"type": "str"},
        },
        supports_check_mode=True,
    )
    if DOCKER_IMPORT_ERROR is not None:
        consul.module.fail_json(msg=missing_required_lib("docker"), exception=DOCKER_IMPORT_ERROR)
    consul.run(reconcile, errors=(DockerUnavailable,))


if __name__ == "__main__":
    main()
