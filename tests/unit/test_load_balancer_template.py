# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The consul-template template of the load_balancer role (nginx-services.ctmpl.j2), rendered by the
role's Jinja options and then by the pinned consul-template against a throw-away Consul dev agent on
loopback: which instance addresses and ports reach nginx (RE2, as consul-template's regexMatch runs
it), the section markers nginx-apply relies on, and, with nginx-apply as consul-template's command,
that one instance with a bad address no longer freezes every upstream (issue 10, fault 11).

Needs the cached Consul and consul-template binaries (`make toolchain`) and nginx; skipped with the
reason when one is missing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from load_balancer_files import (
    CTMPL_OPTIONS,
    SUPPORT,
    need_nginx,
    nginx_check_main,
    render_role_template,
    run_once_only,
)

sys.path.insert(0, str(SUPPORT))

from consul_agent import ConsulAgent
from toolchain import cached_binary

# Accepted by the template: every one is written, and nginx -t takes them all.
GOOD = [
    "10.0.0.1",
    "255.255.255.255",
    "192.168.1.10",
    "100.64.0.9",
    "10.0.0.0",
    "::1",
    "fe80::1",
    "2001:db8::1",
    "2001:DB8:0:0:8:800:200C:417A",
    "2001:db8:0:0:0:0:2:1",
    "::ffff:10.0.0.1",
    "64:ff9b::192.0.2.33",
    "1:2:3:4:5:6:7:8",
    "1::8",
    "1::",
    "1:2:3:4:5:6::",
    "1:2:3:4:5:6::8",
    "::2:3:4:5:6:7:8",
    "1:2:3:4:5:6:1.2.3.4",
    "1:2:3:4:5::1.2.3.4",
    "::2:3:4:5:6:1.2.3.4",
    "::1.2.3.4",
    "1::1.2.3.4",
    "abcd:ef01:2345:6789:abcd:ef01:2345:6789",
    "fd00::a:b",
]
# Left out. (Consul itself refuses 0.0.0.0 and ::; an empty address means the node's.)
BAD = [
    "10.200.400.1",
    "256.1.1.1",
    "1.2.3",
    "1.2.3.4.5",
    "01.2.3.4",
    "1.2.3.04",
    "1.2.3.-1",
    "1.2.3.4/24",
    "1.2.3.4:80",
    "1.2.3.4 ",
    " 1.2.3.4",
    "1.2.3.4\n",
    "1.2.3.4; evil",
    "10.0.0.1:80; } server { listen 83",
    "a.b.c.d",
    "localhost",
    "example.com",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "1::2::3",
    ":::",
    ":1::2",
    "1::2:",
    "2001:db8:::1",
    "12345::1",
    "g::1",
    "::1 ",
    "[::1]",
    "fe80::1%eth0",
    "::ffff:1.2.3.256",
    "::ffff:01.2.3.4",
    "1.2.3.4::",
    "1:2:3:4:5:6:7:1.2.3.4",
    "1:2:3:4:5:6::1.2.3.4",
    # RFC 4291 allows "::" for one group here, RFC 5952 does not, and nginx refuses it.
    "1:2:3:4:5:6:7::",
]
BAD_PORTS = [0, -1, 65536, 70000]
SERVICES = [
    {"name": "demo", "consul_services": ["svc1", "svc2"]},
    {"name": "probe", "consul_services": ["probe"], "listen": 8090},
]
SERVER = re.compile(r"^  server (\S+) max_fails=3 fail_timeout=60s weight=1;$")


@pytest.fixture(scope="module")
def binaries():
    run_once_only()
    try:
        return cached_binary("consul-template", "CONSUL_TEMPLATE_VERSION", "CONSUL_TEMPLATE_BIN")
    except RuntimeError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def agent(binaries):
    try:
        running = ConsulAgent("dev")
    except RuntimeError as error:
        pytest.skip(str(error))
    with running:
        yield running


@pytest.fixture(scope="module")
def ctmpl(tmp_path_factory, binaries):
    workdir = tmp_path_factory.mktemp("ctmpl")
    dest = workdir / "nginx-services.ctmpl"
    return render_role_template(
        "nginx-services.ctmpl.j2", dest, {"load_balancer_services": SERVICES}, workdir, **CTMPL_OPTIONS
    )


def register(agent, service_id: str, name: str, address: str, port: int) -> None:
    agent.http("PUT", "/v1/agent/service/register", {"ID": service_id, "Name": name, "Address": address, "Port": port})


def consul_template(binary: str, agent, workdir, ctmpl, destination, command=None) -> subprocess.CompletedProcess:
    template = {"source": str(ctmpl), "destination": str(destination)}
    if command:
        template.update(command=command, command_timeout="60s")
    config = workdir / "consul-template.json"
    config.write_text(json.dumps({"consul": {"address": agent.address}, "log_level": "warn", "template": [template]}))
    result = subprocess.run(
        [binary, f"-config={config}", "-once"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result


def upstream(render: str, name: str) -> list[str]:
    block = re.search(r"^upstream " + name + r" \{\n(.*?)\n\}", render, re.DOTALL | re.MULTILINE).group(1)
    return [line for line in block.split("\n") if line.startswith("  server ")]


def test_only_well_formed_addresses_and_ports_reach_nginx(agent, binaries, ctmpl, tmp_path):
    nginx = need_nginx()
    registered = []
    for index, address in enumerate(GOOD):
        register(agent, f"good-{index}", "probe", address, 9000 + index)
    for index, address in enumerate(BAD):
        register(agent, f"bad-{index}", "probe", address, 9500 + index)
    for index, port in enumerate(BAD_PORTS):
        register(agent, f"bad-port-{index}", "probe", "10.9.9.9", port)
    register(agent, "top-port", "probe", "10.9.9.8", 65535)
    registered = [s["ServiceID"] for s in agent.http("GET", "/v1/catalog/service/probe")]
    assert len(registered) == len(GOOD) + len(BAD) + len(BAD_PORTS) + 1, "Consul refused a registration"
    try:
        out = tmp_path / "services.conf"
        consul_template(binaries, agent, tmp_path, ctmpl, out)
        render = out.read_text()
        servers = upstream(render, "probe")
        assert all(SERVER.match(line) for line in servers), servers
        written = sorted(SERVER.match(line).group(1) for line in servers)
        expected = [f"[{a}]:{9000 + i}" if ":" in a else f"{a}:{9000 + i}" for i, a in enumerate(GOOD)]
        assert written == sorted([*expected, "10.9.9.8:65535"])
        # The exact list above leaves out every BAD address (ports 95xx) and every bad port.
        assert not re.search(r":95\d\d ", render) and "10.9.9.9" not in render and "evil" not in render
        main = nginx_check_main(tmp_path / "check-nginx.conf", tmp_path / "check", tmp_path)
        (tmp_path / "check").mkdir()
        (tmp_path / "check" / "services.conf").write_text(render)
        check = subprocess.run(
            [nginx, "-t", "-q", "-e", "stderr", "-p", f"{tmp_path}/", "-c", str(main)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert check.returncode == 0, check.stderr
    finally:
        for service_id in registered:
            agent.deregister(service_id)


def test_each_upstream_and_its_server_block_sit_between_markers(agent, binaries, ctmpl, tmp_path):
    out = tmp_path / "services.conf"
    consul_template(binaries, agent, tmp_path, ctmpl, out)
    lines = out.read_text().split("\n")
    markers = [line for line in lines if line.startswith("# dockyard-upstream-")]
    assert markers == [
        "# dockyard-upstream-begin demo",
        "# dockyard-upstream-end demo",
        "# dockyard-upstream-begin probe",
        "# dockyard-upstream-end probe",
    ]
    for name in ("demo", "probe"):
        inside = lines[
            lines.index(f"# dockyard-upstream-begin {name}") : lines.index(f"# dockyard-upstream-end {name}")
        ]
        assert f"upstream {name} {{" in inside and f"    proxy_pass http://{name};" in inside
    assert upstream(out.read_text(), "probe") == ["  server 127.0.0.1:65535; # force a 502"]


def test_one_instance_with_a_bad_address_no_longer_freezes_the_other_upstreams(agent, binaries, ctmpl, tmp_path):
    """Fault 11: 10.200.400.1 used to pass the template, fail nginx -t and block every later render."""
    nginx = need_nginx()
    root = tmp_path / "host"
    for name in ("rendered", "check", "live", "state"):
        (root / name).mkdir(parents=True)
    main = nginx_check_main(root / "check-nginx.conf", root / "check", root)
    script = render_role_template(
        "nginx-apply.py.j2",
        root / "nginx-apply",
        {
            "_load_balancer_apply_script": str(root / "nginx-apply"),
            "_load_balancer_rendered": str(root / "rendered" / "services.conf"),
            "_load_balancer_check_dir": str(root / "check"),
            "_load_balancer_live_dir": str(root / "live"),
            "_load_balancer_state_dir": str(root / "state"),
            "_load_balancer_check_main": str(main),
            "_load_balancer_nginx_test_command": [nginx, "-t", "-q", "-e", "stderr", "-p", f"{root}/", "-c", str(main)],
            "_load_balancer_nginx_reload_command": ["true"],
            "load_balancer_consul_scheme": "http",
            "load_balancer_consul_port": agent.http_port,
        },
        tmp_path,
        "0755",
    )
    live = root / "live" / "services.conf"
    status = root / "state" / "last-apply"
    register(agent, "svc1-a", "svc1", "10.0.0.1", 8081)
    register(agent, "probe-bad", "probe", "10.200.400.1", 8089)
    try:
        consul_template(binaries, agent, tmp_path, ctmpl, root / "rendered" / "services.conf", [str(script)])
        assert status.read_text().split()[1] == "applied"
        assert upstream(live.read_text(), "demo") == ["  server 10.0.0.1:8081 max_fails=3 fail_timeout=60s weight=1;"]
        register(agent, "svc2-a", "svc2", "10.0.0.2", 8082)
        consul_template(binaries, agent, tmp_path, ctmpl, root / "rendered" / "services.conf", [str(script)])
        assert status.read_text().split()[1] == "applied"
        assert upstream(live.read_text(), "demo") == [
            "  server 10.0.0.1:8081 max_fails=3 fail_timeout=60s weight=1;",
            "  server 10.0.0.2:8082 max_fails=3 fail_timeout=60s weight=1;",
        ]
        assert "10.200.400.1" not in live.read_text()
        assert upstream(live.read_text(), "probe") == ["  server 127.0.0.1:65535; # force a 502"]
    finally:
        for service_id in ("svc1-a", "svc2-a", "probe-bad"):
            agent.deregister(service_id)
