# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service, kv and catalog lookups, through the ansible CLI and in-process, compared with raw HTTP."""

import json
import subprocess
import sys

import pytest
from conftest import COLLECTIONS, ansible_env, run_template


@pytest.fixture(scope="module")
def data(agent):
    for i, (port, status, tags) in enumerate(
        [(7001, "passing", ["a"]), (7002, "passing", ["b"]), (7003, "critical", ["a"])]
    ):
        agent.http(
            "PUT",
            "/v1/agent/service/register",
            {
                "ID": f"lk-api-{i}",
                "Name": "lk-api",
                "Port": port,
                "Tags": tags,
                "Check": {"TTL": "10m", "Status": status},
            },
        )
    agent.http("PUT", "/v1/kv/lk/config/port", b"8080")
    agent.http("PUT", "/v1/kv/lk/config/host", b"db.local")
    yield agent
    for i in range(3):
        agent.deregister(f"lk-api-{i}")
    agent.http("DELETE", "/v1/kv/lk/?recurse")


def addr_env(agent):
    """Connection through the Consul CLI variable, as a user's shell would have it."""
    return {"CONSUL_HTTP_ADDR": agent.address}


def raw_endpoints(agent, query):
    entries = agent.http("GET", f"/v1/health/service/lk-api{query}")
    return [f"{e['Service']['Address'] or e['Node']['Address']}:{e['Service']['Port']}" for e in entries]


def test_service_lookup_endpoints(data):
    run = run_template("query('dockyard.discovery.service', 'lk-api')", env=addr_env(data))
    assert sorted(run.result["msg"]) == sorted(raw_endpoints(data, "?passing=1")), run
    assert len(run.result["msg"]) == 2


def test_service_lookup_options(data):
    run = run_template("query('dockyard.discovery.service', 'lk-api', tag='a', passing=false)", env=addr_env(data))
    assert sorted(run.result["msg"]) == sorted(raw_endpoints(data, "?tag=a"))
    as_dicts = run_template(
        f"query('dockyard.discovery.service', 'lk-api', format='dict', datacenter='dc1', port={data.http_port})"
    )
    assert sorted(d["service_id"] for d in as_dicts.result["msg"]) == ["lk-api-0", "lk-api-1"]
    assert {d["status"] for d in as_dicts.result["msg"]} == {"passing"}


def test_service_lookup_unknown_service_is_empty(data):
    run = run_template("query('dockyard.discovery.service', 'lk-nothing', 'lk-api')", env=addr_env(data))
    assert run.returncode == 0 and len(run.result["msg"]) == 2, run


def test_kv_lookup(data):
    one = run_template("lookup('dockyard.discovery.kv', 'lk/config/port')", env=addr_env(data))
    assert one.result["msg"] == "8080"
    tree = run_template("lookup('dockyard.discovery.kv', 'lk/config/', recurse=true)", env=addr_env(data))
    assert tree.result["msg"] == {"lk/config/host": "db.local", "lk/config/port": "8080"}
    missing = run_template(
        "query('dockyard.discovery.kv', 'lk/none', 'lk/config/host', default='fallback')", env=addr_env(data)
    )
    assert missing.result["msg"] == ["fallback", "db.local"]


def test_catalog_lookup(data):
    run = run_template("query('dockyard.discovery.catalog', 'services', 'nodes')", env=addr_env(data))
    services = sorted(data.http("GET", "/v1/catalog/services"))
    nodes = sorted(n["Node"] for n in data.http("GET", "/v1/catalog/nodes"))
    assert run.result["msg"] == services + nodes
    tagged = run_template("query('dockyard.discovery.catalog', 'services', tag='b')", env=addr_env(data))
    assert tagged.result["msg"] == ["lk-api"]


SHARED_CONNECTION_PROBE = """
import http.client, json, sys
from unittest import mock
from ansible.plugins.loader import init_plugin_loader, lookup_loader
init_plugin_loader([sys.argv[1]])
from ansible_collections.dockyard.discovery.plugins.plugin_utils import _consul_plugin
made = []
real = _consul_plugin.ConsulClient
def spy(options):
    made.append(real(options))
    return made[-1]
lookup = lookup_loader.get("dockyard.discovery.service")
connect, request = http.client.HTTPConnection.connect, http.client.HTTPConnection.request
with mock.patch.object(_consul_plugin, "ConsulClient", spy), \
        mock.patch.object(http.client.HTTPConnection, "connect", autospec=True, side_effect=connect) as connects, \
        mock.patch.object(http.client.HTTPConnection, "request", autospec=True, side_effect=request) as requests:
    result = lookup.run(["lk-api", "lk-api", "lk-api"], variables={}, port=int(sys.argv[2]))
print(json.dumps({"results": len(result), "clients": len(made), "connections": connects.call_count,
                  "requests": requests.call_count}))
"""


def test_lookup_terms_share_one_client_and_one_connection(data):
    """Three terms make one ConsulClient, which opens one TCP connection for its three requests."""
    process = subprocess.run(
        [sys.executable, "-c", SHARED_CONNECTION_PROBE, str(COLLECTIONS), str(data.http_port)],
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    probe = json.loads(process.stdout.strip().splitlines()[-1])
    assert probe == {"results": 6, "clients": 1, "connections": 1, "requests": 3}
