"""Registration still works end to end under ACLs and TLS: svc4 started on secure3 is registered by
registrator (its own token, consul-tls://), answers in DNS (the agents' DNS tokens) and is served by
nginx on secure1 (consul-template's token)."""

from __future__ import annotations

import json

import pytest
from labkit.containers import GREETING, curl, in_container
from labkit.nodes import http_get
from labkit.secure import Api
from labkit.waiting import wait_for


@pytest.mark.parametrize("name", ["secure1", "secure2", "secure3"])
def test_registrator_talks_tls_with_its_own_token(nodes, name):
    node = nodes[name]
    registrator = json.loads(node.docker("inspect", "registrator").stdout)[0]
    assert registrator["Args"][-1] == f"consul-tls://{node.address}:8501"
    env = dict(item.split("=", 1) for item in registrator["Config"]["Env"])
    assert env["CONSUL_CACERT"] == "/etc/registrator/tls/ca.pem"
    assert "/etc/consul.d/tls/ca.pem:/etc/registrator/tls/ca.pem:ro" in registrator["HostConfig"]["Binds"]
    token = Api(node.address).get("/v1/acl/token/self", env["CONSUL_HTTP_TOKEN"])
    assert token["Description"] == f"registrator on {name} (dockyard.discovery)"
    # The real registrator says it verified the agent's certificate and got an answer.
    log = node.check("docker logs registrator 2>&1")
    assert f"Using consul-tls adapter: consul-tls://{node.address}:8501" in log
    assert "consul: current leader" in log and "Listening for Docker events" in log
    assert "x509" not in log and "Permission denied" not in log


def test_svc4_is_registered_with_the_node_address(svc4):
    entries = svc4.get("/v1/catalog/service/svc4")
    assert [(e["Node"], e["ServiceID"], e["ServiceAddress"], e["ServicePort"]) for e in entries] == [
        ("secure3", "secure3:svc4:8080", "172.20.22.30", 8084)
    ]


def test_svc4_answers_in_dns_on_another_node(nodes, svc4):
    assert nodes["secure2"].dig("+short", "svc4.service.consul") == ["172.20.22.30"]
    assert nodes["secure2"].dig("@127.0.0.1", "-p", "8600", "+short", "svc4.service.consul") == ["172.20.22.30"]


def test_a_plain_container_reaches_svc4_by_short_name(nodes, svc4):
    result = in_container(nodes["secure2"], *curl("http://svc4:8084/"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(GREETING.format(name="svc4"))


def test_nginx_serves_svc4(nodes, svc4):
    def served():
        status, body = http_get(f"http://{nodes['secure1'].address}/")
        return body if status == 200 else None

    body, _elapsed = wait_for(served, 15, 0.2, what="svc4 served by nginx")
    assert body.startswith(GREETING.format(name="svc4"))


def test_svc4_gone_when_killed(nodes, svc4):
    assert nodes["secure3"].docker("kill", "svc4").returncode == 0
    wait_for(lambda: svc4.get("/v1/catalog/service/svc4") == [], 10, 0.1, what="svc4 deregistered")
    wait_for(lambda: nodes["secure2"].dig("+short", "svc4.service.consul") == [], 5, 0.1, what="svc4 gone from DNS")
