# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kv
short_description: Get, put and delete keys in the Consul key/value store
version_added: 0.1.0
description:
  - O(operation=get) reads a key, or with O(recurse=true) every key under a prefix.
  - O(operation=put) writes a key when its value or flags differ; with O(cas) only if the key's
    modify index still equals O(cas) (V(0) means only if the key does not exist yet).
  - O(operation=delete) deletes a key, or with O(recurse=true) every key under a prefix. A prefix is a plain
    string prefix, so C(app) also matches C(apple); end it with C(/) to stay inside a folder.
    An empty O(key) is refused for O(operation=delete), in check mode too, since with O(recurse=true) it would
    delete every key of the datacenter.
  - O(operation=acquire) takes the key's lock for O(session) (writing O(value) if given), and
    O(operation=release) gives it back; together with M(dockyard.discovery.session) that makes a lock or a leader election.
    A key locked by another session is not an error; RV(acquired) is V(false) and nothing changes.
  - Keys are relative paths such as C(app/config). A leading C(/), an empty segment (C(//)),
    a C(.) or C(..) segment or a control character is rejected before anything is sent.
author: dockyard.discovery contributors (@dockyard)
options:
  key:
    description: The key, or the prefix with O(recurse=true).
    type: str
    required: true
  operation:
    description: What to do with the key. V(put) and V(delete) are idempotent.
    type: str
    choices: [get, put, delete, acquire, release]
    default: get
  value:
    description:
      - Value to write; required with O(operation=put).
      - With O(operation=acquire) or O(operation=release), the value written with the lock; the key's
        current value (or an empty one) when not set.
    type: str
  session:
    description: The session (its ID) that takes or gives back the lock; required with O(operation=acquire) and O(operation=release).
    type: str
  flags:
    description: Opaque unsigned 64-bit integer stored with the key (V(0) to V(18446744073709551615)).
    type: int
  cas:
    description:
      - Check-and-set. Write or delete only if the key's modify index equals this value; V(0) writes only a new key.
      - When the index differs, the task fails and nothing is changed.
    type: int
  recurse:
    description: Read or delete every key under O(key) instead of one key.
    type: bool
    default: false
  index:
    description: With O(operation=get), a blocking query that waits until the key's index is greater than this value.
    type: int
  wait:
    description: How long a blocking query waits, at most V(10m).
    type: str
    default: 5m
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
seealso:
  - plugin: dockyard.discovery.kv
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Write a key
  dockyard.discovery.kv:
    key: app/config/port
    value: "8080"
    operation: put

- name: Create it only if nobody did before
  dockyard.discovery.kv:
    key: app/leader
    value: "{{ inventory_hostname }}"
    cas: 0
    operation: put

- name: Read a tree
  dockyard.discovery.kv:
    key: app/config/
    recurse: true
  register: config

- name: A session for the deploy lock
  dockyard.discovery.session:
    name: deploy-lock
    ttl: 10m
  register: deploy_session

- name: Take the deploy lock, unless another deploy holds it
  dockyard.discovery.kv:
    key: locks/deploy
    value: "{{ inventory_hostname }}"
    operation: acquire
    session: "{{ deploy_session.session_id }}"
  register: deploy_lock

- name: Give it back
  dockyard.discovery.kv:
    key: locks/deploy
    operation: release
    session: "{{ deploy_session.session_id }}"
  when: deploy_lock.acquired

# The trailing / keeps the delete inside the folder: the prefix app/config would also delete
# app/configuration-backup.
- name: Delete the tree
  dockyard.discovery.kv:
    key: app/config/
    recurse: true
    operation: delete
"""

RETURN = r"""
acquired:
  description: With O(operation=acquire), whether O(session) holds the key's lock after the task.
  returned: when O(operation=acquire)
  type: bool
holder:
  description: With O(operation=acquire), the session holding the lock when it is another one.
  returned: when O(operation=acquire) and another session holds the lock
  type: str
found:
  description: Whether the key (or any key under the prefix) existed before the task.
  returned: success
  type: bool
value:
  description: The key's value after the task; V(null) when the key does not exist.
  returned: when O(recurse=false)
  type: str
entry:
  description: The key's entry after the task (key, value, flags, create_index, modify_index, session); V(null) if absent.
  returned: when O(recurse=false)
  type: dict
entries:
  description: With O(recurse=true), the entries under the prefix after the task.
  returned: when O(recurse=true)
  type: list
  elements: dict
index:
  description: Consul index of the read; pass it back as O(index) to wait for the next change.
  returned: success
  type: int
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import (
    ConsulError,
    ConsulInvalidArgument,
)
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_results import KVEntry
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_validate import (
    check_index,
    check_kv_flags,
    check_kv_key,
    check_name,
)


def _tree(entries) -> dict:
    return {e.key: e.value for e in entries}


def validate(params: dict) -> None:
    """Everything the client's write or delete would refuse, refused before the key is read.

    Check mode never writes, so without this it would predict a change the real run refuses:
    a recursive delete of the empty prefix (every key of the datacenter) above all.
    """
    key, operation, recurse = params["key"], params["operation"], params["recurse"]
    if operation != "get":
        check_kv_key(key)
    if recurse and params["cas"] is not None:
        raise ConsulInvalidArgument("cas works on one key; it cannot be combined with recurse=true.")
    if recurse and operation in ("put", "acquire", "release"):
        raise ConsulInvalidArgument(
            f"operation={operation} works on one key; recurse=true works with operation=get or delete."
        )
    if operation in ("acquire", "release"):
        check_name("session ID", params["session"])
        if params["cas"] is not None:
            raise ConsulInvalidArgument(f"cas cannot be combined with operation={operation}.")
    if params["cas"] is not None:
        check_index(params["cas"])
    if params["flags"] is not None:
        check_kv_flags(params["flags"])


def apply_kv(consul: ConsulModule) -> dict:
    params = consul.params
    validate(params)
    client = consul.client
    key, operation, recurse = params["key"], params["operation"], params["recurse"]
    blocking = {"index": params["index"], "wait": params["wait"]} if operation == "get" else {}
    index, current = client.kv_get(key, recurse=recurse, datacenter=params["datacenter"], **blocking)

    if recurse:
        return _apply_tree(consul, key, operation, index, current)
    if operation in ("acquire", "release"):
        return _apply_lock(consul, key, operation, index, current)

    found = current is not None
    after = current
    changed = False
    if operation == "put":
        flags = params["flags"] if params["flags"] is not None else (current.flags if current else 0)
        changed = current is None or current.value != params["value"] or current.flags != flags
        if changed:
            _check_cas(params["cas"], current, key)
            after = KVEntry(key=key, value=params["value"], flags=flags)
            if not consul.check_mode:
                if not client.kv_put(
                    key, params["value"], cas=params["cas"], flags=flags, datacenter=params["datacenter"]
                ):
                    raise _cas_error(params["cas"], key)
                index, after = client.kv_get(key, datacenter=params["datacenter"])
    elif operation == "delete" and found:
        _check_cas(params["cas"], current, key)
        changed, after = True, None
        if not consul.check_mode and not client.kv_delete(key, cas=params["cas"], datacenter=params["datacenter"]):
            raise _cas_error(params["cas"], key)

    result = {
        "changed": changed,
        "found": found,
        "value": after.value if after else None,
        "entry": after.to_dict() if after else None,
        "index": index,
    }
    if consul.diff_mode and operation != "get":
        result["diff"] = {
            "before": {key: current.value} if current else {},
            "after": {key: after.value} if after else {},
        }
    return result


def _apply_lock(consul: ConsulModule, key: str, operation: str, index: int, current: KVEntry | None) -> dict:
    params, client = consul.params, consul.client
    session = params["session"]
    # Looked up in check mode too: an unknown or expired session fails both runs alike.
    if client.session_info(session, datacenter=params["datacenter"]) is None:
        raise ConsulInvalidArgument(f"session {session!r} does not exist (it expired or was destroyed).")
    value = params["value"] if params["value"] is not None else (current.value if current and current.value else "")
    held_by = current.session if current else ""
    result = {"found": current is not None, "index": index}
    if operation == "acquire":
        if held_by and held_by != session:
            return {**result, "changed": False, "acquired": False, "holder": held_by, "value": current.value}
        changed = held_by != session or (current.value or "") != value
        acquired = True
        if changed and not consul.check_mode:
            acquired = client.kv_put(key, value, acquire=session, datacenter=params["datacenter"])
            changed = acquired  # Consul refuses while the lock delay of a released lock runs
        result.update(acquired=acquired)
    else:
        changed = held_by == session
        if changed and not consul.check_mode:
            client.kv_put(key, value, release=session, datacenter=params["datacenter"])
    after_session = session if (operation == "acquire" and result.get("acquired")) else ("" if changed else held_by)
    after = KVEntry(key=key, value=value if changed else (current.value if current else None), session=after_session)
    if not consul.check_mode and changed:
        index, after = client.kv_get(key, datacenter=params["datacenter"])
    result.update(changed=changed, value=after.value if after else None, entry=after.to_dict() if after else None)
    if consul.diff_mode:

        def view(entry):
            return {key: {"value": entry.value, "session": entry.session}} if entry else {}

        result["diff"] = {"before": view(current), "after": view(after)}
    return result


def _apply_tree(consul: ConsulModule, key: str, operation: str, index: int, entries: list) -> dict:
    changed = operation == "delete" and bool(entries)
    if changed and not consul.check_mode:
        consul.client.kv_delete(key, recurse=True, datacenter=consul.params["datacenter"])
    after = [] if operation == "delete" else entries
    result = {
        "changed": changed,
        "found": bool(entries),
        "entries": [e.to_dict() for e in after],
        "index": index,
    }
    if consul.diff_mode and operation != "get":
        result["diff"] = {"before": _tree(entries), "after": _tree(after)}
    return result


def _check_cas(cas, current, key):
    """Fail a check-and-set in check mode exactly as the real write would fail."""
    if cas is not None and cas != (current.modify_index if current else 0):
        raise _cas_error(cas, key, current)


def _cas_error(cas, key, current=None) -> ConsulError:
    now = f" (its modify index is {current.modify_index})" if current else ""
    return ConsulError(f"check-and-set on key {key!r} failed: cas={cas} does not match{now}; nothing was changed.")


def main():
    consul = ConsulModule(
        argument_spec={
            "key": {"type": "str", "required": True, "no_log": False},
            "operation": {
                "type": "str",
                "choices": ["get", "put", "delete", "acquire", "release"],
                "default": "get",
            },
            "value": {"type": "str"},
            "session": {"type": "str"},
            "flags": {"type": "int"},
            "cas": {"type": "int"},
            "recurse": {"type": "bool", "default": False},
            "index": {"type": "int"},
            "wait": {"type": "str", "default": "5m"},
        },
        required_if=[
            ("operation", "put", ["value"]),
            ("operation", "acquire", ["session"]),
            ("operation", "release", ["session"]),
        ],
        supports_check_mode=True,
    )
    consul.run(apply_kv)


if __name__ == "__main__":
    main()
