# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: session
short_description: Create, renew and destroy Consul sessions
version_added: 0.1.0
description:
  - Sessions are Consul's building block for locks and leader election (see the C(acquire) and
    C(release) parameters of the key/value API).
  - O(state=present) makes a session named O(name) exist on O(node). Consul allows several
    sessions with one name; this module treats the name as the session's identity on its node
    (the rule below), so that the same task finds the same session on every run.
  - "The rule: with O(state=present), a session of that name on the node is the session. None:
    one is created. One: nothing changes, provided it matches the given O(behavior), O(ttl),
    O(delay) and checks (a session cannot change, so a mismatch fails the task; remove it first).
    Several: the task fails, as it cannot tell which one is meant; give O(id) or remove them."
  - O(state=absent) destroys the session O(id), or every session named O(name) on the node.
  - O(state=renewed) renews the TTL of session O(id). It reports a change every time (the TTL
    restarts); in check mode it only checks that the session exists.
  - M(dockyard.discovery.session_info) reads one session or lists them.
  - The options follow community.general's C(consul_session) where they exist.
author: dockyard.discovery contributors (@dockyard)
options:
  state:
    description: What to do.
    type: str
    choices: [present, absent, renewed]
    default: present
  name:
    description:
      - The session's name, which identifies it on its node for O(state=present) and O(state=absent).
      - Required with O(state=present) unless O(id) is given.
    type: str
  id:
    description:
      - The session's ID (a UUID). Required with O(state=renewed).
      - With O(state=present) the session must exist already; Consul chooses the ID of a new session.
    type: str
  node:
    description:
      - The node the session belongs to. When not set, the node of the agent the module talks to.
    type: str
  behavior:
    description:
      - What happens to the locks the session holds when it is invalidated. Consul's default is V(release).
    type: str
    choices: [release, delete]
  ttl:
    description:
      - Time to live, a duration such as V(30s) or a number of seconds, from 10s to 24h. The session is
        invalidated when not renewed (O(state=renewed)) within it. No TTL when not set.
    type: raw
  delay:
    description:
      - Lock delay, a duration or a number of seconds (at most 60s). It is how long a lock released by
        invalidation cannot be acquired again. Consul's default is 15s.
    type: raw
  node_checks:
    description:
      - Node health checks (check IDs) that invalidate the session when they go critical.
      - When not set, Consul uses C(serfHealth); V([]) means none.
    type: list
    elements: str
    aliases: [checks]
  service_checks:
    description: Service health checks (check IDs) that invalidate the session when they go critical.
    type: list
    elements: str
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
  - Needs a token with C(session = "write") on the node (C(session_prefix) rules), and
    C(agent = "read") on it when O(node) is not set.
  - A check given in O(node_checks) or O(service_checks) must be passing when the session is created.
seealso:
  - module: dockyard.discovery.kv
"""

EXAMPLES = r"""
- name: A session for the deploy lock, found again on every run by its name
  dockyard.discovery.session:
    name: deploy-lock
    behavior: release
    ttl: 5m
    delay: 0
  register: deploy_session

- name: Keep it alive during a long deploy
  dockyard.discovery.session:
    id: "{{ deploy_session.session_id }}"
    state: renewed

- name: Destroy the deploy session (which releases its locks)
  dockyard.discovery.session:
    name: deploy-lock
    state: absent
"""

RETURN = r"""
operation:
  description: What was done, or would be done in check mode; V(null) when nothing changes.
  returned: always
  type: str
  choices: [create, remove, renew]
  sample: create
session_id:
  description: The session's ID; V(null) for a session created in check mode, or none found.
  returned: always
  type: str
  sample: 976597fb-f2f3-19e9-d0ce-7be610d8fc0d
session:
  description: The session after the task (O(state=present), O(state=renewed)); V(null) when none.
  returned: always
  type: dict
  contains:
    id:
      description: The ID.
      type: str
    name:
      description: The name.
      type: str
    node:
      description: The node.
      type: str
    behavior:
      description: V(release) or V(delete).
      type: str
    ttl:
      description: The TTL in seconds; V(null) for none.
      type: float
    delay:
      description: The lock delay in seconds.
      type: float
    node_checks:
      description: Node check IDs, sorted.
      type: list
      elements: str
    service_checks:
      description: Service check IDs, sorted.
      type: list
      elements: str
  sample:
    id: 976597fb-f2f3-19e9-d0ce-7be610d8fc0d
    name: deploy-lock
    node: node1
    behavior: release
    ttl: 300.0
    delay: 0.0
    node_checks: [serfHealth]
    service_checks: []
sessions:
  description: With O(state=absent), the destroyed sessions (each like RV(session)).
  returned: when O(state=absent)
  type: list
  elements: dict
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_acl import check_uuid
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_declarative import Plan, plan, result
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import (
    ConsulInvalidArgument,
    ConsulNotFound,
)
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_sessions import normalised
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_validate import check_name, go_duration

# Consul's limits (structs.SessionTTLMin/Max and the lock delay's cap).
TTL_RANGE = (10, 86400)
MAX_DELAY = 60
_CREATE_ONLY = ("behavior", "ttl", "delay", "node_checks", "service_checks")


def _seconds(option: str, value, low: float, high: float):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConsulInvalidArgument(f"{option}={value!r} is not a duration; use e.g. '30s' or a number of seconds.")
    seconds = go_duration(value) if str(value).strip() else -1
    if not low <= seconds <= high:
        raise ConsulInvalidArgument(f"{option}={value!r} is out of range ({low:g}s to {high:g}s).")
    return seconds


def _wanted(params) -> dict:
    return {
        "behavior": params["behavior"],
        "ttl": _seconds("ttl", params["ttl"], *TTL_RANGE),
        "delay": _seconds("delay", params["delay"], 0, MAX_DELAY),
        "node_checks": sorted(params["node_checks"]) if params["node_checks"] is not None else None,
        "service_checks": sorted(params["service_checks"]) if params["service_checks"] is not None else None,
    }


def _body(name: str, node: str, wanted: dict) -> dict:
    body = {"Name": name, "Node": node}
    if wanted["behavior"]:
        body["Behavior"] = wanted["behavior"]
    if wanted["ttl"] is not None:
        body["TTL"] = f"{wanted['ttl']:g}s"
    if wanted["delay"] is not None:
        body["LockDelay"] = f"{wanted['delay']:g}s"
    if wanted["node_checks"] is not None:
        body["NodeChecks"] = wanted["node_checks"]
    if wanted["service_checks"] is not None:
        body["ServiceChecks"] = [{"ID": check} for check in wanted["service_checks"]]
    return body


def _named(client, name: str, node: str, datacenter) -> list:
    return [s for s in client.sessions(node=node, datacenter=datacenter) if s.get("Name") == name]


def _present(consul, params, client, datacenter, wanted) -> dict:
    if params["id"]:
        current = normalised(client.session_info(params["id"], datacenter=datacenter))
        if current is None:
            raise ConsulNotFound(
                f"session {params['id']} does not exist (it expired or was destroyed); Consul chooses the ID "
                "of a new session: give name instead of id to create one."
            )
        if params["name"] is not None and params["name"] != current["name"]:
            raise ConsulInvalidArgument(f"session {params['id']} is named {current['name']!r}, not {params['name']!r}.")
    else:
        if not params["name"] or not params["name"].strip():
            raise ConsulInvalidArgument("state=present needs a non-empty name (or the id of an existing session).")
        node = check_name("node", params["node"]) if params["node"] else client.agent_node_name()
        found = _named(client, params["name"], node, datacenter)
        if len(found) > 1:
            ids = ", ".join(sorted(s["ID"] for s in found))
            raise ConsulInvalidArgument(
                f"{len(found)} sessions are named {params['name']!r} on node {node!r} ({ids}); "
                "give id, or remove them (state=absent) and run again."
            )
        current = normalised(found[0]) if found else None
        if current is None:
            decided = Plan("create", None, {"name": params["name"], "node": node, **wanted})
            session_id = None
            after = decided.after
            if not consul.check_mode:
                session_id = client.session_create(_body(params["name"], node, wanted), datacenter=datacenter)
                after = normalised(client.session_info(session_id, datacenter=datacenter)) or after
            return result(decided, consul.diff_mode, session_id=session_id, session=after)
    differs = [option for option in _CREATE_ONLY if wanted[option] is not None and wanted[option] != current[option]]
    if differs:
        shown = ", ".join(f"{option}: {current[option]!r} wanted {wanted[option]!r}" for option in differs)
        raise ConsulInvalidArgument(
            f"session {current['id']} ({current['name']!r} on {current['node']!r}) has other settings ({shown}); "
            "a session cannot change: remove it (state=absent) to create it anew."
        )
    decided = plan(current, {})
    return result(decided, consul.diff_mode, session_id=current["id"], session=current)


def _absent(consul, params, client, datacenter) -> dict:
    if params["id"]:
        found = [s for s in [client.session_info(params["id"], datacenter=datacenter)] if s]
    elif params["name"]:
        node = check_name("node", params["node"]) if params["node"] else client.agent_node_name()
        found = _named(client, params["name"], node, datacenter)
    else:
        raise ConsulInvalidArgument("state=absent needs id or name.")
    sessions = sorted((normalised(s) for s in found), key=lambda s: s["id"])
    current = {"sessions": sessions} if sessions else None
    decided = plan(current, None)
    if decided.changed and not consul.check_mode:
        for session in sessions:
            client.session_destroy(session["id"], datacenter=datacenter)
    session_id = sessions[0]["id"] if len(sessions) == 1 else None
    return result(decided, consul.diff_mode, session_id=session_id, session=None, sessions=sessions)


def apply_session(consul: ConsulModule) -> dict:
    params, client = consul.params, consul.client
    datacenter = params["datacenter"]
    state = params["state"]
    if params["id"]:
        params["id"] = check_uuid("session ID", params["id"])
    # Validated for every state, so that a typo fails in check mode and in the real run alike.
    wanted = _wanted(params)
    if state == "renewed" and not params["id"]:
        raise ConsulInvalidArgument(f"state={state} needs the session's id.")
    if state == "present":
        return _present(consul, params, client, datacenter, wanted)
    if state == "absent":
        return _absent(consul, params, client, datacenter)
    current = normalised(client.session_info(params["id"], datacenter=datacenter))
    # renewed
    if current is None:
        raise ConsulNotFound(f"renewing session {params['id']} failed: no such session (it expired or was destroyed).")
    after = current
    if not consul.check_mode:
        after = normalised(client.session_renew(params["id"], datacenter=datacenter)) or current
    decided = Plan("renew", current, after)
    return result(decided, consul.diff_mode, session_id=params["id"], session=after)


def main():
    consul = ConsulModule(
        argument_spec={
            "state": {
                "type": "str",
                "choices": ["present", "absent", "renewed"],
                "default": "present",
            },
            "name": {"type": "str"},
            "id": {"type": "str"},
            "node": {"type": "str"},
            "behavior": {"type": "str", "choices": ["release", "delete"]},
            "ttl": {"type": "raw"},
            "delay": {"type": "raw"},
            "node_checks": {"type": "list", "elements": "str", "aliases": ["checks"]},
            "service_checks": {"type": "list", "elements": "str"},
        },
        supports_check_mode=True,
    )
    consul.run(apply_session)


if __name__ == "__main__":
    main()
