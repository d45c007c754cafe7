# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_info
short_description: Report the members, raft peers, leader and autopilot health of a Consul cluster
version_added: 0.1.0
description:
  - Reads the cluster state through one agent, and sums it up in RV(healthy), so that a task can
    wait for a healthy cluster with C(until).
  - A cluster without a leader is not an error here; it is reported with RV(leader) empty and
    RV(healthy=false).
author: dockyard.discovery contributors (@dockyard)
options:
  wan:
    description: List the WAN members (servers of every datacenter) instead of the LAN members.
    type: bool
    default: false
  expect_servers:
    description: When set, RV(healthy) also needs at least this many voting raft servers.
    type: int
extends_documentation_fragment:
  - dockyard.discovery.connection
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    description: Part of the action group C(dockyard.discovery.consul), for O(ignore:module_defaults).
    support: full
    membership: [dockyard.discovery.consul]
requirements:
  - python-consul2 or py-consul
notes:
  - With ACLs on, the token needs C(node:read) for the members and C(operator:read) for raft and autopilot.
"""

EXAMPLES = r"""
- name: Wait for a healthy three-server cluster
  dockyard.discovery.cluster_info:
    expect_servers: 3
  register: cluster
  until: cluster.healthy
  retries: 30
  delay: 2
"""

RETURN = r"""
healthy:
  description: A leader is elected, autopilot reports the servers healthy and O(expect_servers) voters are there.
  returned: success
  type: bool
  sample: true
leader:
  description: RPC address of the raft leader; empty when there is none.
  returned: success
  type: str
  sample: 172.20.20.10:8300
peers:
  description: RPC addresses of the raft peers.
  returned: success
  type: list
  elements: str
members:
  description: Serf members seen by the agent.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Node name.
      type: str
    address:
      description: Gossip address.
      type: str
    port:
      description: Gossip port.
      type: int
    status:
      description: V(alive), V(leaving), V(left) or V(failed).
      type: str
    role:
      description: V(server) or V(client).
      type: str
    datacenter:
      description: Datacenter.
      type: str
    version:
      description: Consul version of the member.
      type: str
    tags:
      description: Raw serf tags.
      type: dict
raft_servers:
  description: The raft configuration; empty when there is no leader.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Server node ID.
      type: str
    node:
      description: Node name.
      type: str
    address:
      description: Raft address.
      type: str
    leader:
      description: Whether it is the leader.
      type: bool
    voter:
      description: Whether it votes.
      type: bool
autopilot:
  description: Autopilot's server health; V(null) when there is no leader to ask.
  returned: success
  type: dict
  contains:
    healthy:
      description: Autopilot's verdict.
      type: bool
    failure_tolerance:
      description: How many servers can fail without losing quorum.
      type: int
    servers:
      description: Per server health.
      type: list
      elements: dict
problems:
  description: Why RV(healthy) is false, one sentence each.
  returned: success
  type: list
  elements: str
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulServerError
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule


def read_cluster(consul: ConsulModule) -> dict:
    client = consul.client
    members = client.members(wan=consul.params["wan"])
    leader = client.leader()
    peers = client.peers()
    problems = []
    raft_servers, autopilot = [], None
    if not leader:
        problems.append("no raft leader is elected")
    else:
        # Leadership can be lost between the calls; that is a state to report, not a failure.
        try:
            raft_servers = client.raft_servers()
            autopilot = client.autopilot_health()
        except ConsulServerError as error:
            problems.append(f"the servers could not answer: {error.message}")
    if autopilot is not None and not autopilot.healthy:
        unhealthy = [s["name"] for s in autopilot.servers if not s["healthy"]]
        problems.append("autopilot reports unhealthy servers: " + (", ".join(unhealthy) or "(none named)"))
    expected = consul.params["expect_servers"]
    voters = [s for s in raft_servers if s.voter]
    if expected and len(voters) < expected:
        problems.append(f"{len(voters)} voting raft servers, {expected} expected")
    return {
        "changed": False,
        "healthy": not problems,
        "problems": problems,
        "leader": leader,
        "peers": peers,
        "members": [m.to_dict() for m in members],
        "raft_servers": [s.to_dict() for s in raft_servers],
        "autopilot": autopilot.to_dict() if autopilot else None,
    }


def main():
    consul = ConsulModule(
        argument_spec={"wan": {"type": "bool", "default": False}, "expect_servers": {"type": "int"}},
        supports_check_mode=True,
    )
    consul.run(read_cluster)


if __name__ == "__main__":
    main()
