# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Simulated nodes and service instances for bench/scale.py, written to the catalog through /v1/txn.

The nodes are external ones (no agent, no serfHealth check), so Consul's anti-entropy and reaping
leave them alone until the bench deletes them. A node delete in a transaction removes its services
too. Transactions carry at most TXN_OPS operations (Consul's limit is 128 per transaction).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

TXN_OPS = 128
NODE_PREFIX = "bench-scale-node-"
# Lab addresses nobody uses (the lab's nodes are .10, .20 and .30); nginx never connects to them
# during nginx -t or a reload, and nothing else sends them any traffic.
FIRST_HOST = 50


def node_name(index: int) -> str:
    return f"{NODE_PREFIX}{index:03d}"


def node_address(index: int, network: str = "172.20.20") -> str:
    return f"{network}.{FIRST_HOST + index}"


class Catalog:
    """Catalog writes against one agent's HTTP API (no ACL token: the lab's default scenario has none)."""

    def __init__(self, url: str, nodes: int, network: str = "172.20.20", timeout: float = 30):
        if nodes > 255 - FIRST_HOST - 1:
            raise ValueError(f"at most {255 - FIRST_HOST - 1} simulated nodes fit in {network}.{FIRST_HOST}-254")
        self.url, self.nodes, self.network, self.timeout = url.rstrip("/"), nodes, network, timeout
        self.written_nodes = False

    def _request(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:  # a failed transaction answers 409 with its Errors
            raise RuntimeError(f"{method} {path}: HTTP {error.code}: {error.read()[:1000]!r}") from None
        return json.loads(payload) if payload else None

    def _txn(self, operations: list) -> None:
        for start in range(0, len(operations), TXN_OPS):
            answer = self._request("PUT", "/v1/txn", operations[start : start + TXN_OPS])
            if answer and answer.get("Errors"):
                raise RuntimeError(f"catalog transaction failed: {answer['Errors'][:3]}")

    def ensure_nodes(self) -> None:
        operations = [
            {"Node": {"Verb": "set", "Node": {"Node": node_name(i), "Address": node_address(i, self.network)}}}
            for i in range(self.nodes)
        ]
        self.written_nodes = True  # set before the write: a half-done write is cleaned up too
        self._txn(operations)

    def instance(self, service: str, number: int) -> dict:
        """Instance `number` of a service: node number % nodes, a port unique on that node for the
        first 40,000 instances, the node's address (empty Address: Consul's rule gives the node's)."""
        node = number % self.nodes
        port = 20000 + number // self.nodes
        return {
            "node": node_name(node),
            "id": f"{service}-{number}",
            "port": port,
            "address": node_address(node, self.network),
        }

    def endpoint(self, service: str, number: int) -> str:
        instance = self.instance(service, number)
        return f"{instance['address']}:{instance['port']}"

    def _operations(self, verb: str, service: str, numbers) -> list:
        """The /v1/txn operations that set or delete instances `numbers` of a service."""
        operations = []
        for number in numbers:
            instance = self.instance(service, number)
            body = {"ID": instance["id"], "Service": service}
            if verb == "set":
                body["Port"] = instance["port"]
            operations.append({"Service": {"Verb": verb, "Node": instance["node"], "Service": body}})
        return operations

    def add(self, service: str, numbers) -> float:
        """Register instances `numbers` of a service; returns the time.time() at which the write was sent."""
        operations = self._operations("set", service, numbers)
        sent = time.time()
        self._txn(operations)
        return sent

    def remove(self, service: str, numbers) -> float:
        """Deregister instances `numbers` of a service; returns the time.time() at which the write was sent."""
        operations = self._operations("delete", service, numbers)
        sent = time.time()
        self._txn(operations)
        return sent

    def count(self, service: str) -> int:
        return len(self._request("GET", f"/v1/catalog/service/{service}") or [])

    def clean(self) -> None:
        """Delete every simulated node, and with it every instance on it."""
        if not self.written_nodes:
            return
        self._txn([{"Node": {"Verb": "delete", "Node": {"Node": node_name(i)}}} for i in range(self.nodes)])
        self.written_nodes = False
