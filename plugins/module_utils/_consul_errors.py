# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors of the Consul client layer. No Ansible imports: plain scripts catch these too.

Modules turn them into fail_json, plugins into AnsibleError; the message is written for the
person running the playbook, so it says what failed, where, and what to check.
"""

from __future__ import annotations

import re


class ConsulError(Exception):
    """Base class. `kind` is a stable machine-readable name, `status` the HTTP status if any."""

    kind = "error"

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


class ConsulInvalidArgument(ConsulError):
    """Input rejected before anything was sent (bad option, malformed KV path, ...)."""

    kind = "invalid_argument"


class ConsulMissingLibrary(ConsulError):
    kind = "missing_library"


class ConsulConnectionError(ConsulError):
    """The agent could not be reached: connection refused, DNS failure, timeout."""

    kind = "unreachable"


class ConsulTLSError(ConsulConnectionError):
    kind = "tls"


class ConsulNotConsul(ConsulError):
    """Something answered at the address, but not a Consul agent: another HTTP server (no X-Consul-*
    headers, or a body of a shape Consul never sends) or a service that does not speak HTTP at all.

    Not a ConsulConnectionError: retrying or waiting for the agent to come up will not help."""

    kind = "not_consul"


class ConsulBadRequest(ConsulError):
    kind = "bad_request"


class ConsulACLDenied(ConsulError):
    kind = "acl_denied"


class ConsulNotFound(ConsulError):
    kind = "not_found"


class ConsulServerError(ConsulError):
    kind = "server_error"


class ConsulNoLeader(ConsulServerError):
    kind = "no_leader"


_STATUS_PREFIX = re.compile(r"^\s*(\d{3})\s+(.*)$", re.DOTALL)


def split_status(text: str) -> tuple[int | None, str]:
    """The consul package reports HTTP errors as '<status> <body>'; split that back apart."""
    match = _STATUS_PREFIX.match(text or "")
    if not match:
        return None, (text or "").strip()
    return int(match.group(1)), match.group(2).strip()


def error_for_status(status: int, body: str, action: str, base_url: str) -> ConsulError:
    """The typed error for an HTTP error status returned by the agent."""
    body = (body or "").strip()
    detail = f": {body}" if body else ""
    where = f"Consul at {base_url}"
    if status == 403:
        return ConsulACLDenied(
            f"{action} failed: {where} denied access (HTTP 403, ACL){detail}. "
            "Check the token (option 'token' or CONSUL_HTTP_TOKEN) and its policy.",
            status,
        )
    if status == 401:
        return ConsulACLDenied(f"{action} failed: {where} rejected the request (HTTP 401){detail}.", status)
    if status == 404:
        return ConsulNotFound(f"{action} failed: {where} does not know it (HTTP 404){detail}.", status)
    if status == 400:
        return ConsulBadRequest(f"{action} failed: {where} rejected the request (HTTP 400){detail}.", status)
    if status >= 500:
        if "leader" in body.lower():
            return ConsulNoLeader(
                f"{action} failed: {where} has no cluster leader (HTTP {status}){detail}. "
                "The servers have not elected a leader yet, or lost quorum.",
                status,
            )
        return ConsulServerError(f"{action} failed: {where} answered HTTP {status}{detail}.", status)
    return ConsulError(f"{action} failed: {where} answered HTTP {status}{detail}.", status)
