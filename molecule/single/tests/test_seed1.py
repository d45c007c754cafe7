"""Seed 1, line by line (SEED_BEHAVIOURS.md, seed 1, lines 1 to 9)."""

from __future__ import annotations

import json
import re

import pytest
import requests
from labkit.containers import served_by
from labkit.nodes import catalog
from labkit.waiting import wait_for

NGINX = ("nginx1", "nginx2")
LB = "http://172.20.21.10/"
SEED_HOST = {"Host": "www.mastartup.io"}
LIVE = "/etc/nginx/dockyard/live/services.conf"
# The seed's form: -template <template>:<destination> -dry prints the render instead of writing it.
DRY_RUN = "consul-template -consul-addr 127.0.0.1:8500 -template /etc/consul-template.d/nginx-services.ctmpl:/tmp/dry.conf -dry -once"


def container_ip(node, name: str) -> str:
    result = node.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def through_nginx(count: int) -> set:
    names = set()
    for _request in range(count):
        try:
            response = requests.get(LB, headers=SEED_HOST, timeout=5)
        except requests.RequestException as error:
            names.add(type(error).__name__)
            continue
        names.add(served_by(response.text) if response.status_code == 200 else f"HTTP {response.status_code}")
    return names


def fallback_answers() -> bool:
    """One request that nginx answers with a 502 within a second."""
    try:
        return requests.get(LB, headers=SEED_HOST, timeout=1).status_code == 502
    except requests.RequestException:
        return False


def test_1_one_server_in_bootstrap_mode_with_http_on_8500_and_dns_on_8600(single):
    agent = single.consul("/v1/agent/self")
    assert agent["Config"]["Server"] is True
    assert agent["DebugConfig"]["Bootstrap"] is True
    assert single.host.socket(f"tcp://{single.address}:8500").is_listening
    assert single.host.socket("udp://127.0.0.1:8600").is_listening
    assert [m["Status"] for m in single.consul("/v1/agent/members")] == [1]
    assert single.consul("/v1/status/leader") == f"{single.address}:8300"


def test_1_consul_came_from_the_release_archive_checked_against_its_sha256sums(single):
    assert single.host.file("/opt/hashicorp/consul/1.22.7/consul").mode == 0o755
    assert not single.host.file("/opt/hashicorp/consul/1.22.7/consul_1.22.7_linux_amd64.zip").exists
    requests_seen = single.check("journalctl -u lab-release-mirror --no-pager -o cat")
    assert "GET /consul/1.22.7/consul_1.22.7_SHA256SUMS" in requests_seen
    assert "GET /consul/1.22.7/consul_1.22.7_linux_amd64.zip" in requests_seen


def test_2_registrator_runs_with_internal_against_the_node_agent(single):
    registrator = json.loads(single.docker("inspect", "registrator").stdout)[0]
    args = registrator["Args"]
    assert "-internal" in args
    assert args[-1] == f"consul://{single.address}:8500"
    assert not [a for a in args if a.startswith("-ip")]


def test_3_4_catalog_lists_nginx_80_nginx_443_and_consul(single):
    services = set(single.consul("/v1/catalog/services"))
    # Besides the seed's services, only the collection's own: the metrics endpoints, the load
    # balancer and registrator's reconcile check (docs/metrics.md).
    own = {"consul-metrics", "nginx-metrics", "load-balancer", "registrator"}
    assert own <= services
    assert {"consul", "nginx-80", "nginx-443", "webserver-80", "webserver-443"} == services - own


@pytest.mark.parametrize("port", [80, 443])
def test_3_5_each_nginx_port_has_two_instances_on_container_addresses(single, port):
    entries = catalog(single, f"nginx-{port}")
    expected = sorted((f"single1:{name}:{port}", container_ip(single, name), port) for name in NGINX)
    assert sorted((e["ServiceID"], e["ServiceAddress"], e["ServicePort"]) for e in entries) == expected
    assert len({e["ServiceAddress"] for e in entries}) == 2
    assert all(e["ServiceAddress"].startswith("172.17.") for e in entries)


def test_6_dns_on_8600_returns_both_container_addresses(single):
    answer = single.dig("@127.0.0.1", "-p", "8600", "+short", "nginx-80.service.consul")
    assert sorted(answer) == sorted(container_ip(single, name) for name in NGINX)


@pytest.mark.parametrize(("tag", "port"), [("http", 80), ("https", 443)])
def test_7_tagged_webserver_names_resolve_to_its_address(single, tag, port):
    address = container_ip(single, "webserver")
    assert single.dig("@127.0.0.1", "-p", "8600", "+short", f"{tag}.webserver-{port}.service.consul") == [address]
    assert single.dig("+short", f"{tag}.webserver-{port}.service.consul") == [address]
    assert [e["ServiceTags"] for e in catalog(single, f"webserver-{port}")] == [[tag]]


def test_8_dry_run_prints_the_seed_template_with_both_addresses(single):
    output = single.check(DRY_RUN, timeout=60)
    assert output.startswith("> /tmp/dry.conf\n")
    assert not single.host.file("/tmp/dry.conf").exists
    upstream = re.search(r"upstream webserver \{\n  least_conn;\n(.*?)\n\}", output, re.DOTALL)
    assert upstream, output
    assert sorted(upstream.group(1).split("\n")) == [
        f"  server {ip}:80 max_fails=3 fail_timeout=60 weight=1;"
        for ip in sorted(container_ip(single, n) for n in NGINX)
    ]
    for line in (
        "listen 80;",
        "server_name www.mastartup.io;",
        "proxy_pass http://webserver;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header Host $host;",
        "proxy_set_header X-Real-IP $remote_addr;",
    ):
        assert f"    {line}" in output or f"  {line}" in output, line


def test_8_nginx_balances_over_both_containers(single):
    assert through_nginx(20) == set(NGINX)


def test_8_a_changed_render_reloads_nginx(single, containers):
    master = single.check("cat /run/nginx.pid").strip()
    workers = set(single.check(f"pgrep -P {master}").split())
    containers.run(
        single,
        "nginx3",
        "-e",
        "SERVICE_NAME=nginx",
        "-e",
        "LISTEN=:80,:443",
        "-e",
        "SERVICE_8080_IGNORE=true",
        "--expose",
        "80",
        "--expose",
        "443",
        command=("nginx3",),
    )
    address = container_ip(single, "nginx3")
    wait_for(lambda: f"server {address}:80 " in single.check(f"cat {LIVE}"), 10, 0.1, what="nginx3 in the live config")
    wait_for(lambda: "nginx3" in through_nginx(6), 10, 0.2, what="nginx3 served")
    # A reload, not a restart: same master, new workers.
    assert single.check("cat /run/nginx.pid").strip() == master
    assert not workers & set(single.check(f"pgrep -P {master}").split())


def test_9_no_instances_fall_back_to_a_502(single):
    try:
        for name in NGINX:
            assert single.docker("stop", "-t", "1", name).returncode == 0
        wait_for(
            lambda: "server 127.0.0.1:65535; # force a 502" in single.check(f"cat {LIVE}"),
            10,
            0.1,
            what="the fallback server in the live config",
        )
        # The file goes live just before nginx reloads, and two renders can follow each other within a
        # second (one per stopped container): until the last reload's old workers are gone, a request
        # can still meet a stopped container's address, which fails slowly. The seed's claim is about
        # the steady state: five requests in a row, each an immediate 502 from the fallback.
        wait_for(lambda: all(fallback_answers() for _attempt in range(5)), 20, 0.2, what="five 502s in a row")
        assert through_nginx(5) == {"HTTP 502"}
    finally:
        for name in NGINX:
            single.docker("start", name)
    wait_for(lambda: through_nginx(6) == set(NGINX), 15, 0.5, what="both nginx containers served again")
