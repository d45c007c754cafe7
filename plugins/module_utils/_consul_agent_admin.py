# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Agent and operator endpoints of ConsulClient: agent tokens, the gossip keyring, sessions, checks.

A mixin like _consul_acl, through ConsulClient._raw. No Ansible imports.
"""

from __future__ import annotations

import hashlib
import json

from ._consul_errors import (
    ConsulError,
    ConsulInvalidArgument,
    ConsulNotFound,
)
from ._consul_validate import check_name

# The tokens PUT /v1/agent/token/<type> sets, with the keys the agent persists them under in
# <data_dir>/acl-tokens.json (enable_token_persistence); agent_recovery was agent_master before 1.11.
AGENT_TOKEN_TYPES = {
    "default": ("default",),
    "agent": ("agent",),
    "agent_recovery": ("agent_recovery", "agent_master"),
    "replication": ("replication",),
    "config_file_service_registration": ("config_file_service_registration",),
    "dns": ("dns",),
}


def key_fingerprint(key: str) -> str:
    """A gossip key's public name: its keys are secrets, their fingerprints are not."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def persisted_agent_tokens(path: str) -> dict:
    """The tokens an agent persisted ({type: secret}), {} when the file does not exist."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise ConsulError(f"cannot read the agent's token file {path}: {error}.") from None
    if not isinstance(data, dict):
        raise ConsulError(f"the agent's token file {path} does not hold a JSON object.")
    tokens = {}
    for token_type, keys in AGENT_TOKEN_TYPES.items():
        tokens[token_type] = next((data[key] for key in keys if data.get(key)), "")
    return tokens


class AgentAdminEndpoints:
    """Mixed into ConsulClient, which provides _raw."""

    # --- the local agent ---------------------------------------------------------------

    def agent_config(self) -> dict:
        """The local agent's own view: node name, datacenter, server or client, version."""
        _index, data = self._raw("get", "/v1/agent/self", "reading the agent's configuration")
        config = (data or {}).get("Config") if isinstance(data, dict) else None
        if not isinstance(config, dict):
            raise ConsulError(f"Consul at {self.base_url} answered /v1/agent/self without its Config.")
        return {
            "node_name": config.get("NodeName"),
            "datacenter": config.get("Datacenter"),
            "server": bool(config.get("Server")),
            "version": config.get("Version"),
            "revision": config.get("Revision"),
        }

    # --- agent tokens --------------------------------------------------------------------

    def agent_token_set(self, token_type: str, token: str) -> None:
        if token_type not in AGENT_TOKEN_TYPES:
            raise ConsulInvalidArgument(
                f"agent token type {token_type!r} is not one of {', '.join(AGENT_TOKEN_TYPES)}."
            )
        self._raw(
            "put", f"/v1/agent/token/{token_type}", f"setting the agent's {token_type} token", body={"Token": token}
        )

    # --- gossip keyring ------------------------------------------------------------------

    def autopilot_configuration(self) -> dict:
        """The datacenter's autopilot configuration (raft holds it; the agent file only seeds it)."""
        action = "reading the autopilot configuration"
        _index, config = self._raw("get", "/v1/operator/autopilot/configuration", action)
        if not isinstance(config, dict):
            raise ConsulError(f"{action} failed: Consul at {self.base_url} answered {config!r}, not a configuration.")
        return config

    def autopilot_configuration_set(self, config: dict) -> None:
        self._raw("put", "/v1/operator/autopilot/configuration", "writing the autopilot configuration", body=config)

    def keyring(self) -> list:
        """The keyring of every pool (LAN per datacenter and segment, WAN): Consul's list of pools."""
        try:
            _index, pools = self._raw("get", "/v1/operator/keyring", "reading the gossip keyring")
        except ConsulError as error:
            if "encryption not enabled" in error.message:
                raise ConsulError(
                    f"{error.message.rstrip('.')}. Gossip encryption is off in this datacenter: "
                    "there is no keyring to manage (set `encrypt` in the agents' configuration).",
                    error.status,
                ) from None
            raise
        if not isinstance(pools, list):
            raise ConsulError(f"Consul at {self.base_url} answered the keyring read with {type(pools).__name__}.")
        return pools

    def keyring_call(self, method: str, key: str) -> None:
        """install (POST), use (PUT) or remove (DELETE) a gossip key on every agent."""
        verb = {"post": "installing", "put": "making primary", "delete": "removing"}[method]
        action = f"{verb} gossip key {key_fingerprint(key)}"
        self._raw(method, "/v1/operator/keyring", action, body={"Key": key})

    # --- sessions ------------------------------------------------------------------------

    def session_create(self, body: dict, datacenter: str | None = None) -> str:
        params = [("dc", datacenter)] if datacenter else []
        _index, data = self._raw("put", "/v1/session/create", "creating a session", params=params, body=body)
        if not isinstance(data, dict) or not data.get("ID"):
            raise ConsulError(f"Consul at {self.base_url} created a session but gave no ID ({data!r}).")
        return data["ID"]

    def agent_node_name(self) -> str:
        """The name of the node the agent runs on (needs agent:read on it)."""
        action = "reading the agent's node name"
        _index, data = self._raw("get", "/v1/agent/self", action)
        name = (data or {}).get("Config", {}).get("NodeName") if isinstance(data, dict) else None
        if not isinstance(name, str) or not name:
            raise ConsulError(f"Consul at {self.base_url} answered {action} without a node name.")
        return name

    def session_info(self, session_id: str, datacenter: str | None = None) -> dict | None:
        check_name("session ID", session_id)
        params = [("dc", datacenter)] if datacenter else []
        _index, data = self._raw(
            "get", f"/v1/session/info/{session_id}", f"reading session {session_id}", params=params
        )
        return data[0] if data else None

    def sessions(self, node: str | None = None, datacenter: str | None = None) -> list:
        params = [("dc", datacenter)] if datacenter else []
        path = f"/v1/session/node/{check_name('node', node)}" if node else "/v1/session/list"
        _index, data = self._raw("get", path, "listing sessions", params=params)
        return list(data or [])

    def session_renew(self, session_id: str, datacenter: str | None = None) -> dict:
        check_name("session ID", session_id)
        params = [("dc", datacenter)] if datacenter else []
        action = f"renewing session {session_id}"
        try:
            _index, data = self._raw("put", f"/v1/session/renew/{session_id}", action, params=params)
        except ConsulNotFound:
            raise ConsulNotFound(f"{action} failed: no such session (it expired or was destroyed).", 404) from None
        return data[0] if data else {}

    def session_destroy(self, session_id: str, datacenter: str | None = None) -> None:
        check_name("session ID", session_id)
        params = [("dc", datacenter)] if datacenter else []
        self._raw("put", f"/v1/session/destroy/{session_id}", f"destroying session {session_id}", params=params)

    # --- agent checks --------------------------------------------------------------------

    def check_register(self, body: dict) -> None:
        check_name("check", body.get("Name"))
        self._raw("put", "/v1/agent/check/register", f"registering check {body.get('ID') or body['Name']!r}", body=body)

    def check_deregister(self, check_id: str) -> None:
        check_name("check ID", check_id)
        self._raw("put", f"/v1/agent/check/deregister/{check_id}", f"deregistering check {check_id!r}")
