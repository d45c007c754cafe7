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
    An empty O(key) is refused for O(operation=delete), in check mode too: with O(recurse=true) it would
    delete every key of the datacenter.
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
    choices: [get, put, delete]
    default: get
  value:
    description: Value to write; required with O(operation=put).
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

# The trailing / keeps the delete inside the folder: the prefix app/config would also delete
# app/configuration-backup.
- name: Delete the tree
  dockyard.discovery.kv:
    key: app/config/
    recurse: true
    operation: delete
"""

RETURN = r"""
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
    if recurse and operation == "put":
        raise ConsulInvalidArgument("operation=put writes one key; recurse=true works with operation=get or delete.")
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
            "operation": {"type": "str", "choices": ["get", "put", "delete"], "default": "get"},
            "value": {"type": "str"},
            "flags": {"type": "int"},
            "cas": {"type": "int"},
            "recurse": {"type": "bool", "default": False},
            "index": {"type": "int"},
            "wait": {"type": "str", "default": "5m"},
        },
        required_if=[("operation", "put", ["value"])],
        supports_check_mode=True,
    )
    consul.run(apply_kv)


if __name__ == "__main__":
    main()
