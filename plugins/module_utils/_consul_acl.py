# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACL endpoints of ConsulClient: bootstrap, policies, roles, tokens, auth methods, binding rules.

A mixin, so that there stays one client (one connection, one error translation) for every
endpoint. The two consul packages disagree on their ACL APIs (python-consul2 still speaks the
legacy ACL system), so these calls go through ConsulClient._raw. Reads of something that does
not exist return None: Consul answers 404, or for tokens 403 "token does not exist".
No Ansible imports.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
import uuid

from ._consul_errors import (
    ConsulACLDenied,
    ConsulError,
    ConsulInvalidArgument,
    ConsulNotFound,
)

ANONYMOUS_ACCESSOR = "00000000-0000-0000-0000-000000000002"
# The namespace of ansible.builtin.to_uuid, so that `name | to_uuid` in a playbook and
# accessor_for(name) here give the same AccessorID.
_TO_UUID_NAMESPACE = uuid.UUID("361E6D51-FAEC-444A-9079-341386DA8E2E")


def accessor_for(name: str) -> str:
    """A stable AccessorID derived from a token name (the same as Ansible's to_uuid filter)."""
    if not isinstance(name, str) or not name:
        raise ConsulInvalidArgument("a token name must be a non-empty string.")
    return str(uuid.uuid5(_TO_UUID_NAMESPACE, name))


def check_uuid(kind: str, value) -> str:
    """An ID that goes into a URL path must be a UUID (Consul's IDs all are)."""
    try:
        return str(uuid.UUID(str(value)))
    except (TypeError, ValueError):
        raise ConsulInvalidArgument(f"{kind} {value!r} is not a UUID.") from None


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _absent(error: ConsulError) -> bool:
    """Consul's ways of saying that an ACL object does not exist."""
    if isinstance(error, ConsulNotFound):
        return True
    return isinstance(error, ConsulACLDenied) and "does not exist" in error.message


class ACLEndpoints:
    """Mixed into ConsulClient, which provides _raw."""

    def _acl_read(self, path: str, action: str):
        try:
            return self._raw("get", path, action)[1]
        except ConsulError as error:
            if _absent(error):
                return None
            raise

    # --- bootstrap -----------------------------------------------------------------------

    def acl_bootstrap(self, secret: str | None = None) -> dict | None:
        """Bootstrap the ACL system; the management token, or None when it was bootstrapped before."""
        body = {"BootstrapSecret": secret} if secret else {}
        try:
            return self._raw("put", "/v1/acl/bootstrap", "bootstrapping the ACL system", body=body)[1]
        except ConsulACLDenied as error:
            if "no longer allowed" in error.message:
                return None
            raise

    def acl_token_self(self, token: str) -> dict | None:
        """What Consul knows of `token` (a secret), or None when it knows no such token."""
        action = "looking up a token"
        try:
            # _raw sends the client's token; this call is about another one.
            return self._raw_as(token, "get", "/v1/acl/token/self", action)[1]
        except ConsulError as error:
            # An unknown secret is "ACL not found"; before the bootstrap no secret is known.
            unknown = ("ACL not found", "must be bootstrapped")
            if _absent(error) or (isinstance(error, ConsulACLDenied) and any(u in error.message for u in unknown)):
                return None
            raise

    def _raw_as(self, token: str, *args, **kwargs):
        if not token:
            raise ConsulInvalidArgument("the token to look up is empty.")
        saved = self.options
        self.options = dataclasses.replace(saved, token=token)
        try:
            return self._raw(*args, **kwargs)
        finally:
            self.options = saved

    # --- policies ------------------------------------------------------------------------

    def acl_policy(self, name: str | None = None, policy_id: str | None = None) -> dict | None:
        if policy_id:
            policy_id = check_uuid("policy ID", policy_id)
            return self._acl_read(f"/v1/acl/policy/{policy_id}", f"reading ACL policy {policy_id}")
        return self._acl_read(f"/v1/acl/policy/name/{_quote(name)}", f"reading ACL policy {name!r}")

    def acl_policy_write(self, body: dict, policy_id: str | None = None) -> dict:
        path = f"/v1/acl/policy/{check_uuid('policy ID', policy_id)}" if policy_id else "/v1/acl/policy"
        return self._raw("put", path, f"writing ACL policy {body.get('Name')!r}", body=body)[1]

    def acl_policy_delete(self, policy_id: str) -> None:
        policy_id = check_uuid("policy ID", policy_id)
        self._raw("delete", f"/v1/acl/policy/{policy_id}", f"deleting ACL policy {policy_id}")

    # --- roles ---------------------------------------------------------------------------

    def acl_role(self, name: str | None = None, role_id: str | None = None) -> dict | None:
        if role_id:
            role_id = check_uuid("role ID", role_id)
            return self._acl_read(f"/v1/acl/role/{role_id}", f"reading ACL role {role_id}")
        return self._acl_read(f"/v1/acl/role/name/{_quote(name)}", f"reading ACL role {name!r}")

    def acl_role_write(self, body: dict, role_id: str | None = None) -> dict:
        path = f"/v1/acl/role/{check_uuid('role ID', role_id)}" if role_id else "/v1/acl/role"
        return self._raw("put", path, f"writing ACL role {body.get('Name')!r}", body=body)[1]

    def acl_role_delete(self, role_id: str) -> None:
        role_id = check_uuid("role ID", role_id)
        self._raw("delete", f"/v1/acl/role/{role_id}", f"deleting ACL role {role_id}")

    def acl_templated_policies(self) -> dict:
        """Consul's templated policies (1.17 and later), {template name: its definition}."""
        action = "listing the templated policies"
        _index, data = self._raw("get", "/v1/acl/templated-policies", action)
        if not isinstance(data, dict):
            raise ConsulError(f"Consul at {self.base_url} answered {action} with {type(data).__name__}.")
        return data

    # --- tokens --------------------------------------------------------------------------

    def acl_token(self, accessor_id: str) -> dict | None:
        accessor_id = check_uuid("AccessorID", accessor_id)
        return self._acl_read(f"/v1/acl/token/{accessor_id}", f"reading ACL token {accessor_id}")

    def acl_token_write(self, body: dict, exists: bool) -> dict:
        """Create (exists=False) or update the token body['AccessorID']."""
        accessor_id = check_uuid("AccessorID", body["AccessorID"])
        path = f"/v1/acl/token/{accessor_id}" if exists else "/v1/acl/token"
        verb = "updating" if exists else "creating"
        return self._raw("put", path, f"{verb} ACL token {accessor_id}", body=body)[1]

    def acl_tokens(self) -> list:
        """Every token of the datacenter. For a caller with acl:write Consul includes each SecretID:
        whoever shows the list must drop them."""
        _index, tokens = self._raw("get", "/v1/acl/tokens", "listing ACL tokens")
        return list(tokens or [])

    def acl_token_delete(self, accessor_id: str) -> None:
        accessor_id = check_uuid("AccessorID", accessor_id)
        self._raw("delete", f"/v1/acl/token/{accessor_id}", f"deleting ACL token {accessor_id}")

    # --- auth methods and binding rules ---------------------------------------------------

    def acl_auth_method(self, name: str) -> dict | None:
        return self._acl_read(f"/v1/acl/auth-method/{_quote(name)}", f"reading auth method {name!r}")

    def acl_auth_method_write(self, body: dict, exists: bool) -> dict:
        name = body["Name"]
        path = f"/v1/acl/auth-method/{_quote(name)}" if exists else "/v1/acl/auth-method"
        return self._raw("put", path, f"writing auth method {name!r}", body=body)[1]

    def acl_auth_method_delete(self, name: str) -> None:
        self._raw("delete", f"/v1/acl/auth-method/{_quote(name)}", f"deleting auth method {name!r}")

    def acl_binding_rules(self, auth_method: str) -> list:
        params = [("authmethod", auth_method)]
        _index, rules = self._raw(
            "get", "/v1/acl/binding-rules", f"listing the binding rules of {auth_method!r}", params=params
        )
        return list(rules or [])

    def acl_binding_rule_write(self, body: dict, rule_id: str | None = None) -> dict:
        path = f"/v1/acl/binding-rule/{check_uuid('binding rule ID', rule_id)}" if rule_id else "/v1/acl/binding-rule"
        return self._raw("put", path, f"writing a binding rule of {body.get('AuthMethod')!r}", body=body)[1]

    def acl_binding_rule_delete(self, rule_id: str) -> None:
        rule_id = check_uuid("binding rule ID", rule_id)
        self._raw("delete", f"/v1/acl/binding-rule/{rule_id}", f"deleting binding rule {rule_id}")


def _link_key(item, kind: str, position: int) -> tuple:
    if isinstance(item, str):
        return ("name", item)
    if isinstance(item, dict) and bool(item.get("name")) != bool(item.get("id")):
        return ("id", item["id"]) if item.get("id") else ("name", item["name"])
    plural = "policies" if kind == "policy" else f"{kind}s"
    raise ConsulInvalidArgument(f"{plural}[{position}] needs exactly one of name or id, got {item!r}.")


def resolve_links(client, kind: str, items) -> list | None:
    """Policies or roles given by name or ID, as sorted [{'ID', 'Name'}]; an unknown one is an error.

    Read in check mode too, so that check mode refuses what the real run would refuse.
    """
    if items is None:
        return None
    links = {}
    for position, item in enumerate(items):
        field, value = _link_key(item, kind, position)
        if kind == "policy":
            found = client.acl_policy(**{"name" if field == "name" else "policy_id": value})
        else:
            found = client.acl_role(**{"name" if field == "name" else "role_id": value})
        if found is None:
            raise ConsulInvalidArgument(
                f"unknown ACL {kind} {value!r}: create it first (dockyard.discovery.acl_{kind})."
            )
        links[found["ID"]] = {"ID": found["ID"], "Name": found["Name"]}
    return sorted(links.values(), key=lambda link: link["Name"])
