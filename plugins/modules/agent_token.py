# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: agent_token
short_description: Set the ACL tokens a Consul agent uses
version_added: 0.1.0
description:
  - Sets one or more of the agent's own tokens through C(/v1/agent/token/<type>), the API that
    C(consul acl set-agent-token) uses.
  - Each token is checked with Consul first (in check mode too); a secret Consul does not know
    fails the task before the agent gets it, since an agent with an unknown token cannot
    register itself.
  - The agent API does not say which tokens an agent holds. With O(tokens_file), the agent's
    persisted token file (C(acl-tokens.json) in its data directory, written when
    C(acl.enable_token_persistence) is on) is read, and a token the agent already holds is not set
    again. Without it, every given token is set and reported as changed.
author: dockyard.discovery contributors (@dockyard)
options:
  tokens:
    description:
      - The tokens to set, by type. An empty string clears that token.
      - Types are V(default), V(agent), V(agent_recovery), V(replication),
        V(config_file_service_registration) and V(dns).
    type: dict
    required: true
  tokens_file:
    description:
      - The agent's persisted token file, usually C(<data_dir>/acl-tokens.json), read on the host the
        module runs on (it is only readable by the Consul user and root).
      - A missing file means that the agent holds no persisted token.
    type: path
extends_documentation_fragment:
  - dockyard.discovery.connection
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows which token types change, never their secrets.
  platform:
    platforms: posix
  action_group:
    description: Part of the action group C(dockyard.discovery.consul), for O(ignore:module_defaults).
    support: full
    membership: [dockyard.discovery.consul]
notes:
  - Needs a token with C(agent:write) on the agent's node (the management token, or the agent's own).
seealso:
  - module: dockyard.discovery.acl_token
"""

EXAMPLES = r"""
- name: Give the local agent its own token and a DNS token
  dockyard.discovery.agent_token:
    tokens:
      agent: "{{ agent_token.token.secret_id }}"
      dns: "{{ dns_token.token.secret_id }}"
    tokens_file: /opt/consul/data/acl-tokens.json
    token: "{{ consul_management_token }}"
  become: true
  no_log: true
"""

RETURN = r"""
set:
  description: The token types that were set, or would be in check mode.
  returned: always
  type: list
  elements: str
  sample: [agent]
"""

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_agent_admin import (
    AGENT_TOKEN_TYPES,
    persisted_agent_tokens,
)
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulInvalidArgument
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_module import ConsulModule


def apply_agent_tokens(consul: ConsulModule) -> dict:
    client, tokens = consul.client, consul.params["tokens"]
    unknown_types = sorted(set(tokens) - set(AGENT_TOKEN_TYPES))
    if unknown_types:
        raise ConsulInvalidArgument(
            f"unknown agent token type(s) {', '.join(unknown_types)}; use {', '.join(AGENT_TOKEN_TYPES)}."
        )
    for token_type, secret in sorted(tokens.items()):
        if not isinstance(secret, str):
            raise ConsulInvalidArgument(f"tokens.{token_type} must be a string.")
        if secret and client.acl_token_self(secret) is None:
            raise ConsulInvalidArgument(
                f"tokens.{token_type} is not a token Consul at {client.base_url} knows; "
                "create it first (dockyard.discovery.acl_token). Nothing was changed."
            )
    held = persisted_agent_tokens(consul.params["tokens_file"]) if consul.params["tokens_file"] else None
    to_set = sorted(t for t, secret in tokens.items() if held is None or held.get(t, "") != secret)
    if not consul.check_mode:
        for token_type in to_set:
            client.agent_token_set(token_type, tokens[token_type])
    outcome = {"changed": bool(to_set), "set": to_set}
    if consul.diff_mode:
        # Which types change, in words: the secrets themselves never go into a diff.
        def before(token_type):
            if held is None:
                return "(unknown: no tokens_file)"
            return "(another token)" if held.get(token_type) else "(none)"

        outcome["diff"] = {
            "before": {t: before(t) for t in to_set},
            "after": {t: "(the given token)" if tokens[t] else "(none)" for t in to_set},
        }
    return outcome


def main():
    consul = ConsulModule(
        argument_spec={
            "tokens": {"type": "dict", "required": True, "no_log": True},
            "tokens_file": {"type": "path"},
        },
        supports_check_mode=True,
    )
    consul.run(apply_agent_tokens)


if __name__ == "__main__":
    main()
