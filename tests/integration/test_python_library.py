# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plain-Python example of docs/python-library.md runs as documented."""

import base64
import os
import subprocess
import sys

from conftest import COLLECTIONS, REPO


def example_source() -> str:
    text = (REPO / "docs" / "python-library.md").read_text()
    return text.split("```python\n", 1)[1].split("```", 1)[0]


def run_example(address: str, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CONSUL_")}
    env.update(CONSUL_HTTP_ADDR=address, PYTHONPATH=os.pathsep.join([str(COLLECTIONS), env.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-c", example_source(), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_example_against_a_dev_agent(agent):
    process = run_example(agent.address, "consul")
    assert process.returncode == 0, process.stderr
    lines = process.stdout.splitlines()
    raw = agent.http("GET", "/v1/health/service/consul?passing=1")
    expected = [
        [e["Node"]["Node"], f"{e['Service']['Address'] or e['Node']['Address']}:{e['Service']['Port']}", "passing"]
        for e in raw
    ]
    assert [line.split() for line in lines[: len(expected)]] == expected
    assert lines[len(expected)].endswith(f"{len(expected)} instance(s)")
    assert lines[-1] == "hello"
    [entry] = agent.http("GET", "/v1/kv/example/greeting")
    assert base64.b64decode(entry["Value"]) == b"hello"


def test_example_with_an_unreachable_agent():
    process = run_example("127.0.0.1:1")
    assert process.returncode == 1
    assert process.stderr.startswith("unreachable: reading the healthy instances of service 'consul' failed")
    assert "Traceback" not in process.stderr


def test_library_errors_are_typed(agent, acl_agent):
    """The same typed errors a script sees, from a real agent: 404, 403 and invalid input."""
    from ansible_collections.dockyard.discovery.plugins.module_utils._consul_client import ConsulClient
    from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import (
        ConsulACLDenied,
        ConsulInvalidArgument,
        ConsulNotFound,
    )

    client = ConsulClient.from_environment(environ={}, **agent.connection())
    try:
        client.deregister_service("no-such-service-id")
    except ConsulNotFound as error:
        assert error.status == 404 and "deregistering service 'no-such-service-id' failed" in error.message
    else:
        raise AssertionError("deregistering an unknown service ID should raise ConsulNotFound")
    assert client.service_instances("no-such-service").value == []
    assert client.kv_get("no/such/key").value is None

    denied = ConsulClient.from_environment(
        environ={"CONSUL_HTTP_TOKEN": "00000000-0000-0000-0000-000000000001"}, port=acl_agent.http_port
    )
    for call in (lambda: denied.kv_get("x"), denied.members, denied.nodes):
        try:
            call()
        except ConsulACLDenied as error:
            assert error.status == 403
        else:
            raise AssertionError("a wrong token should raise ConsulACLDenied")
    try:
        client.kv_put("/abs", "x")
    except ConsulInvalidArgument as error:
        assert "starts with '/'" in error.message
    else:
        raise AssertionError("a leading slash should be refused")
