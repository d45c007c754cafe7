# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: auth_method
short_description: Create, update and delete Consul ACL auth methods
version_added: 0.1.0
description:
  - Makes the auth method O(name) exist with the given settings, or removes it (which also
    removes its binding rules and the tokens it issued).
  - Options left unset are not managed; an existing auth method keeps their current value.
    O(config), when given, is the whole configuration and compared as a whole.
  - "Consul stores some values in another form than given: O(max_token_ttl) V(1h) comes back as
    V(1h0m0s), an empty O(token_locality) means V(local). The comparison is of the meaning, so that
    a second identical run reports no change. The leeways of a C(jwt) or C(oidc) configuration
    (C(ClockSkewLeeway), C(ExpirationLeeway), C(NotBeforeLeeway)) may be given as durations such as
    V(30s); they are sent as the nanoseconds Consul expects."
  - The options follow community.general's C(consul_auth_method).
author: dockyard.discovery contributors (@dockyard)
options:
  name:
    description: The auth method's name, which identifies it.
    type: str
    required: true
  type:
    description: The auth method's type; required to create one, and it cannot change afterwards.
    type: str
    choices: [kubernetes, jwt, oidc, aws-iam]
  state:
    description: Whether the auth method exists.
    type: str
    choices: [present, absent]
    default: present
  display_name:
    description: A name to show instead of O(name).
    type: str
  description:
    description: A description.
    type: str
  max_token_ttl:
    description: The longest lifetime of a token issued at login, a duration such as V(1h); V(0s) means the default.
    type: str
  token_locality:
    description: Whether tokens issued at login are V(local) to the datacenter or V(global) (they need the primary datacenter).
    type: str
    choices: [local, global]
  config:
    description:
      - The type's configuration, with Consul's key names (for example C(JWTValidationPubKeys),
        C(BoundAudiences), C(ClaimMappings) for V(jwt)); required to create an auth method.
      - Consul checks its content when it is written; check mode cannot, so a configuration Consul
        refuses fails only the real run.
    type: dict
extends_documentation_fragment:
  - dockyard.discovery.connection
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Consul's validation of O(config) happens only when it is written.
  diff_mode:
    support: full
    details: Secret configuration values (C(OIDCClientSecret), C(ServiceAccountJWT)) show as a fingerprint.
  platform:
    platforms: posix
  action_group:
    description: Part of the action group C(dockyard.discovery.consul), for O(ignore:module_defaults).
    support: full
    membership: [dockyard.discovery.consul]
notes:
  - Needs a token with C(acl = "write").
  - O(config) is not a C(no_log) option (that would mask every short string of it in the whole
    output); put C(no_log) on the task when it holds a secret such as C(OIDCClientSecret).
seealso:
  - module: dockyard.discovery.binding_rule
"""

EXAMPLES = r"""
- name: Logins with JWTs signed by the CI system
  dockyard.discovery.auth_method:
    name: ci-jwt
    type: jwt
    description: Tokens for CI jobs
    max_token_ttl: 1h
    token_locality: local
    config:
      JWTValidationPubKeys:
        - "{{ lookup('ansible.builtin.file', 'files/ci-signing-key.pub.pem') }}"
      BoundAudiences: [consul]
      ClaimMappings:
        project: project
      ClockSkewLeeway: 30s
    token: "{{ consul_management_token }}"

- name: Remove an auth method
  dockyard.discovery.auth_method:
    name: legacy-k8s
    state: absent
    token: "{{ consul_management_token }}"
"""

RETURN = r"""
operation:
  description: What was done, or would be done in check mode; V(null) when nothing changes.
  returned: always
  type: str
  choices: [create, update, remove]
  sample: create
auth_method:
  description: The auth method after the task; V(null) when it does not exist.
  returned: always
  type: dict
  contains:
    name:
      description: Its name.
      type: str
    type:
      description: Its type.
      type: str
    display_name:
      description: Its display name.
      type: str
    description:
      description: Its description.
      type: str
    max_token_ttl:
      description: The longest token lifetime in seconds; V(0) means Consul's default.
      type: float
    token_locality:
      description: V(local) or V(global).
      type: str
    config:
      description: Its configuration; secret values as C(sha256:<prefix>).
      type: dict
  sample:
    name: ci-jwt
    type: jwt
    display_name: ""
    description: Tokens for CI jobs
    max_token_ttl: 3600.0
    token_locality: local
    config:
      BoundAudiences: [consul]
      ClaimMappings: {project: project}
      ClockSkewLeeway: 30000000000
      JWTValidationPubKeys: ["-----BEGIN PUBLIC KEY-----\n..."]
"""

import hashlib

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_declarative import plan, result
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulInvalidArgument
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_validate import check_name, go_duration

# Consul decodes these as Go time.Duration from a JSON number of nanoseconds only.
LEEWAYS = ("ClockSkewLeeway", "ExpirationLeeway", "NotBeforeLeeway")
SECRET_KEYS = ("OIDCClientSecret", "ServiceAccountJWT")


def _config(config: dict | None, kind: str | None) -> dict | None:
    if config is None:
        return None
    config = dict(config)
    if kind in ("jwt", "oidc", None):
        for key in LEEWAYS:
            value = config.get(key)
            if isinstance(value, str):
                config[key] = round(go_duration(value) * 1e9)
            elif value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ConsulInvalidArgument(f"config.{key}={value!r} is not a duration.")
    return config


def _shown(config: dict | None) -> dict | None:
    """The configuration as returned and diffed: secret values as a fingerprint."""
    if config is None:
        return None
    return {
        key: "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:16]
        if key in SECRET_KEYS and isinstance(value, str) and value
        else value
        for key, value in config.items()
    }


def _ttl(value) -> float | None:
    if value is None:
        return None
    return go_duration(value) if str(value).strip() else 0.0


def normalised(method: dict | None) -> dict | None:
    if method is None:
        return None
    return {
        "name": method["Name"],
        "type": method.get("Type") or "",
        "display_name": method.get("DisplayName") or "",
        "description": method.get("Description") or "",
        "max_token_ttl": _ttl(method.get("MaxTokenTTL") or "0s"),
        "token_locality": method.get("TokenLocality") or "local",
        "config": method.get("Config") or {},
    }


def _view(state: dict | None) -> dict | None:
    return None if state is None else {**state, "config": _shown(state["config"])}


def apply_auth_method(consul: ConsulModule) -> dict:
    params, client = consul.params, consul.client
    name = check_name("auth method", params["name"])
    if params["max_token_ttl"] is not None:
        try:
            _ttl(params["max_token_ttl"])
        except ConsulInvalidArgument:
            raise ConsulInvalidArgument(f"max_token_ttl={params['max_token_ttl']!r} is not a duration.") from None
    config = _config(params["config"], params["type"])
    current_raw = client.acl_auth_method(name)
    current = normalised(current_raw)
    wanted = None
    if params["state"] == "present":
        if current is None:
            missing = [option for option in ("type", "config") if params[option] is None]
            if missing:
                raise ConsulInvalidArgument(
                    f"auth method {name!r} does not exist yet: give its {' and '.join(missing)}."
                )
        elif params["type"] is not None and params["type"] != current["type"]:
            raise ConsulInvalidArgument(
                f"auth method {name!r} is of type {current['type']!r}; a type cannot change. "
                "Remove it first (state=absent), which also removes its binding rules."
            )
        wanted = {
            "name": name,
            "type": params["type"],
            "display_name": params["display_name"],
            "description": params["description"],
            "max_token_ttl": _ttl(params["max_token_ttl"]),
            "token_locality": params["token_locality"],
            "config": config,
        }
    decided = plan(current, wanted)
    after = decided.after
    if decided.changed and not consul.check_mode:
        if decided.operation == "remove":
            client.acl_auth_method_delete(name)
        else:
            body = {
                "Name": name,
                "Type": after["type"],
                "DisplayName": after.get("display_name") or "",
                "Description": after.get("description") or "",
                "TokenLocality": after.get("token_locality") or "local",
                "Config": after["config"],
            }
            if params["max_token_ttl"] is not None:
                body["MaxTokenTTL"] = params["max_token_ttl"]
            elif current_raw and current_raw.get("MaxTokenTTL"):
                body["MaxTokenTTL"] = current_raw["MaxTokenTTL"]
            if current_raw and current_raw.get("TokenNameFormat"):
                body["TokenNameFormat"] = current_raw["TokenNameFormat"]
            written = client.acl_auth_method_write(body, exists=decided.operation == "update")
            after = normalised(written)
    shown = None
    if after is not None:
        shown = _view({**normalised({"Name": name}), **after})
    plan_shown = type(decided)(decided.operation, _view(decided.before), _view(decided.after))
    return result(plan_shown, consul.diff_mode, auth_method=shown)


def main():
    consul = ConsulModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "type": {"type": "str", "choices": ["kubernetes", "jwt", "oidc", "aws-iam"]},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "display_name": {"type": "str"},
            "description": {"type": "str"},
            "max_token_ttl": {"type": "str", "no_log": False},
            "token_locality": {"type": "str", "choices": ["local", "global"]},
            "config": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    consul.run(apply_auth_method)


if __name__ == "__main__":
    main()
