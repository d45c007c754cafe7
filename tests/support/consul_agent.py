# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start and stop throw-away Consul agents for tests and benchmarks.

Every listener gets a free random loopback port and every agent its own data dir, so parallel
runs and the lab's agents never collide.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from toolchain import cached_binary


def consul_binary() -> str:
    """The pinned Consul binary: $CONSUL_BIN, else the toolchain cache that `make toolchain` fills."""
    return cached_binary("consul", "CONSUL_VERSION", "CONSUL_BIN")


def free_ports(count: int) -> list:
    sockets, ports = [], []
    try:
        while len(ports) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                udp.bind(("127.0.0.1", port))  # serf and DNS need the UDP port too
            except OSError:
                sock.close()
                continue
            finally:
                udp.close()
            sockets.append(sock)
            ports.append(port)
    finally:
        for sock in sockets:
            sock.close()
    return ports


class ConsulAgent:
    """One `consul agent` process. mode: dev (default), acl (dev + deny-by-default ACLs),
    acl_unbootstrapped (deny-by-default ACLs and no management token yet: for bootstrap tests),
    acl_tls (acl over HTTPS only),
    no_leader (a server that waits for a second one and so never elects a leader), tls (dev, HTTPS only)."""

    MANAGEMENT_TOKEN = "6a1b1f9e-0d1c-4c55-9a77-dockyard0001"[:36]

    def __init__(
        self,
        mode: str = "dev",
        node_name: str | None = None,
        client_addresses: tuple = ("127.0.0.1",),
        encrypt: str | None = None,
    ):
        """encrypt: a gossip key, which turns gossip encryption (and so the keyring API) on."""
        self.mode = mode
        self.workdir = Path(tempfile.mkdtemp(prefix=f"dytest-consul-{mode}-"))
        http, dns, serf_lan, serf_wan, server, https = free_ports(6)
        self.node_name = node_name or f"dytest-{mode}-{http}"
        tls = mode in ("tls", "acl_tls")
        self.http_port = https if tls else http
        self.scheme = "https" if tls else "http"
        self.token = self.MANAGEMENT_TOKEN if mode in ("acl", "acl_tls") else None
        self.ca_file = None
        ports = {"dns": dns, "serf_lan": serf_lan, "serf_wan": serf_wan, "server": server, "grpc": -1, "grpc_tls": -1}
        config = {
            "node_name": self.node_name,
            "data_dir": str(self.workdir / "data"),
            "bind_addr": "127.0.0.1",
            # extra addresses (the Docker bridge) let containers reach the API
            "client_addr": " ".join(client_addresses),
            "advertise_addr": "127.0.0.1",
            "log_level": "warn",
            "disable_update_check": True,
            "ports": ports,
        }
        if encrypt:
            config["encrypt"] = encrypt
        if tls:
            ports.update(http=-1, https=https)
            config["tls"] = {"defaults": self._make_certs()}
        else:
            ports.update(http=http, https=-1)
        if mode in ("acl", "acl_tls"):
            config["acl"] = {
                "enabled": True,
                "default_policy": "deny",
                # agent_token's tests read the tokens the agent persisted
                "enable_token_persistence": True,
                "tokens": {"initial_management": self.MANAGEMENT_TOKEN, "agent": self.MANAGEMENT_TOKEN},
            }
        if mode == "acl_unbootstrapped":
            config["acl"] = {"enabled": True, "default_policy": "deny"}
        if mode == "no_leader":
            # A short hold makes requests fail with "No cluster leader" in about a second, not seven.
            config.update(server=True, bootstrap_expect=2, performance={"rpc_hold_timeout": "1s"})
        config_file = self.workdir / "agent.json"
        config_file.write_text(json.dumps(config))
        command = [consul_binary(), "agent", f"-config-file={config_file}"]
        if mode != "no_leader":
            command.insert(2, "-dev")
        self.log = open(self.workdir / "agent.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _make_certs(self) -> dict:
        binary = consul_binary()
        subprocess.run([binary, "tls", "ca", "create", "-days", "2"], cwd=self.workdir, check=True, capture_output=True)
        subprocess.run(
            [
                binary,
                "tls",
                "cert",
                "create",
                "-server",
                "-dc",
                "dc1",
                "-days",
                "2",
                "-additional-ipaddress",
                "127.0.0.1",
            ],
            cwd=self.workdir,
            check=True,
            capture_output=True,
        )
        self.ca_file = str(self.workdir / "consul-agent-ca.pem")
        return {
            "ca_file": self.ca_file,
            "cert_file": str(self.workdir / "dc1-server-consul-0.pem"),
            "key_file": str(self.workdir / "dc1-server-consul-0-key.pem"),
            "verify_incoming": False,
        }

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}"

    def connection(self) -> dict:
        """Connection options for modules, lookups and the client."""
        options = {"host": "127.0.0.1", "port": self.http_port, "scheme": self.scheme}
        if self.token:
            options["token"] = self.token
        if self.ca_file:
            options["ca_path"] = self.ca_file
        return options

    def http(self, method: str, path: str, body=None, token: str | None = None, raw: bool = False):
        """An independent raw HTTP call (urllib, not the consul package): the reference the tests compare to."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        token = token or self.token
        if token:
            request.add_header("X-Consul-Token", token)
        context = None
        if self.scheme == "https":
            import ssl

            context = ssl.create_default_context(cafile=self.ca_file)
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            payload = response.read()
        if raw:
            return payload
        return json.loads(payload) if payload else None

    def deregister(self, service_id: str) -> None:
        """Deregister a service from this agent; an unknown ID is fine."""
        try:
            self.http("PUT", f"/v1/agent/service/deregister/{service_id}")
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        path = "/v1/agent/self" if self.mode == "no_leader" else "/v1/status/leader"
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"consul agent exited with {self.process.returncode}:\n{self.read_log()}")
            try:
                answer = self.http("GET", path)
                if answer and self.mode == "acl_unbootstrapped":
                    return  # the catalog needs a token, which the test is about to bootstrap
                if self.mode == "no_leader" or answer:
                    if self.mode != "no_leader":
                        # the catalog is usable once the agent has synced its own node
                        if any(n["Node"] == self.node_name for n in self.http("GET", "/v1/catalog/nodes") or []):
                            return
                    else:
                        return
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = exc
            time.sleep(0.1)
        raise RuntimeError(f"consul agent not ready after {timeout}s ({last}):\n{self.read_log()}")

    def read_log(self) -> str:
        try:
            return (self.workdir / "agent.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()
