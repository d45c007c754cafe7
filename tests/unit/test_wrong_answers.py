# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The "Wrong answers" of issue 11, one test (or a few) each, without a Consul agent.

Loopback servers stand in where the wire matters: one that answers with Consul's headers but
bodies of another shape, one that sends an SSH banner. The integration tests
(tests/integration/test_wrong_answers.py) run the same cases through the real CLIs and agent.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from ansible_collections.dockyard.discovery.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.dockyard.discovery.plugins.module_utils import _consul_errors as errors
from ansible_collections.dockyard.discovery.plugins.module_utils._agent_service import registration_body
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_client import ConsulClient
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_options import (
    CONNECTION_OPTIONS,
    ConnectionOptions,
    resolve_connection,
)

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / "build" / "collections"


# --- a server with Consul's headers and canned bodies -------------------------------------------


class CannedConsul(BaseHTTPRequestHandler):
    """Answers every path with the server's `bodies[path]` (JSON text), with X-Consul-* headers."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        payload = self.server.bodies.get(path, "null").encode()
        self.send_response(200)
        self.send_header("X-Consul-Default-Acl-Policy", "allow")
        self.send_header("X-Consul-Index", "7")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def canned():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), CannedConsul)
    httpd.bodies = {}
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def client_at(port: int, **options) -> ConsulClient:
    return ConsulClient(ConnectionOptions(host="127.0.0.1", port=port, **options))


@pytest.mark.parametrize(
    ("path", "body", "call"),
    [
        ("/v1/catalog/services", "[]", lambda c: c.services()),
        ("/v1/catalog/services", "null", lambda c: c.services()),
        ("/v1/catalog/nodes", "{}", lambda c: c.nodes()),
        ("/v1/catalog/datacenters", "[null, null]", lambda c: c.datacenters()),
        ("/v1/catalog/datacenters", "null", lambda c: c.datacenters()),
        ("/v1/health/service/web", '{"a": 1}', lambda c: c.service_instances("web")),
        ("/v1/health/service/web", "null", lambda c: c.service_instances("web")),
        ("/v1/agent/members", "null", lambda c: c.members()),
        ("/v1/status/leader", "null", lambda c: c.leader()),
        ("/v1/status/peers", '"x"', lambda c: c.peers()),
        ("/v1/operator/raft/configuration", "[]", lambda c: c.raft_servers()),
        ("/v1/operator/autopilot/health", "null", lambda c: c.autopilot_health()),
        ("/v1/agent/services", "[]", lambda c: c.agent_services()),
        ("/v1/agent/checks", "null", lambda c: c.agent_checks()),
        ("/v1/health/state/any", "{}", lambda c: c.checks()),
        ("/v1/kv/app", '{"Key": "app"}', lambda c: c.kv_get("app")),
        ("/v1/kv/app", "[1, 2]", lambda c: c.kv_get("app")),
        ("/v1/kv/app", '{"Key": "app"}', lambda c: c.kv_get("app", recurse=True)),
    ],
)
def test_a_body_of_the_wrong_shape_says_not_consul(canned, path, body, call):
    canned.bodies[path] = body
    with pytest.raises(errors.ConsulNotConsul) as failed:
        call(client_at(canned.server_port))
    assert f"the server at http://127.0.0.1:{canned.server_port} is not a Consul agent" in failed.value.message
    assert failed.value.kind == "not_consul"


def test_right_shapes_still_read(canned):
    canned.bodies.update(
        {
            "/v1/catalog/datacenters": '["dc1"]',
            "/v1/catalog/services": '{"web": ["b", "a"]}',
            "/v1/status/leader": '""',
            "/v1/health/service/web": "[]",
        }
    )
    client = client_at(canned.server_port)
    assert client.datacenters() == ["dc1"]
    assert client.services().value == {"web": ["a", "b"]}
    assert client.leader() == ""
    assert client.service_instances("web").value == []


# --- a port that answers with something that is not HTTP -----------------------------------------


@pytest.fixture
def ssh_banner():
    """Sends an SSH banner to every connection and closes it, like sshd given an HTTP request."""
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
                time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


@pytest.mark.parametrize("through_proxy", [False, True], ids=["keep-alive", "requests"])
def test_an_ssh_banner_is_not_called_unreachable(ssh_banner, monkeypatch, through_proxy):
    if through_proxy:
        # The requests-based client, used when a proxy applies: here the proxy is the SSH port itself.
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{ssh_banner}")
        monkeypatch.setenv("NO_PROXY", "")
    client = client_at(ssh_banner if not through_proxy else 9, timeout=5)
    with pytest.raises(errors.ConsulNotConsul) as failed:
        client.leader()
    message = failed.value.message
    assert "answered, but it does not speak HTTP" in message and "SSH-2.0-OpenSSH_9.2" in message, message
    assert "cannot reach" not in message


# --- TLS files reported as paths, not as a Python tuple ------------------------------------------


@pytest.mark.parametrize("through_proxy", [False, True], ids=["keep-alive", "requests"])
def test_missing_tls_files_are_named_plainly(monkeypatch, through_proxy, tmp_path):
    if through_proxy:
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("NO_PROXY", "")
    ca = tmp_path / "ca.pem"
    ca.write_text("not used: the client files are missing")
    client = ConsulClient(
        ConnectionOptions(
            host="127.0.0.1",
            port=9,
            scheme="https",
            ca_path=str(ca),
            client_cert="/nonexistent/cert.pem",
            client_key="/nonexistent/key.pem",
        )
    )
    with pytest.raises(errors.ConsulTLSError) as failed:
        client.datacenters()
    message = failed.value.message
    assert "client certificate /nonexistent/cert.pem: no such file or directory" in message, message
    assert "client key /nonexistent/key.pem: no such file or directory" in message, message
    assert "('" not in message and str(ca) not in message, message


# --- check mode validates like the real run; ports ------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"name": ""}, "service name must be a non-empty string"),
        ({"name": "web", "service_id": "a/b"}, "contains '/'"),
        ({"name": "web", "port": -5}, "service_port=-5 is out of range (0-65535"),
        ({"name": "web", "port": 70000}, "service_port=70000 is out of range"),
        ({"name": "web", "checks": [{"tcp": "127.0.0.1:70000"}]}, "tcp port=70000 is out of range (1-65535)"),
    ],
)
def test_registration_body_refuses_what_the_real_run_refuses(kwargs, words):
    arguments = {"service_id": None, "address": "", "port": None, "tags": [], "meta": {}, "checks": []}
    arguments.update(kwargs)
    with pytest.raises(errors.ConsulInvalidArgument, match=re.escape(words)):
        registration_body(
            arguments["name"],
            arguments["service_id"],
            arguments["address"],
            arguments["port"],
            arguments["tags"],
            arguments["meta"],
            False,
            arguments["checks"],
        )


def test_service_port_zero_and_the_edges_are_accepted():
    for port in (0, 1, 65535):
        assert registration_body("web", None, "", port, [], {}, False, [])["Port"] == port
    assert registration_body("web", None, "", None, [], {}, False, [{"tcp": "localhost:http"}])["Checks"]


class FakeModule:
    """Enough of ConsulModule for kv's apply_kv: a client that records every call."""

    check_mode = True
    diff_mode = True

    def __init__(self, **params):
        self.params = {
            "key": "app",
            "operation": "get",
            "value": None,
            "flags": None,
            "cas": None,
            "recurse": False,
            "index": None,
            "wait": "5m",
            "datacenter": None,
            **params,
        }
        self.calls = []

    @property
    def client(self):
        module = self

        class Recorder:
            def __getattr__(self, name):
                module.calls.append(name)
                raise AssertionError(f"the client was called ({name}) before the input was validated")

        return Recorder()


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"key": "", "operation": "delete", "recurse": True}, "KV key is empty"),
        ({"key": "", "operation": "delete"}, "KV key is empty"),
        ({"key": "app", "operation": "put", "value": "v", "cas": -1}, "not a Consul index"),
        ({"key": "app", "operation": "put", "value": "v", "flags": -1}, "flags=-1 is out of range"),
        ({"key": "app", "operation": "delete", "recurse": True, "cas": 3}, "cannot be combined with recurse"),
    ],
)
def test_kv_check_mode_refuses_before_reading(params, words):
    kv = importlib.import_module("ansible_collections.dockyard.discovery.plugins.modules.kv")
    module = FakeModule(**params)
    with pytest.raises(errors.ConsulInvalidArgument, match=words):
        kv.apply_kv(module)
    assert module.calls == []


def test_the_client_refuses_a_recursive_delete_of_everything():
    client = client_at(9)
    with pytest.raises(errors.ConsulInvalidArgument, match="KV key is empty"):
        client.kv_delete("", recurse=True)


# --- blocking waits -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wait", "sent", "seconds"),
    [("1500ms", "1500ms", 1.5), ("1m30s", "1m30s", 90), ("2", "2s", 2), (30, "30s", 30), ("10m", "10m", 600)],
)
def test_waits_are_sent_exactly(wait, sent, seconds):
    assert ConsulClient._blocking(5, wait) == ({"index": 5, "wait": sent}, seconds)


@pytest.mark.parametrize("wait", ["10m1s", "11m", "soon", "-1s", "1x"])
def test_waits_beyond_ten_minutes_or_malformed_are_refused(wait):
    with pytest.raises(errors.ConsulInvalidArgument, match="wait="):
        ConsulClient._blocking(5, wait)


# --- plugin client cache --------------------------------------------------------------------------


def test_client_close_closes_the_kept_connection(canned):
    canned.bodies["/v1/status/leader"] = '"127.0.0.1:8300"'
    client = client_at(canned.server_port)
    assert client.leader() == "127.0.0.1:8300"
    assert client._api.http._connection is not None
    client.close()
    assert client._api.http._connection is None
    assert client.leader() == "127.0.0.1:8300"  # still usable: a new connection


def test_client_for_closes_the_clients_it_evicts(monkeypatch):
    from ansible_collections.dockyard.discovery.plugins.plugin_utils import _consul_plugin

    closed = []
    monkeypatch.setattr(ConsulClient, "close", lambda self: closed.append(self.options.port))
    monkeypatch.setattr(_consul_plugin, "_CLIENTS", {})

    class Plugin:
        ansible_name = "test"

        def __init__(self, port):
            self.port = port

        def get_option(self, name):
            return self.port if name == "port" else None

    for port in range(9001, 9001 + _consul_plugin._MAX_CLIENTS + 2):
        _consul_plugin.client_for(Plugin(port))
    assert closed == [9001, 9002]
    assert len(_consul_plugin._CLIENTS) == _consul_plugin._MAX_CLIENTS


# --- Docker failures are not Consul's ---------------------------------------------------------------


def test_docker_failures_have_their_own_kind():
    from ansible_collections.dockyard.discovery.plugins.module_utils._docker_api import DockerUnavailable, connect

    with pytest.raises(DockerUnavailable) as failed:
        connect("unix:///nonexistent/docker.sock", timeout=2)
    assert failed.value.kind == "docker_unavailable" and failed.value.status is None
    assert not isinstance(failed.value, errors.ConsulError)
    assert "Docker API at unix:///nonexistent/docker.sock" in failed.value.message


# --- one precedence order, from one table ---------------------------------------------------------


ENV_SAMPLES = {
    "CONSUL_HTTP_ADDR": ("https://env-host:8601", {"host": "env-host", "port": 8601, "scheme": "https"}),
    "CONSUL_HTTP_SSL": ("true", {"scheme": "https"}),
    "CONSUL_HTTP_TOKEN": ("env-token", {"token": "env-token"}),
    "CONSUL_CACERT": ("/env/ca.pem", {"ca_path": "/env/ca.pem"}),
    "CONSUL_CLIENT_CERT": ("/env/cert.pem", {"client_cert": "/env/cert.pem"}),
    "CONSUL_CLIENT_KEY": ("/env/key.pem", {"client_key": "/env/key.pem"}),
    "CONSUL_HTTP_SSL_VERIFY": ("false", {"validate_certs": False}),
}
EXPLICIT = {
    "host": "given-host",
    "port": 8701,
    "scheme": "http",
    "token": "given-token",
    "ca_path": "/given/ca.pem",
    "client_cert": "/given/cert.pem",
    "client_key": "/given/key.pem",
    "validate_certs": True,
    "datacenter": "dc9",
    "timeout": 3.0,
}
NEEDS = {"client_key": {"client_cert": "/given/cert.pem"}}  # a key alone is refused


def env_cases():
    for option, (_type, env_names) in CONNECTION_OPTIONS.items():
        for env_name in env_names:
            yield option, env_name


@pytest.mark.parametrize(("option", "env_name"), list(env_cases()))
def test_every_option_follows_one_order(option, env_name):
    raw, gives = ENV_SAMPLES[env_name]
    environ = {env_name: raw}
    # the environment variable fills the option when nothing is given ...
    assert getattr(resolve_connection(dict(NEEDS.get(option, {})), environ), option) == gives[option]
    # ... and a given value wins over it
    assert (
        getattr(resolve_connection({**NEEDS.get(option, {}), option: EXPLICIT[option]}, environ), option)
        == (EXPLICIT[option])
    )


def test_options_without_environment_variables_ignore_it():
    every_variable = {name: raw for name, (raw, _gives) in ENV_SAMPLES.items() if name != "CONSUL_HTTP_ADDR"}
    for option, (_type, env_names) in CONNECTION_OPTIONS.items():
        if not env_names:
            assert getattr(resolve_connection({}, every_variable), option) == getattr(ConnectionOptions(), option)


def fragment(text: str) -> dict:
    return yaml.safe_load(text)["options"]


def test_the_doc_fragment_agrees_with_the_table():
    documented = fragment(ModuleDocFragment.DOCUMENTATION)
    plugins = fragment(ModuleDocFragment.PLUGINS)
    assert set(documented) == set(CONNECTION_OPTIONS) == set(plugins)
    for option, (type_name, env_names) in CONNECTION_OPTIONS.items():
        assert documented[option]["type"] == type_name, option
        text = " ".join(documented[option]["description"])
        named = re.findall(r"E\(([A-Z_]+)", text)
        assert sorted(set(named)) == sorted(env_names), (option, named)
        # Ansible's own config would let an `env:` entry beat the ini: the variables are resolve_connection's.
        assert "env" not in plugins[option], option
        assert plugins[option]["ini"] == [{"section": "dockyard_discovery", "key": option}]
        assert plugins[option]["vars"] == [{"name": f"dockyard_consul_{option}"}]


PLUGIN_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible.plugins.loader import init_plugin_loader, lookup_loader
init_plugin_loader()
from ansible_collections.dockyard.discovery.plugins.plugin_utils._consul_plugin import client_for
lookup = lookup_loader.get("dockyard.discovery.kv")
lookup.set_options(var_options=json.loads(sys.argv[2]), direct={})
options = client_for(lookup).options
print(json.dumps({"host": options.host, "port": options.port, "token": options.token, "ca_path": options.ca_path}))
"""


def plugin_options(tmp_path, ini: dict, env: dict, variables: dict | None = None) -> dict:
    config = tmp_path / "ansible.cfg"
    config.write_text("[dockyard_discovery]\n" + "".join(f"{k} = {v}\n" for k, v in ini.items()))
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_CONFIG": str(config), **env}
    environ["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS)
    process = subprocess.run(
        [sys.executable, "-c", PLUGIN_PROBE, str(COLLECTIONS), json.dumps(variables or {})],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout)


def test_plugins_follow_the_same_order_for_host_and_token(tmp_path):
    env = {"CONSUL_HTTP_ADDR": "env-host:8601", "CONSUL_HTTP_TOKEN": "env-token", "CONSUL_CACERT": "/env/ca.pem"}
    # ansible.cfg beats the Consul CLI environment, for token as for host ...
    got = plugin_options(tmp_path, {"host": "ini-host", "token": "ini-token"}, env)
    assert got == {"host": "ini-host", "port": 8601, "token": "ini-token", "ca_path": "/env/ca.pem"}
    # ... a variable beats ansible.cfg ...
    got = plugin_options(tmp_path, {"token": "ini-token"}, env, {"dockyard_consul_token": "var-token"})
    assert got["token"] == "var-token" and got["host"] == "env-host"
    # ... and with neither, the environment applies.
    assert plugin_options(tmp_path, {}, env)["token"] == "env-token"


# --- examples, dead code, assertions that cannot fail ---------------------------------------------


def plugin_examples():
    for kind in ("modules", "lookup", "inventory"):
        for path in sorted((REPO / "plugins" / kind).glob("*.py")):
            if path.name == "__init__.py":
                continue
            text = path.read_text()
            match = re.search(r'^EXAMPLES = r?"""(.*?)"""', text, re.DOTALL | re.MULTILINE)
            if match:
                yield f"{kind}/{path.name}", match.group(1)


def kv_prefixes(examples: str):
    """(what, prefix) for every recursive kv module task and kv lookup in the examples."""
    for task in yaml.safe_load(examples) or []:
        args = task.get("dockyard.discovery.kv") if isinstance(task, dict) else None
        if isinstance(args, dict) and args.get("recurse"):
            yield f"task {task.get('name')!r} ({args.get('operation', 'get')})", str(args["key"])
    for term in re.findall(r"lookup\('dockyard\.discovery\.kv',\s*'([^']*)'[^)]*recurse=true", examples):
        yield "kv lookup", term


def test_recursive_kv_examples_stay_inside_their_folder():
    found = []
    for where, examples in plugin_examples():
        for what, prefix in kv_prefixes(examples):
            found.append(what)
            # app/config as a prefix also matches app/configuration-backup: a folder ends with /
            assert prefix.endswith("/"), f"{where}: {what} uses the prefix {prefix!r}"
    assert any("delete" in what for what in found), found


def test_every_client_method_has_a_caller():
    source = (REPO / "plugins" / "module_utils" / "_consul_client.py").read_text()
    tree = ast.parse(source)
    client = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ConsulClient")
    public = [n.name for n in client.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]
    elsewhere = ""
    for folder in ("plugins", "molecule", "bench", "lab", "tests/integration", "docs"):
        for path in (REPO / folder).rglob("*"):
            if path.suffix in (".py", ".md", ".yml") and path.name != "_consul_client.py" and path.is_file():
                elsewhere += path.read_text(errors="replace")
    unused = [name for name in public if not re.search(rf"\.{name}\b", elsewhere)]
    assert unused == [], f"ConsulClient methods nobody calls: {unused}"


def test_no_assertion_on_a_wait_for_result():
    """labkit's wait_for returns (value, seconds) or raises: `assert wait_for(...)` can never fail."""
    offenders = []
    for path in (REPO / "molecule").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assert):
                test = node.test
                if isinstance(test, ast.Call) and getattr(test.func, "id", None) == "wait_for":
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


def test_plain_http_to_an_https_port_says_use_https():
    """Go's TLS listener answers plain HTTP with a 400 and no Consul header: the wrong scheme, not a foreign server."""
    from ansible_collections.dockyard.discovery.plugins.module_utils._consul_client import _checked

    class Response:
        code, headers, body = 400, {}, "Client sent an HTTP request to an HTTPS server.\n"

    client = client_at(8501)
    with pytest.raises(Exception) as raised:
        _checked(Response())
    error = client._translate(raised.value, "listing datacenters")
    assert isinstance(error, errors.ConsulBadRequest) and error.status == 400
    assert "answered HTTP 400" in error.message and "Set scheme to https" in error.message
