"""nginx on secure1 against bad catalog entries and an emptying render (issue 10, faults 10 and 11).

Fault 11: an instance registered with the address 10.200.400.1 used to pass the template's loose IP
check, fail nginx -t and so block every later render. The template now leaves it out, so the
upstream keeps following the catalog. Since the template writes only what nginx parses, nginx -t
cannot be made to reject a section through the API any more: the hold-back of nginx-apply is tested
by running the installed nginx-apply on a render crafted on the node, then letting consul-template
render the real one again (systemctl reload consul-template).

Fault 10: a render that leaves every upstream with the 502 placeholder only, while the live
configuration still has a real server, goes live only once the local agent knows a leader.
"""

from __future__ import annotations

import re
import shlex
import time
import urllib.parse

import pytest
from conftest import LIVE_CONFIG, NGINX_URL, NODES, live_servers
from labkit.containers import served_by
from labkit.nodes import Node, http_get
from labkit.secure import Api, leader_node, management_token, sha256
from labkit.waiting import wait_for

RENDERED = "/etc/nginx/dockyard/rendered/services.conf"
STATUS = "/var/lib/dockyard-load-balancer/last-apply"
APPLY = "/usr/local/libexec/dockyard/nginx-apply"
RECHECK_TIMER = "dockyard-nginx-apply-recheck.timer"
BAD_ADDRESS = "10.200.400.1"
PROBE_URL = f"http://{NODES['secure1'].address}:8099/"
PLACEHOLDER = "  server 127.0.0.1:65535; # force a 502"


def status(node: Node) -> list[str]:
    """last-apply: epoch, result, sha256 of the render, then key=value fields."""
    return node.check(f"cat {STATUS}").split()


def fields(words: list[str]) -> dict[str, str]:
    return dict(word.split("=", 1) for word in words[3:])


def register(api: Api, service_id: str, address: str, port: int = 8084) -> None:
    body = {"ID": service_id, "Name": "svc4", "Address": address, "Port": port}
    response = api.call("PUT", "/v1/agent/service/register", management_token(), json=body)
    assert response.status_code == 200, response.text


def deregister(api: Api, service_id: str) -> None:
    api.call("PUT", f"/v1/agent/service/deregister/{service_id}", management_token())


def write_file(node: Node, path: str, text: str) -> None:
    node.check(f"printf '%s' {shlex.quote(text)} > {path}.guard && mv {path}.guard {path}")


def run_apply(node: Node) -> str:
    """The installed nginx-apply, run as consul-template runs it; its stderr."""
    result = node.run(APPLY, timeout=120)
    assert result.returncode == 0 and result.stdout == "", result
    return result.stderr


def section(config: str, name: str) -> str:
    match = re.search(
        rf"^# dockyard-upstream-begin {name}\n.*?^# dockyard-upstream-end {name}\n", config, re.DOTALL | re.MULTILINE
    )
    assert match, f"no section {name} in the configuration"
    return match.group(0)


def renamed(svc4_section: str, name: str, listen: int) -> str:
    """A copy of the svc4 section as upstream <name> listening on <listen>."""
    text = svc4_section.replace("# dockyard-upstream-begin svc4", f"# dockyard-upstream-begin {name}")
    text = text.replace("# dockyard-upstream-end svc4", f"# dockyard-upstream-end {name}")
    text = text.replace("upstream svc4 {", f"upstream {name} {{").replace("http://svc4;", f"http://{name};")
    return text.replace("  listen 80;", f"  listen {listen};")


def with_bad_server(text: str) -> str:
    """The section with a server line nginx -t rejects (the port), as a render could once carry."""
    return text.replace(
        "  least_conn;\n", "  least_conn;\n  server 172.20.22.30:99999 max_fails=3 fail_timeout=60s weight=1;\n"
    )


def render_again(node: Node) -> str:
    """consul-template renders the real template again (SIGHUP) and nginx-apply applies it."""
    node.check("systemctl reload consul-template")

    def settled():
        live, rendered = node.check(f"cat {LIVE_CONFIG}"), node.check(f"cat {RENDERED}")
        words = status(node)
        done = live == rendered and "dockyard-upstream-begin guard" not in live and words[1] in ("applied", "unchanged")
        return live if done and words[2] == sha256(live) else None

    return wait_for(settled, 30, 0.2, what="consul-template's own render live again")[0]


def apply_journal(node: Node, since: float) -> str:
    return node.check(
        f"journalctl -u consul-template --since @{int(since) - 1} --no-pager -o cat | grep nginx-apply: || true"
    )


def test_an_instance_with_a_bad_address_is_left_out_and_svc4_still_follows_the_catalog(api, balanced):
    lb = NODES["secure1"]
    since = time.time()
    extra = f"{NODES['secure2'].address}:8084"
    seen = []

    def sample() -> str:
        config = lb.check(f"cat {LIVE_CONFIG}")
        seen.append(config)
        return config

    try:
        register(api, "guard-bad-address", BAD_ADDRESS)
        wait_for(
            lambda: any(e["ServiceID"] == "guard-bad-address" for e in api.get("/v1/catalog/service/svc4")),
            10,
            0.2,
            what="the bad address in the catalog",
        )
        # Another change of the same upstream after it: a second instance of svc4 on secure2.
        register(api, "guard-second", NODES["secure2"].address)
        _servers, elapsed = wait_for(
            lambda: (
                sorted(re.findall(r"^\s*server (\S+) max_fails", sample(), re.MULTILINE)) == sorted([*balanced, extra])
            ),
            10,
            0.2,
            what="the second svc4 instance live in nginx",
        )
        print(f"fault 11: the second instance went live {elapsed:.2f}s after its registration, next to {BAD_ADDRESS}")
        words = wait_for(
            lambda: (w := status(lb))[1] == "applied" and w[2] == sha256(sample()) and w, 10, 0.2, what="applied"
        )[0]
        assert len(words) == 3, words
        assert BAD_ADDRESS not in lb.check(f"cat {RENDERED}")
        assert lb.run("nginx -t -q").returncode == 0
        deregister(api, "guard-second")
        wait_for(lambda: sorted(live_servers()) == balanced, 10, 0.2, what="the second instance gone from nginx")
        assert all(http_get(NGINX_URL)[0] == 200 for _request in range(10))
    finally:
        deregister(api, "guard-bad-address")
        deregister(api, "guard-second")
    assert all(BAD_ADDRESS not in config for config in seen), "the bad address reached the live configuration"
    journal = apply_journal(lb, since)
    assert "rejected" not in journal and "holding back" not in journal, journal


def paused_template(node: Node) -> str:
    """consul-template stopped, so that no render of its own overwrites a crafted one while a test
    runs nginx-apply by hand (the catalog may still be settling from the previous test); the live
    configuration it last applied."""
    render_again(node)
    node.check("systemctl stop consul-template")
    return node.check(f"cat {LIVE_CONFIG}")


def resumed_template(node: Node) -> str:
    node.check("systemctl start consul-template")
    return render_again(node)


def test_a_section_nginx_rejects_is_held_at_its_live_version_and_the_others_go_live(balanced):
    lb = NODES["secure1"]
    live = paused_template(lb)
    svc4 = section(live, "svc4")
    # svc4 changed in a way nginx -t rejects, a new upstream nginx accepts, and a new one it rejects.
    crafted = (
        live.replace(svc4, with_bad_server(svc4))
        + renamed(svc4, "guardprobe", 8099)
        + with_bad_server(renamed(svc4, "guardnew", 8098))
    )
    try:
        write_file(lb, RENDERED, crafted)
        stderr = run_apply(lb)
        print(stderr)
        words = status(lb)
        applied = lb.check(f"cat {LIVE_CONFIG}")
        assert words[1:3] == ["applied-partial", sha256(crafted)]
        assert fields(words) == {"held": "svc4,guardnew", "dropped": "guardnew", "live": sha256(applied)}
        assert section(applied, "svc4") == svc4
        assert section(applied, "guardprobe") == renamed(svc4, "guardprobe", 8099)
        assert "guardnew" not in applied and "99999" not in applied
        assert "holding back upstream svc4 at its live version" in stderr
        assert 'invalid port in upstream "172.20.22.30:99999"' in stderr
        assert "leaving upstream guardnew and its server block out of this render" in stderr
        assert lb.run("nginx -t -q").returncode == 0
        wait_for(lambda: served_by(http_get(PROBE_URL)[1]) == "svc4", 10, 0.2, what="the new upstream served")
        assert all(http_get(NGINX_URL)[0] == 200 for _request in range(10))
    finally:
        restored = resumed_template(lb)
    assert restored == live
    wait_for(lambda: http_get(PROBE_URL)[0] == 0, 10, 0.2, what="port 8099 closed again")


def healed(api: Api) -> bool:
    """A leader and every member alive (as the fault tests wait for before the next test)."""
    try:
        members = api.get("/v1/agent/members")
    except (AssertionError, OSError):
        return False
    return leader_node(api) != "" and sorted((m["Name"], m["Status"]) for m in members) == [(n, 1) for n in NODES]


@pytest.fixture
def quorum_lost(api):
    """secure2 and secure3 stopped (SIGKILL, no leave): secure1's agent knows no leader. Yields a
    function that brings them back."""
    lost = [NODES["secure2"], NODES["secure3"]]

    def restore():
        for node in lost:
            node.run("systemctl start consul")
        wait_for(lambda: healed(api), 120, 0.5, what="a leader and every member alive again")

    for node in lost:
        node.check("systemctl kill --signal=SIGKILL consul && systemctl stop consul")
    try:
        wait_for(lambda: leader_node(api) == "", 15, 0.2, what="no leader left")
        yield restore
    finally:
        restore()


def test_an_emptying_render_waits_for_a_leader_and_the_recheck_applies_it(balanced, quorum_lost):
    lb = NODES["secure1"]
    live = lb.check(f"cat {LIVE_CONFIG}")
    svc4 = section(live, "svc4")
    servers = "".join(line + "\n" for line in svc4.split("\n") if line.startswith("  server "))
    empty = live.replace(svc4, svc4.replace(servers, PLACEHOLDER + "\n"))
    assert servers and empty != live
    try:
        write_file(lb, RENDERED, empty)
        stderr = run_apply(lb)
        print(stderr)
        words = status(lb)
        assert words[1:3] == ["held-no-leader", sha256(empty)]
        assert 'answered "": the agent knows no leader' in urllib.parse.unquote(fields(words)["reason"])
        assert lb.check(f"cat {LIVE_CONFIG}") == live
        assert lb.check(f"systemctl is-active {RECHECK_TIMER} || true").strip() == "active"
        assert all(http_get(NGINX_URL)[0] == 200 for _request in range(10))
        back, since = time.monotonic(), time.time()
        quorum_lost()
        # The timer's next run (every 10 s) finds a leader and applies the render, unless
        # consul-template rendered the catalog again first (then "unchanged" or "applied", with
        # the catalog's servers): either way nothing stays held and the timer stops.
        words = wait_for(
            lambda: (w := status(lb))[1] not in ("held-no-leader", "held-unreachable") and w,
            60,
            0.5,
            what="the render no longer held",
        )[0]
        recheck = lb.check(
            f"journalctl -u dockyard-nginx-apply-recheck.service --since @{int(since) - 1} --no-pager -o cat || true"
        )
        by_recheck = "Consul has a leader" in recheck and words[2] == sha256(empty)
        print(
            f"fault 10: {words[1]} {time.monotonic() - back:.1f}s after the servers came back,"
            f" {'by the recheck timer' if by_recheck else 'by a new render of consul-template'}"
        )
        assert words[1] in ("applied", "unchanged")
        wait_for(
            lambda: lb.check(f"systemctl is-active {RECHECK_TIMER} || true").strip() != "active",
            15,
            0.5,
            what="the recheck timer stopped",
        )
    finally:
        restored = render_again(lb)
    assert sorted(live_servers()) == balanced and section(restored, "svc4") == svc4
    wait_for(lambda: http_get(NGINX_URL)[0] == 200, 10, 0.2, what="nginx serving svc4 again")


def test_an_emptying_render_goes_live_at_once_when_the_agent_has_a_leader(api, balanced):
    lb = NODES["secure1"]
    assert leader_node(api)
    live = paused_template(lb)
    svc4 = section(live, "svc4")
    servers = "".join(line + "\n" for line in svc4.split("\n") if line.startswith("  server "))
    empty = live.replace(svc4, svc4.replace(servers, PLACEHOLDER + "\n"))
    try:
        write_file(lb, RENDERED, empty)
        stderr = run_apply(lb)
        assert "Consul has a leader" in stderr
        assert status(lb)[1:] == ["applied", sha256(empty)]
        assert lb.check(f"cat {LIVE_CONFIG}") == empty
        wait_for(lambda: http_get(NGINX_URL)[0] == 502, 10, 0.2, what="the 502 placeholder live")
    finally:
        resumed_template(lb)
    assert sorted(live_servers()) == balanced
