# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures: throw-away Consul agents (dev, ACL, leaderless, TLS) and runners for the real ansible CLIs.

Modules, lookups and the inventory plugin run through `ansible` and `ansible-inventory`
exactly as a user runs them; results are compared with raw HTTP calls made with urllib.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
COLLECTIONS = REPO / "build" / "collections"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "tests" / "support"))
sys.path.insert(0, str(COLLECTIONS))

from consul_agent import ConsulAgent, consul_binary

if not (COLLECTIONS / "ansible_collections" / "dockyard" / "discovery").exists():
    pytest.exit(f"{COLLECTIONS} has no dockyard.discovery link; run `make venv` first.", returncode=2)


def pytest_report_header(config):
    import consul

    return f"consul package: {getattr(consul, '__version__', '?')} from {os.path.dirname(consul.__file__)}"


def pytest_sessionstart(session):
    try:
        consul_binary()
    except RuntimeError as error:
        pytest.exit(str(error), returncode=2)
    # make integration runs twice, the second time with py-consul first on PYTHONPATH.
    from importlib import metadata

    import consul

    expected = os.environ.get("DOCKYARD_CONSUL_PACKAGE", "python-consul2")
    location = Path(metadata.distribution(expected).locate_file("consul/__init__.py")).resolve()
    if Path(consul.__file__).resolve() != location:
        pytest.exit(f"the consul module comes from {consul.__file__}, not from {expected}", returncode=2)


@pytest.fixture(scope="session")
def agent():
    with ConsulAgent("dev") as running:
        yield running


@pytest.fixture(scope="session")
def acl_agent():
    with ConsulAgent("acl") as running:
        yield running


@pytest.fixture(scope="session")
def leaderless_agent():
    with ConsulAgent("no_leader") as running:
        yield running


@pytest.fixture(scope="session")
def tls_agent():
    with ConsulAgent("tls") as running:
        yield running


@pytest.fixture(scope="session")
def acl_tls_agent():
    with ConsulAgent("acl_tls") as running:
        yield running


def ansible_env(extra: dict | None = None) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CONSUL_", "ANSIBLE_")) and key not in ("DOCKER_HOST",)
    }
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="json",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(REPO / "build" / "tmp" / "ansible-local"),
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.update(extra or {})
    return env


class Run:
    """One finished ansible command: its task result (`result`) and raw output."""

    def __init__(self, process: subprocess.CompletedProcess):
        self.returncode = process.returncode
        self.stdout = process.stdout
        self.stderr = process.stderr
        self.result = None
        try:
            self.result = json.loads(process.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (ValueError, KeyError, IndexError, TypeError):
            pass

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __repr__(self):
        return f"Run(rc={self.returncode}, result={self.result}, stderr={self.stderr[-2000:]!r})"


def run_module(name: str, args: dict, check: bool = False, diff: bool = False, env: dict | None = None) -> Run:
    command = [
        str(BIN / "ansible"),
        "localhost",
        "-c",
        "local",
        "-m",
        f"dockyard.discovery.{name}",
        "-a",
        json.dumps(args),
    ]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    process = subprocess.run(command, env=ansible_env(env), capture_output=True, text=True, timeout=120, check=False)
    return Run(process)


class DirectRun(Run):
    """One module run without the ansible CLI: its JSON answer as `result`."""

    def __init__(self, process: subprocess.CompletedProcess):
        self.returncode = process.returncode
        self.stdout = process.stdout
        self.stderr = process.stderr
        try:
            self.result = json.loads(process.stdout)
        except ValueError:
            self.result = None


def run_module_direct(name: str, args: dict, check: bool = False, diff: bool = False, env: dict | None = None) -> Run:
    """A module run the way the controller runs it on a host, its arguments on stdin with check and
    diff mode as Ansible passes them, without starting the ansible CLI (a tenth of its 1.5-2 s).

    What only the controller does is not covered here: argument templating, and masking no_log
    values in the output. Tests of those use run_module.
    """
    payload = {"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check, "_ansible_diff": diff}}
    process = subprocess.run(
        [sys.executable, "-m", f"ansible_collections.dockyard.discovery.plugins.modules.{name}"],
        input=json.dumps(payload),
        env={
            **ansible_env(env),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(COLLECTIONS), os.environ.get("PYTHONPATH")])),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return DirectRun(process)


def run_template(expression: str, env: dict | None = None) -> Run:
    """Evaluate a Jinja2 expression (lookups) on the controller through ansible.builtin.debug."""
    args = json.dumps({"msg": "{{ " + expression + " }}"})
    command = [str(BIN / "ansible"), "localhost", "-c", "local", "-m", "ansible.builtin.debug", "-a", args]
    process = subprocess.run(command, env=ansible_env(env), capture_output=True, text=True, timeout=120, check=False)
    return Run(process)


def run_inventory(path: Path, *options: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [str(BIN / "ansible-inventory"), "-i", str(path), *options]
    return subprocess.run(command, env=ansible_env(env), capture_output=True, text=True, timeout=120, check=False)


def assert_clean_failure(run: Run, *words: str) -> str:
    """The command failed with a message containing `words`, and showed no Python traceback."""
    message = (run.result or {}).get("msg") or run.output
    assert run.returncode != 0 or (run.result or {}).get("failed"), run
    assert "Traceback (most recent call last)" not in run.output, run.output
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return message


@pytest.fixture(scope="session")
def not_consul():
    """A plain static HTTP server on loopback (python -m http.server): something that is not Consul."""
    import functools
    import http.server
    import tempfile
    import threading

    root = tempfile.mkdtemp(prefix="dytest-static-")
    Path(root, "index.html").write_text("<html>not consul</html>\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"host": "127.0.0.1", "port": server.server_address[1], "scheme": "http"}
    finally:
        server.shutdown()
        server.server_close()


def limited_token(agent, rules: str) -> str:
    """The secret of a new token of `agent` that can do only `rules`."""
    import uuid

    name = f"limited-{uuid.uuid4().hex[:8]}"
    agent.http("PUT", "/v1/acl/policy", {"Name": name, "Rules": rules})
    return agent.http("PUT", "/v1/acl/token", {"Policies": [{"Name": name}]})["SecretID"]
