"""Consul agents the lab did not configure, run on the controller at the lab network's gateway
(172.20.22.1): strangers that try to join, talk RPC or pass for a server.

Each one has its own data directory and ports, answers plain HTTP on the controller's loopback (so
the test can ask it what happened), and is removed from the datacenter again when it stops.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import requests

from labkit.ports import free_port
from labkit.secure import Api, management_token
from labkit.waiting import wait_for

CONSUL = os.environ["CONSUL_BIN"]
GATEWAY = "172.20.22.1"
SERVERS = ["172.20.22.10", "172.20.22.20", "172.20.22.30"]
# The rogues' own serf port is not 8301, so the servers' is spelled out.
SERF = [f"{address}:8301" for address in SERVERS]


def consul_cli(*args: str, cwd: Path) -> None:
    result = subprocess.run([CONSUL, *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, f"consul {' '.join(args)}: {result.stderr}"


class RogueAgent:
    def __init__(self, name: str, workdir: Path, **config):
        self.name = name
        self.http_port = free_port("127.0.0.1")
        self.serf_port = free_port(GATEWAY)
        # A client never listens there, but dials the servers' RPC port with it (auto_encrypt).
        self.server_port = free_port(GATEWAY) if config.get("server") else 8300
        self.workdir = workdir / name
        (self.workdir / "data").mkdir(parents=True)
        base = {
            "datacenter": "dc1",
            "node_name": name,
            "data_dir": str(self.workdir / "data"),
            "bind_addr": GATEWAY,
            "advertise_addr": GATEWAY,
            "client_addr": "127.0.0.1",
            "disable_update_check": True,
            "log_level": "debug",
            "ports": {
                "http": self.http_port,
                "https": -1,
                "dns": -1,
                "grpc": -1,
                "grpc_tls": -1,
                "serf_lan": self.serf_port,
                "serf_wan": -1,
                "server": self.server_port,
            },
        }
        self.config = {**base, **config}
        self.process = None

    def seed_token(self, token: str) -> None:
        """Put an agent token into the agent's token store before it starts (as the consul role does)."""
        store = self.workdir / "data" / "acl-tokens.json"
        store.write_text(json.dumps({"agent": token}))
        store.chmod(0o600)

    def __enter__(self):
        config_file = self.workdir / "agent.json"
        config_file.write_text(json.dumps(self.config))
        self.log = (self.workdir / "agent.log").open("w")
        self.process = subprocess.Popen(
            [CONSUL, "agent", f"-config-file={config_file}"], stdout=self.log, stderr=subprocess.STDOUT
        )
        # Listening is enough: every API call of a client (even /v1/status/peers or an ACL check)
        # may wait on RPC to the servers, which a rogue may never get through.
        wait_for(self.listening, 30, 0.2, what=f"{self.name}'s HTTP API")
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()
        forget(self.name)

    def listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.http_port), timeout=1).close()
        except OSError:
            return False
        return True

    def http(self, method: str, path: str, token: str | None = None, timeout: float = 15):
        """The rogue's own API; None while it does not answer."""
        headers = {"X-Consul-Token": token} if token else {}
        try:
            url = f"http://127.0.0.1:{self.http_port}{path}"
            return requests.request(method, url, headers=headers, timeout=timeout)
        except requests.ConnectionError:
            return None

    def join(self, address: str = SERF[0]) -> requests.Response:
        return self.http("PUT", f"/v1/agent/join/{address}")

    def output(self) -> str:
        return (self.workdir / "agent.log").read_text(errors="replace")


def lab_member(name: str) -> dict | None:
    members = Api(SERVERS[0]).get("/v1/agent/members")
    return next((m for m in members if m["Name"] == name), None)


def forget(name: str) -> None:
    """Remove a stopped rogue from the member list and the raft configuration."""
    api = Api(SERVERS[0])
    if lab_member(name) is not None:
        response = api.call("PUT", f"/v1/agent/force-leave/{name}?prune=1", management_token())
        assert response.status_code == 200, response.text
    wait_for(lambda: lab_member(name) is None, 30, 0.5, what=f"{name} gone from the members")
    wait_for(
        lambda: name not in [s["Node"] for s in api.get("/v1/operator/raft/configuration")["Servers"]],
        30,
        0.5,
        what=f"{name} gone from the raft configuration",
    )


def server_journals(nodes, since: float) -> str:
    """The Consul logs of every lab server since an epoch time."""
    return "\n".join(
        node.check(f"journalctl -u consul --since @{int(since) - 1} --no-pager -o cat") for node in nodes.values()
    )
