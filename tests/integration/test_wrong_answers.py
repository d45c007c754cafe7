# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The "Wrong answers" of issue 11 through the real CLIs, against real agents and real foreign servers.

A plain static file server (Python's http.server) and a loopback port that sends an SSH banner
stand for the addresses that are not a Consul agent.
"""

import functools
import json
import socket
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import assert_clean_failure, run_inventory, run_module_direct, run_template

NOT_CONSUL = "is not a Consul agent"


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def static_server(tmp_path_factory):
    """A real HTTP server that is not Consul: it serves a directory with an index.html and a v1/ folder."""
    root = tmp_path_factory.mktemp("static")
    (root / "index.html").write_text("<html><body>It works!</body></html>\n")
    (root / "v1").mkdir()
    (root / "v1" / "index.html").write_text("<html>v1</html>\n")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietFiles, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield {"host": "127.0.0.1", "port": httpd.server_port, "url": f"http://127.0.0.1:{httpd.server_port}"}
    httpd.shutdown()
    httpd.server_close()


def not_consul_words(server) -> tuple:
    return (f"the server at {server['url']} {NOT_CONSUL}",)


def conn(server) -> dict:
    return {"host": server["host"], "port": server["port"]}


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("service_info", {"name": "web"}),
        ("service_info", {"name": "web", "catalog": True}),
        ("kv", {"key": "app/config"}),
        ("kv", {"key": "app/", "recurse": True}),
        ("kv", {"key": "app/config", "value": "x", "operation": "put"}),
        ("catalog_info", {}),
        ("cluster_info", {}),
        ("agent_service", {"name": "web"}),
    ],
)
def test_modules_against_a_static_file_server(static_server, module, args):
    run = run_module_direct(module, {**conn(static_server), **args})
    assert_clean_failure(run, *not_consul_words(static_server), "X-Consul-*")
    assert run.result["error"] == "not_consul"


def test_service_lookup_against_a_static_file_server(static_server):
    env = {"CONSUL_HTTP_ADDR": f"127.0.0.1:{static_server['port']}"}
    assert_clean_failure(run_template("query('dockyard.discovery.service', 'web')", env=env), NOT_CONSUL)
    assert_clean_failure(run_template("lookup('dockyard.discovery.kv', 'app')", env=env), NOT_CONSUL)


def test_inventory_against_a_static_file_server(static_server, tmp_path):
    path = tmp_path / "static.consul.yml"
    path.write_text(json.dumps({"plugin": "dockyard.discovery.consul", **conn(static_server)}))
    process = run_inventory(path, "--list", env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"})
    assert process.returncode != 0
    assert f"the server at {static_server['url']} {NOT_CONSUL}" in process.stderr, process.stderr
    assert "Traceback" not in process.stderr


def test_library_against_a_static_file_server(static_server):
    from ansible_collections.dockyard.discovery.plugins.module_utils._consul_client import ConsulClient
    from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulNotConsul
    from ansible_collections.dockyard.discovery.plugins.module_utils._consul_options import ConnectionOptions

    client = ConsulClient(ConnectionOptions(**conn(static_server)))
    calls = [
        lambda: client.service_instances("web"),
        client.services,
        client.nodes,
        client.datacenters,
        client.leader,
        client.members,
        client.raft_servers,
        client.autopilot_health,
        client.agent_services,
        lambda: client.kv_get("app"),
        lambda: client.kv_get("app", recurse=True),
        lambda: client.kv_put("app", "x"),
        lambda: client.deregister_service("web"),
    ]
    for call in calls:
        with pytest.raises(ConsulNotConsul) as failed:
            call()
        assert f"the server at {static_server['url']} {NOT_CONSUL}" in failed.value.message


def test_a_real_agent_is_still_a_consul_agent(agent, acl_agent, leaderless_agent):
    """Every endpoint family the client uses carries an X-Consul-* header, in every status."""
    assert run_module_direct("catalog_info", agent.connection()).result["datacenters"] == ["dc1"]
    assert "healthy" in run_module_direct("cluster_info", agent.connection()).result
    denied = run_module_direct(
        "kv", {**acl_agent.connection(), "token": "00000000-0000-0000-0000-000000000000", "key": "k"}
    )
    assert denied.result["error"] == "acl_denied"
    assert (
        run_module_direct("service_info", {**leaderless_agent.connection(), "name": "web"}).result["error"]
        == "no_leader"
    )


@pytest.fixture(scope="module")
def ssh_port():
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _address = listener.accept()
            except OSError:
                continue
            with connection:
                connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


def test_an_ssh_port_answers_but_does_not_speak_http(ssh_port):
    run = run_module_direct("service_info", {"host": "127.0.0.1", "port": ssh_port, "name": "web"})
    message = assert_clean_failure(run, "answered, but it does not speak HTTP", "SSH-2.0-OpenSSH_9.2")
    assert "cannot reach" not in message
    assert run.result["error"] == "not_consul"


def test_missing_tls_files_are_named_plainly(tls_agent):
    args = {
        **tls_agent.connection(),
        "client_cert": "/nonexistent/client.pem",
        "client_key": "/nonexistent/client-key.pem",
        "gather": ["datacenters"],
    }
    run = run_module_direct("catalog_info", args)
    message = assert_clean_failure(
        run,
        "client certificate /nonexistent/client.pem: no such file or directory",
        "client key /nonexistent/client-key.pem: no such file or directory",
    )
    assert "('" not in message and run.result["error"] == "tls"


# --- check mode refuses what the real run refuses ----------------------------------------------------


def both_modes(module: str, args: dict) -> list:
    return [run_module_direct(module, args, check=True, diff=True), run_module_direct(module, args)]


def test_recursive_delete_of_the_empty_prefix_fails_in_check_mode_too(agent):
    agent.http("PUT", "/v1/kv/wrong/keep", body=b"still here")
    check, real = both_modes("kv", {**agent.connection(), "key": "", "operation": "delete", "recurse": True})
    for run in (check, real):
        assert_clean_failure(run, "KV key is empty")
        assert "diff" not in run.result
    assert check.result["msg"] == real.result["msg"]
    assert agent.http("GET", "/v1/kv/wrong/keep")[0]["Key"] == "wrong/keep"


def test_reading_the_whole_store_is_still_allowed(agent):
    agent.http("PUT", "/v1/kv/wrong/read", body=b"x")
    run = run_module_direct("kv", {**agent.connection(), "key": "", "recurse": True}, check=True)
    assert "wrong/read" in [entry["key"] for entry in run.result["entries"]], run


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"name": ""}, "service name must be a non-empty string"),
        ({"name": "web", "service_port": -5}, "service_port=-5 is out of range (0-65535"),
        ({"name": "web", "service_port": 70000}, "service_port=70000 is out of range (0-65535"),
        ({"name": "web", "checks": [{"tcp": "127.0.0.1:70000"}]}, "tcp port=70000 is out of range"),
    ],
)
def test_agent_service_refuses_in_both_modes(agent, args, words):
    check, real = both_modes("agent_service", {**agent.connection(), "id": "wrong-svc", **args})
    for run in (check, real):
        assert_clean_failure(run, words)
    assert check.result["msg"] == real.result["msg"]
    assert "wrong-svc" not in agent.http("GET", "/v1/agent/services")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"key": "wrong/cas", "value": "v", "operation": "put", "cas": -1}, "not a Consul index"),
        ({"key": "wrong/flags", "value": "v", "operation": "put", "flags": -1}, "flags=-1 is out of range"),
    ],
)
def test_kv_refuses_in_both_modes(agent, args, words):
    check, real = both_modes("kv", {**agent.connection(), **args})
    for run in (check, real):
        assert_clean_failure(run, words)
    assert check.result["msg"] == real.result["msg"]


# --- blocking waits --------------------------------------------------------------------------------------


def test_a_wait_below_a_second_is_not_truncated(agent):
    from ansible_collections.dockyard.discovery.plugins.module_utils._consul_client import ConsulClient
    from ansible_collections.dockyard.discovery.plugins.module_utils._consul_options import ConnectionOptions

    agent.http("PUT", "/v1/kv/wrong/wait", body=b"x")
    client = ConsulClient(ConnectionOptions(**agent.connection()))
    index, _entry = client.kv_get("wrong/wait")
    began = time.monotonic()
    client.kv_get("wrong/wait", index=index, wait="1500ms")
    # Consul adds up to wait/16 of jitter; the old client sent 1s.
    assert 1.4 <= time.monotonic() - began < 3


def test_a_go_duration_wait_is_accepted(agent):
    run = run_module_direct("service_info", {**agent.connection(), "name": "consul", "index": 1, "wait": "1m30s"})
    assert run.result and not run.result.get("failed"), run
    refused = run_module_direct("service_info", {**agent.connection(), "name": "consul", "index": 1, "wait": "10m1s"})
    assert_clean_failure(refused, "longer than Consul's maximum of 10m")


# --- Docker failures ------------------------------------------------------------------------------------


def test_registrator_reconcile_reports_docker_failures_as_docker(agent):
    run = run_module_direct(
        "registrator_reconcile", {**agent.connection(), "docker_host": "unix:///nonexistent/docker.sock"}
    )
    message = assert_clean_failure(run, "the Docker API at unix:///nonexistent/docker.sock could not be used")
    assert run.result["error"] == "docker_unavailable", run
    assert "Consul" not in message
