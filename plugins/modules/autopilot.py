# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: autopilot
short_description: Keep a Consul datacenter's autopilot configuration as given
version_added: 0.2.0
description:
  - Reads the autopilot configuration of the datacenter (C(/v1/operator/autopilot/configuration)),
    compares it with the given options and writes it only when one differs.
  - The C(autopilot) block of the servers' configuration files only seeds this configuration when the
    datacenter bootstraps; afterwards raft holds it, and a changed file changes nothing. This module is
    how a converge keeps an existing datacenter in line with its inventory.
  - Options left unset keep their current value. Durations are compared by their value, so V(10s) and
    V(10000ms) are the same.
author: dockyard.discovery contributors (@dockyard)
options:
  cleanup_dead_servers:
    description: Remove failed servers' raft peers (subject to O(min_quorum)).
    type: bool
  last_contact_threshold:
    description: How long a server may go without contact with the leader before autopilot calls it unhealthy (a Go duration).
    type: str
  max_trailing_logs:
    description: How many raft entries a server may trail the leader by and still be healthy.
    type: int
  min_quorum:
    description:
      - Autopilot prunes no failed server while fewer than this many would remain; V(0) is no minimum.
      - Set it to the number of servers, so that a server that is only cut off keeps its seat.
    type: int
  server_stabilization_time:
    description: How long a new server must be healthy before it becomes a voter (a Go duration).
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
notes:
  - Needs a token with C(operator:write) (C(operator:read) in check mode).
seealso:
  - module: dockyard.discovery.cluster_info
"""

EXAMPLES = r"""
- name: Keep every server's raft seat while it is only cut off
  dockyard.discovery.autopilot:
    cleanup_dead_servers: true
    min_quorum: "{{ groups['consul_servers'] | length }}"
    token: "{{ consul_management_token }}"
  run_once: true
  no_log: true
"""

RETURN = r"""
configuration:
  description: The options this module manages, after the task (or as they would be, in check mode).
  returned: success
  type: dict
  sample: {"cleanup_dead_servers": true, "last_contact_threshold": "200ms", "max_trailing_logs": 250,
           "min_quorum": 3, "server_stabilization_time": "10s"}
operation:
  description: C(update) when the configuration changed (or would), else null.
  returned: always
  type: str
  sample: update
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_declarative import plan, result
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulInvalidArgument
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_validate import go_duration

# option: (Consul's key, kind)
FIELDS = {
    "cleanup_dead_servers": ("CleanupDeadServers", "bool"),
    "last_contact_threshold": ("LastContactThreshold", "duration"),
    "max_trailing_logs": ("MaxTrailingLogs", "count"),
    "min_quorum": ("MinQuorum", "count"),
    "server_stabilization_time": ("ServerStabilizationTime", "duration"),
}


def wanted_from(params: dict) -> dict:
    """The given options, validated before anything is read (check mode fails the same way)."""
    wanted = {}
    for option, (_key, kind) in FIELDS.items():
        value = params[option]
        if value is None:
            continue
        if kind == "count" and value < 0:
            raise ConsulInvalidArgument(f"{option} must be 0 or more, not {value}.")
        if kind == "duration":
            go_duration(value)
        wanted[option] = value
    return wanted


def same(kind: str, current, given) -> bool:
    if kind == "duration":
        return go_duration(current) == go_duration(given)
    return current == given


def apply_autopilot(consul: ConsulModule) -> dict:
    wanted = wanted_from(consul.params)
    stored = consul.client.autopilot_configuration()
    current = {option: stored.get(key) for option, (key, _kind) in FIELDS.items()}
    # A duration written differently but equal (10s, 10000ms) is no change: keep Consul's spelling.
    given = {
        option: (current[option] if same(FIELDS[option][1], current[option], value) else value)
        for option, value in wanted.items()
    }
    decision = plan(current, given)
    if decision.changed and not consul.check_mode:
        body = {key: value for key, value in stored.items() if key not in ("CreateIndex", "ModifyIndex")}
        body.update({FIELDS[option][0]: value for option, value in decision.after.items()})
        consul.client.autopilot_configuration_set(body)
    return result(decision, consul.diff_mode, configuration=decision.after)


def main():
    consul = ConsulModule(
        argument_spec={
            "cleanup_dead_servers": {"type": "bool"},
            "last_contact_threshold": {"type": "str"},
            "max_trailing_logs": {"type": "int"},
            "min_quorum": {"type": "int"},
            "server_stabilization_time": {"type": "str"},
        },
        supports_check_mode=True,
    )
    consul.run(apply_autopilot)


if __name__ == "__main__":
    main()
