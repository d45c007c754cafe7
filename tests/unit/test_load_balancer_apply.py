# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx-apply (roles/load_balancer/templates/nginx-apply.py.j2) as the role renders it, run against
the real `nginx -t` in a test directory: the whole-render gate, holding back one upstream's section
at its live version, and the guard against a render that empties every upstream while Consul has no
leader. systemctl and systemd-run are stand-ins that record their arguments; Consul is a small HTTP
server that answers /v1/status/leader as the test says, and a real TLS agent for the https path.

Needs nginx (skipped with the reason otherwise); the TLS test also needs the cached Consul binary.
"""

from __future__ import annotations

import fcntl
import hashlib
import http.server
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from load_balancer_files import SUPPORT, need_nginx, nginx_check_main, render_role_template, run_once_only

PLACEHOLDER = "  server 127.0.0.1:65535; # force a 502\n"
HEADER = (
    "# Ansible managed\n# consul-template renders this; nginx-apply puts the result live only if nginx -t accepts it.\n"
)


def section(name: str, servers: list[str], listen: int) -> str:
    lines = "".join(f"  server {s} max_fails=3 fail_timeout=60s weight=1;\n" for s in servers) or PLACEHOLDER
    return (
        f"\n# dockyard-upstream-begin {name}\nupstream {name} {{\n  least_conn;\n{lines}}}\n\n"
        f"server {{\n  listen {listen};\n  server_name _;\n\n  location / {{\n    proxy_pass http://{name};\n  }}\n}}\n"
        f"# dockyard-upstream-end {name}\n"
    )


def render(**upstreams: list[str]) -> str:
    """A render like consul-template's: one section per upstream, listening on 8001, 8002, ..."""
    return HEADER + "".join(section(name, servers, 8001 + i) for i, (name, servers) in enumerate(upstreams.items()))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sections_of(text: str) -> dict[str, str]:
    found = {}
    for chunk in text.split("# dockyard-upstream-begin ")[1:]:
        name = chunk.split("\n", 1)[0]
        found[name] = chunk.split(f"# dockyard-upstream-end {name}\n")[0]
    return found


class FakeConsul:
    """/v1/status/leader answering self.leader (a JSON body), or nothing at all once stopped."""

    def __init__(self):
        self.leader = '"127.0.0.1:8300"'
        self.requests = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests += 1
                body = owner.leader.encode()
                self.send_response(200 if self.path == "/v1/status/leader" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


FAKE_SYSTEMCTL = """#!/bin/sh
# systemctl stand-in: records its arguments; a timer is active while {dir}/timer-active exists.
echo "systemctl $*" >> {dir}/calls
case "$1" in
  is-active) [ -e {dir}/timer-active ] ;;
  stop) rm -f {dir}/timer-active ;;
  try-reload-or-restart) exit "$(cat {dir}/reload-exit 2>/dev/null || echo 0)" ;;
esac
"""
FAKE_SYSTEMD_RUN = """#!/bin/sh
echo "systemd-run $*" >> {dir}/calls
touch {dir}/timer-active
"""


class Host:
    """The directories nginx-apply works in, its status line and what it ran."""

    def __init__(self, root: Path, script: Path):
        self.root, self.script = root, script
        self.rendered = root / "rendered" / "services.conf"
        self.check = root / "check" / "services.conf"
        self.live = root / "live" / "services.conf"
        self.state = root / "state"
        self.calls_file = root / "fake" / "calls"

    def reset(self):
        for directory in (self.rendered.parent, self.check.parent, self.live.parent, self.state):
            for path in directory.glob("*"):
                path.unlink()
        for path in (self.calls_file, self.root / "fake" / "timer-active", self.root / "fake" / "reload-exit"):
            path.unlink(missing_ok=True)

    def run(self, text: str | None = None, *args: str, script: Path | None = None) -> subprocess.CompletedProcess:
        """Write a render (when given) and run nginx-apply on it, as consul-template does."""
        if text is not None:
            self.rendered.write_text(text)
        result = subprocess.run(
            [sys.executable, str(script or self.script), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        print(result.stderr)
        assert result.returncode == 0, result
        assert result.stdout == ""
        return result

    def status(self) -> list[str]:
        return (self.state / "last-apply").read_text().split()

    def fields(self) -> dict[str, str]:
        return dict(word.split("=", 1) for word in self.status()[3:])

    def calls(self) -> list[str]:
        return self.calls_file.read_text().splitlines() if self.calls_file.exists() else []

    def reloads(self) -> int:
        return self.calls().count("systemctl try-reload-or-restart nginx")

    def set_live(self, text: str):
        self.live.write_text(text)


@pytest.fixture(scope="module")
def nginx():
    run_once_only()
    return need_nginx()


@pytest.fixture(scope="module")
def consul():
    server = FakeConsul()
    yield server
    server.stop()


def host_vars(root: Path, nginx: str, **consul) -> dict:
    check_main = root / "check-nginx.conf"
    return {
        "_load_balancer_apply_script": str(root / "nginx-apply"),
        "_load_balancer_rendered": str(root / "rendered" / "services.conf"),
        "_load_balancer_check_dir": str(root / "check"),
        "_load_balancer_live_dir": str(root / "live"),
        "_load_balancer_state_dir": str(root / "state"),
        "_load_balancer_check_main": str(check_main),
        "_load_balancer_nginx_test_command": [
            nginx,
            "-t",
            "-q",
            "-e",
            "stderr",
            "-p",
            f"{root}/",
            "-c",
            str(check_main),
        ],
        "_load_balancer_systemctl": str(root / "fake" / "systemctl"),
        "_load_balancer_systemd_run": str(root / "fake" / "systemd-run"),
        **consul,
    }


def make_host(root: Path, nginx: str, **consul) -> Host:
    for name in ("rendered", "check", "live", "state", "fake"):
        (root / name).mkdir(parents=True, exist_ok=True)
    nginx_check_main(root / "check-nginx.conf", root / "check", root)
    for name, text in (("systemctl", FAKE_SYSTEMCTL), ("systemd-run", FAKE_SYSTEMD_RUN)):
        fake = root / "fake" / name
        fake.write_text(text.format(dir=root / "fake"))
        fake.chmod(0o755)
    script = render_role_template(
        "nginx-apply.py.j2", root / "nginx-apply", host_vars(root, nginx, **consul), root, "0755"
    )
    return Host(root, script)


@pytest.fixture(scope="module")
def plain_host(tmp_path_factory, nginx, consul):
    return make_host(
        tmp_path_factory.mktemp("nginx-apply"),
        nginx,
        load_balancer_consul_scheme="http",
        load_balancer_consul_address="127.0.0.1",
        load_balancer_consul_port=consul.port,
        load_balancer_consul_ca_file="",
    )


@pytest.fixture
def host(plain_host, consul):
    plain_host.reset()
    consul.leader = '"127.0.0.1:8300"'
    consul.requests = 0
    return plain_host


def test_the_script_is_python_with_the_production_paths_by_default(tmp_path, nginx):
    script = render_role_template("nginx-apply.py.j2", tmp_path / "nginx-apply", {}, tmp_path, "0755")
    text = script.read_text()
    assert text.startswith("#!/usr/bin/python3\n")
    assert 'RENDERED = "/etc/nginx/dockyard/rendered/services.conf"' in text
    assert 'LIVE = "/etc/nginx/dockyard/live/services.conf"' in text
    assert 'STATUS = "/var/lib/dockyard-load-balancer/last-apply"' in text
    assert 'NGINX_TEST = ["nginx", "-t", "-q", "-c", "/etc/nginx/dockyard/check-nginx.conf"]' in text
    assert 'NGINX_RELOAD = ["systemctl", "try-reload-or-restart", "nginx"]' in text
    assert 'CONSUL_SCHEME = "https"' in text and "CONSUL_PORT = 8501" in text
    assert 'CONSUL_CA_FILE = "/etc/consul.d/tls/ca.pem"' in text
    compile(text, str(script), "exec")
    # The rendered script holds to the repository's Python style too (ruff skips .j2 files).
    ruff = Path(sys.executable).parent / "ruff"
    if ruff.exists():
        copy = tmp_path / "nginx_apply.py"
        copy.write_text(text)
        copy.chmod(0o755)
        for command in (["check"], ["format", "--check"]):
            config = ["--config", str(Path(__file__).resolve().parents[2] / "ruff.toml")]
            result = subprocess.run(
                [str(ruff), *command, *config, str(copy)], capture_output=True, text=True, check=False
            )
            assert result.returncode == 0, result.stdout + result.stderr


def test_a_render_goes_live_and_the_same_render_again_is_unchanged(host):
    text = render(demo=["10.0.0.1:8081", "10.0.0.2:8082"], probe=[])
    host.run(text)
    stamp, result, digest = host.status()  # exactly three fields, as before
    assert (result, digest) == ("applied", sha256(text))
    assert float(stamp) == pytest.approx(time.time(), abs=60)
    assert host.live.read_text() == text and host.reloads() == 1
    host.run()
    assert host.status()[1:] == ["unchanged", sha256(text)]
    assert host.reloads() == 1


def test_a_rejected_line_outside_every_section_keeps_the_live_configuration(host):
    good = render(demo=["10.0.0.1:8081"])
    host.set_live(good)
    bad = render(demo=["10.0.0.1:8081", "10.0.0.2:8082"]) + "this_is_not_an_nginx_directive on;\n"
    result = host.run(bad)
    assert host.status()[1:3] == ["rejected", sha256(bad)]
    assert "this_is_not_an_nginx_directive" in urllib.parse.unquote(host.fields()["reason"])
    assert host.live.read_text() == good and host.reloads() == 0
    assert "rejected a render, nginx keeps its last good configuration" in result.stderr
    assert "this_is_not_an_nginx_directive" in result.stderr


def test_one_bad_upstream_is_held_at_its_live_version_and_the_others_change(host):
    live = render(demo=["10.0.0.1:8081"], probe=["10.0.0.5:9000"], third=[])
    host.set_live(live)
    text = render(demo=["10.0.0.1:8081", "10.0.0.2:8082"], probe=["10.0.0.5:9000", "10.0.0.6:99999"], third=[])
    result = host.run(text)
    assert host.status()[1:3] == ["applied-partial", sha256(text)]
    applied = host.live.read_text()
    assert host.fields() == {"held": "probe", "live": sha256(applied)}
    assert sections_of(applied) == {**sections_of(text), "probe": sections_of(live)["probe"]}
    assert "10.0.0.2:8082" in applied and "99999" not in applied
    assert host.reloads() == 1
    assert "holding back upstream probe at its live version" in result.stderr
    assert 'invalid port in upstream "10.0.0.6:99999"' in result.stderr


def test_every_offending_upstream_is_held_and_the_rest_still_goes_live(host):
    live = render(a=["10.0.0.1:80"], b=["10.0.0.2:80"], c=["10.0.0.3:80"])
    host.set_live(live)
    text = render(a=["[1:2:3:4:5:6:7::]:80"], b=["10.0.0.2:80", "10.0.0.4:80"], c=["10.0.0.3:0"])
    host.run(text)
    assert host.status()[1] == "applied-partial"
    assert host.fields()["held"] == "a,c"
    assert sections_of(host.live.read_text()) == {
        "a": sections_of(live)["a"],
        "b": sections_of(text)["b"],
        "c": sections_of(live)["c"],
    }


def test_a_bad_new_upstream_without_a_live_version_is_left_out_and_said_so(host):
    live = render(demo=["10.0.0.1:8081"])
    host.set_live(live)
    text = render(demo=["10.0.0.2:8082"], fresh=["10.0.0.9:70000"])
    result = host.run(text)
    assert host.status()[1] == "applied-partial"
    assert host.fields()["held"] == "fresh" and host.fields()["dropped"] == "fresh"
    assert set(sections_of(host.live.read_text())) == {"demo"}
    assert "10.0.0.2:8082" in host.live.read_text()
    assert "leaving upstream fresh and its server block out of this render" in result.stderr


def test_a_render_whose_only_change_is_held_back_is_rejected_with_the_held_upstream(host):
    live = render(demo=["10.0.0.1:8081"], probe=["10.0.0.5:9000"])
    host.set_live(live)
    text = render(demo=["10.0.0.1:8081"], probe=["10.0.0.5:9000", "10.0.0.6:0"])
    result = host.run(text)
    assert host.status()[1:3] == ["rejected", sha256(text)]
    assert host.fields() == {
        "reason": urllib.parse.quote("nginx -t rejects every changed upstream: probe", safe=":"),
        "held": "probe",
    }
    assert host.live.read_text() == live and host.reloads() == 0
    assert "every change of this render is in held-back upstreams (probe)" in result.stderr


def test_a_live_file_without_sections_makes_a_bad_section_reject_the_whole_render(host):
    # What nginx-apply finds right after an upgrade: the live file of the template without markers.
    legacy = "upstream demo {\n  least_conn;\n  server 10.0.0.1:8081 max_fails=3 fail_timeout=60s weight=1;\n}\n"
    host.set_live(legacy)
    text = render(demo=["10.0.0.1:8081", "10.0.0.2:99999"], other=["10.0.0.3:80"])
    result = host.run(text)
    assert host.status()[1:3] == ["rejected", sha256(text)] and set(host.fields()) == {"reason"}
    assert host.live.read_text() == legacy
    assert "the live file has no sections to hold upstream demo at" in result.stderr


def test_unbalanced_markers_make_the_render_one_piece(host):
    host.set_live(render(demo=["10.0.0.1:8081"]))
    text = render(demo=["10.0.0.2:99999"]).replace("# dockyard-upstream-end demo\n", "")
    result = host.run(text)
    assert host.status()[1] == "rejected"
    assert "its section markers are broken" in result.stderr


def test_an_emptying_render_is_held_while_the_agent_knows_no_leader_and_applied_by_the_recheck(host, consul):
    live = render(demo=["10.0.0.1:8081"], probe=[])
    host.set_live(live)
    empty = render(demo=[], probe=[])
    consul.leader = '""'
    result = host.run(empty)
    assert host.status()[1:3] == ["held-no-leader", sha256(empty)]
    reason = urllib.parse.unquote(host.fields()["reason"])
    assert reason == f'GET http://127.0.0.1:{consul.port}/v1/status/leader answered "": the agent knows no leader'
    assert host.live.read_text() == live and host.reloads() == 0
    assert "keeping the live configuration: this render leaves every upstream without a server" in result.stderr
    [timer] = [call for call in host.calls() if call.startswith("systemd-run")]
    assert timer == (
        "systemd-run --quiet --unit=dockyard-nginx-apply-recheck --on-active=10s --on-unit-inactive=10s"
        f" --timer-property=AccuracySec=1s {host.script} --recheck"
    )
    # Held again (another render or the timer): the running timer is left alone.
    host.run(None, "--recheck")
    assert host.status()[1] == "held-no-leader"
    assert len([call for call in host.calls() if call.startswith("systemd-run")]) == 1
    consul.leader = '"127.0.0.1:8300"'
    result = host.run(None, "--recheck")
    assert host.status()[1:] == ["applied", sha256(empty)]
    assert host.live.read_text() == empty and host.reloads() == 1
    assert "systemctl stop --no-block dockyard-nginx-apply-recheck.timer" in host.calls()
    assert "Consul has a leader (127.0.0.1:8300), so it goes live" in result.stderr


def test_an_emptying_render_is_held_while_the_agent_is_unreachable(tmp_path, nginx):
    dead = FakeConsul()
    dead.stop()  # a port nothing listens on any more
    host = make_host(
        tmp_path,
        nginx,
        load_balancer_consul_scheme="http",
        load_balancer_consul_address="127.0.0.1",
        load_balancer_consul_port=dead.port,
        load_balancer_consul_ca_file="",
    )
    live = render(demo=["10.0.0.1:8081"])
    host.set_live(live)
    empty = render(demo=[])
    host.run(empty)
    assert host.status()[1:3] == ["held-unreachable", sha256(empty)]
    assert "Connection refused" in urllib.parse.unquote(host.fields()["reason"])
    assert host.live.read_text() == live


def test_an_emptying_render_goes_live_at_once_when_the_agent_has_a_leader(host, consul):
    host.set_live(render(demo=["10.0.0.1:8081"]))
    empty = render(demo=[])
    host.run(empty)
    assert host.status()[1] == "applied" and host.live.read_text() == empty
    assert consul.requests == 1
    assert not [call for call in host.calls() if call.startswith("systemd-run")]


def test_consul_is_not_asked_while_one_upstream_keeps_a_server(host, consul):
    host.set_live(render(demo=["10.0.0.1:8081"], probe=["10.0.0.5:9000"]))
    consul.leader = '""'
    text = render(demo=[], probe=["10.0.0.5:9000"])
    host.run(text)
    assert host.status()[1] == "applied" and consul.requests == 0


def test_consul_is_not_asked_when_the_live_configuration_had_no_server_either(host, consul):
    host.set_live(render(demo=[], probe=[]))
    consul.leader = '""'
    text = render(demo=[])
    host.run(text)
    assert host.status()[1] == "applied" and consul.requests == 0


def test_a_recheck_after_another_outcome_only_stops_the_timer(host):
    text = render(demo=["10.0.0.1:8081"])
    host.run(text)
    before = host.status()
    (host.root / "fake" / "timer-active").touch()
    host.run(None, "--recheck")
    assert host.status() == before
    assert host.calls()[-1] == "systemctl stop --no-block dockyard-nginx-apply-recheck.timer"


def test_a_failed_reload_is_reported(host):
    (host.root / "fake" / "reload-exit").write_text("1")
    text = render(demo=["10.0.0.1:8081"])
    result = host.run(text)
    assert host.status()[1:3] == ["reload-failed", sha256(text)]
    assert urllib.parse.unquote(host.fields()["reason"]).startswith("nginx reload failed: ")
    assert "nginx reload failed" in result.stderr


def test_it_exits_0_whatever_happens(host):
    host.rendered.unlink(missing_ok=True)
    result = host.run()
    assert "cannot read" in result.stderr
    host.rendered.write_text(render(demo=[]))
    (host.state / "last-apply.new").mkdir()  # the status cannot be written
    result = host.run()
    assert "nginx-apply: failed: Traceback" in result.stderr and "IsADirectoryError" in result.stderr
    (host.state / "last-apply.new").rmdir()


def test_a_second_run_waits_for_the_lock(host):
    text = render(demo=["10.0.0.1:8081"])
    with open(host.state / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        host.rendered.write_text(text)
        process = subprocess.Popen([sys.executable, str(host.script)], stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        assert process.poll() is None and not (host.state / "last-apply").exists()
    assert process.wait(timeout=30) == 0
    assert host.status()[1] == "applied"


def test_the_guard_asks_an_https_agent_with_the_role_ca(tmp_path, nginx):
    sys.path.insert(0, str(SUPPORT))
    from consul_agent import ConsulAgent

    try:
        agent = ConsulAgent("tls")
    except RuntimeError as error:
        pytest.skip(str(error))
    with agent:
        ca_file = tmp_path / "ca.pem"
        ca_file.write_bytes(Path(agent.ca_file).read_bytes())
        host = make_host(
            tmp_path,
            nginx,
            load_balancer_consul_scheme="https",
            load_balancer_consul_address="127.0.0.1",
            load_balancer_consul_port=agent.http_port,
            load_balancer_consul_ca_file=str(ca_file),
        )
        host.set_live(render(demo=["10.0.0.1:8081"]))
        host.run(render(demo=[]))
        assert host.status()[1] == "applied"
    # The same agent stopped: unreachable, and the live configuration stays.
    host.set_live(render(demo=["10.0.0.1:8081"]))
    host.run(render(demo=[], other=[]))
    assert host.status()[1] == "held-unreachable"
    assert "Connection refused" in urllib.parse.unquote(host.fields()["reason"])


def test_the_guard_holds_with_a_real_agent_that_has_no_leader(tmp_path, nginx):
    sys.path.insert(0, str(SUPPORT))
    from consul_agent import ConsulAgent

    try:
        agent = ConsulAgent("no_leader")
    except RuntimeError as error:
        pytest.skip(str(error))
    with agent:
        host = make_host(
            tmp_path,
            nginx,
            load_balancer_consul_scheme="http",
            load_balancer_consul_address="127.0.0.1",
            load_balancer_consul_port=agent.http_port,
            load_balancer_consul_ca_file="",
        )
        live = render(demo=["10.0.0.1:8081"])
        host.set_live(live)
        host.run(render(demo=[]))
        assert host.status()[1] == "held-no-leader"
        assert host.live.read_text() == live


# --- nginx-apply --status: the Consul check of the last render ----------------------------------


def check(host) -> tuple[int, str]:
    """nginx-apply --status as the Consul agent runs it: its exit status and output."""
    result = subprocess.run(
        [sys.executable, str(host.script), "--status"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stderr == "", result
    return result.returncode, result.stdout.strip()


def test_the_check_passes_after_an_applied_render_and_an_unchanged_one(host):
    text = render(demo=["10.0.0.1:8081"])
    host.run(text)
    code, output = check(host)
    assert code == 0 and output.startswith("applied at ") and sha256(text)[:12] in output, output
    host.run()
    assert check(host)[0] == 0 and check(host)[1].startswith("unchanged at ")


def test_a_rejected_render_turns_the_check_critical_with_nginx_s_reason(host):
    host.run(render(demo=["10.0.0.1:8081"]))
    host.run(render(demo=["10.0.0.1:8081"]) + "this_is_not_an_nginx_directive on;\n")
    code, output = check(host)
    assert code == 2, output
    assert output.startswith("rejected at ") and "this_is_not_an_nginx_directive" in output, output
    host.run(render(demo=["10.0.0.2:8081"]))  # the next good render heals it
    assert check(host)[0] == 0


def test_a_failed_reload_turns_the_check_critical(host):
    (host.root / "fake" / "reload-exit").write_text("1")
    host.run(render(demo=["10.0.0.1:8081"]))
    code, output = check(host)
    assert code == 2 and output.startswith("reload-failed at ") and "nginx reload failed" in output, output


def test_a_held_upstream_or_a_held_emptying_render_is_a_warning(host, consul):
    host.set_live(render(demo=["10.0.0.1:8081"], probe=["10.0.0.5:9000"]))
    host.run(render(demo=["10.0.0.1:8081", "10.0.0.2:8082"], probe=["10.0.0.6:99999"]))
    code, output = check(host)
    assert code == 1 and output.startswith("applied-partial at ") and "held=probe" in output, output
    consul.leader = '""'
    host.run(render(demo=[], probe=[]))
    code, output = check(host)
    assert code == 1 and output.startswith("held-no-leader at "), output


def test_the_check_is_critical_before_any_render_and_on_a_broken_line(host):
    code, output = check(host)
    assert code == 2 and "no render has been applied yet" in output, output
    (host.state / "last-apply").write_text("garbage\n")
    code, output = check(host)
    assert code == 2 and "not a status line" in output, output
