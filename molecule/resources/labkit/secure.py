"""The secure lab as its verifier sees it: the secrets the consul role generated on the controller,
the agents' HTTPS API called with or without a token, and the ACL tokens by the name of their holder.

Nothing here prints a secret: assertion messages carry status codes and Consul's error texts only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import requests

from labkit.ansible_runner import INVENTORY
from labkit.waiting import wait_for

# The consul role's consul_secrets_dir for the secure scenario: inside the inventory directory.
SECRETS = INVENTORY / ".consul-secrets" / "dc1"
TLS = SECRETS / "tls"
CA = TLS / "ca.pem"
HTTPS_PORT = 8501


def secret(name: str) -> str:
    """A file of consul_secrets_dir, such as gossip.key or acl-bootstrap.token."""
    return (SECRETS / name).read_text().strip()


def management_token() -> str:
    return secret("acl-bootstrap.token")


def sha256(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


@dataclass(frozen=True)
class Api:
    """One agent's HTTPS API, verified with the lab's CA."""

    address: str

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"X-Consul-Token": token} if token else {}
        return requests.request(
            method, f"https://{self.address}:{HTTPS_PORT}{path}", headers=headers, verify=str(CA), timeout=10, **kwargs
        )

    def get(self, path: str, token: str | None = None):
        """GET as the management token unless another is given; the decoded JSON of a 200."""
        response = self.call("GET", path, token or management_token())
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:300]}"
        return response.json()


def tokens_by_description(api: Api) -> dict[str, dict]:
    """Every ACL token, keyed by its description (the roles name each token after its holder)."""
    return {token["Description"]: token for token in api.get("/v1/acl/tokens")}


def token_secret(api: Api, description: str) -> str:
    token = tokens_by_description(api).get(description)
    assert token, f"no ACL token described as {description!r}"
    return api.get(f"/v1/acl/token/{token['AccessorID']}")["SecretID"]


# --- the datacenter's state, as the fault and day-2 tests compare it before and after ---------------


def leader_node(api: Api) -> str:
    """The node name of the raft leader ("" when there is none)."""
    response = api.call("GET", "/v1/operator/raft/configuration?stale", management_token())
    if response.status_code != 200:
        return ""
    return next((server["Node"] for server in response.json()["Servers"] if server["Leader"]), "")


def transfer_leadership(api: Api, node: str) -> None:
    """Make node the raft leader (operator API) and wait until every answer says so."""
    if leader_node(api) == node:
        return
    servers = api.get("/v1/operator/raft/configuration")["Servers"]
    target = next(server["ID"] for server in servers if server["Node"] == node)
    response = api.call("POST", f"/v1/operator/raft/transfer-leader?id={target}", management_token())
    assert response.status_code == 200, f"leader transfer to {node}: {response.status_code} {response.text[:300]}"
    wait_for(lambda: leader_node(api) == node, 30, 0.2, what=f"{node} the leader")


def member_versions(api: Api) -> dict[str, str]:
    """{node: Consul version} of every serf member, from its build tag (such as "1.22.7:1d6e2c5f")."""
    return {member["Name"]: member["Tags"]["build"].split(":")[0] for member in api.get("/v1/agent/members")}


def kv_checksum(api: Api, prefix: str = "") -> tuple[int, str]:
    """(number of keys, sha256 over every key, flag and value) of the KV tree under prefix."""
    response = api.call("GET", f"/v1/kv/{prefix}?recurse", management_token())
    if response.status_code == 404:
        return 0, sha256("")
    assert response.status_code == 200, f"KV read: {response.status_code} {response.text[:300]}"
    entries = sorted((entry["Key"], entry["Flags"], entry["Value"] or "") for entry in response.json())
    return len(entries), sha256(repr(entries))


def service_counts(api: Api) -> dict[str, int]:
    """{service: number of instances} in the catalog."""
    return {name: len(api.get(f"/v1/catalog/service/{name}")) for name in api.get("/v1/catalog/services")}
