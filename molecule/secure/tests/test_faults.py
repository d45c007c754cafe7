"""Faults on a three-server datacenter, each under a bounded load loop through nginx on secure1 that
counts requests sent, failed and the time to recover (printed: see labkit.load). Each fault is
undone in a finally, so a failed test leaves a healed lab for the next.

Consul is killed with SIGKILL (no leave, as in a crash); where it must stay down for a while, the
unit is stopped right after the kill so that systemd's Restart=on-failure does not bring it back.
"""

from __future__ import annotations

import json
import math
import re
import time

import pytest
from conftest import NGINX_URL, NODES, live_servers
from labkit.ansible_runner import ansible_playbook, role_playbook
from labkit.load import Load
from labkit.measure import record
from labkit.nodes import Node
from labkit.secure import Api, leader_node, management_token, transfer_leadership
from labkit.waiting import wait_for

ALIVE = 1


def kill_consul(node: Node, keep_down: bool) -> None:
    command = "systemctl kill --signal=SIGKILL consul"
    node.check(command + (" && systemctl stop consul" if keep_down else ""))


def raft_term(api: Api) -> int:
    response = api.call("GET", "/v1/agent/self", management_token())
    return int(response.json()["Stats"]["raft"]["term"]) if response.status_code == 200 else -1


def healed(api: Api) -> bool:
    """A leader, every member alive and autopilot healthy with three voters."""
    try:
        members = api.get("/v1/agent/members")
        health = api.get("/v1/operator/autopilot/health")
    except (AssertionError, OSError):
        return False
    return (
        sorted((m["Name"], m["Status"]) for m in members) == [(n, ALIVE) for n in NODES]
        and health["Healthy"]
        and sum(server["Voter"] for server in health["Servers"]) == 3
    )


def wait_healed(api: Api, timeout: float = 90) -> float:
    _value, seconds = wait_for(lambda: healed(api), timeout, 0.5, what="the datacenter healed")
    return seconds


def kv_put(api: Api, key: str, value: str) -> bool:
    try:
        return api.call("PUT", f"/v1/kv/{key}", management_token(), data=value).status_code == 200
    except OSError:
        return False


def kv_get(api: Api, key: str, stale: bool = False) -> str | None:
    try:
        response = api.call("GET", f"/v1/kv/{key}?raw" + ("&stale" if stale else ""), management_token())
    except OSError:
        return None
    return response.text if response.status_code == 200 else None


def consul_template_pid() -> str:
    return NODES["secure1"].check("systemctl show -p MainPID --value consul-template").strip()


def dns(node: Node, name: str) -> list[str]:
    return sorted(node.dig("@127.0.0.1", "-p", "8600", "+short", name))


def test_1_leader_killed_a_new_leader_within_10s_and_nothing_fails(balanced):
    leader = leader_node(Api(NODES["secure1"].address))
    survivors = [Api(node.address) for name, node in NODES.items() if name != leader]
    term_before = raft_term(survivors[0])
    writes = 0
    with Load("leader-kill", NGINX_URL) as load:
        killed = time.monotonic()
        kill_consul(NODES[leader], keep_down=False)
        try:
            # A new term with a leader that the survivors agree on.
            wait_for(
                lambda: raft_term(survivors[0]) > term_before and leader_node(survivors[0]) != "",
                10,
                0.1,
                what="a new leader",
            )
            failover = time.monotonic() - killed
            # KV writes through a survivor, and reads of them, carry on.
            for index in range(20):
                wait_for(lambda i=index: kv_put(survivors[i % 2], "faults/leader", f"v{i}"), 5, 0.1, what="a write")
                writes += 1
                assert kv_get(survivors[(index + 1) % 2], "faults/leader") == f"v{index}"
        finally:
            NODES[leader].run("systemctl start consul")
    print(f"fault 1: leader {leader} killed, new leader after {failover:.2f}s, {writes} KV writes read back")
    record("leader failover (SIGKILL to a new leader)", round(failover, 2), "s")
    assert failover < 10
    assert load.report.failed == 0, load.report.failures[:10]
    heal = wait_healed(survivors[0])
    print(f"fault 1: healed {heal:.1f}s after the new leader")


def test_2_two_of_three_servers_lost_reads_and_nginx_carry_on_and_the_datacenter_heals(balanced):
    lb = NODES["secure1"]
    api = Api(lb.address)
    assert kv_put(api, "faults/quorum", "before")
    lost = [NODES["secure2"], NODES["secure3"]]
    pid = consul_template_pid()
    config_before = sorted(live_servers())
    healed_after = None
    with Load("quorum-loss", NGINX_URL) as load:
        try:
            for node in lost:
                kill_consul(node, keep_down=True)
            wait_for(lambda: leader_node(api) == "", 15, 0.2, what="no leader left")
            # 12 s without quorum: DNS and stale reads answer from the last state, consul-template
            # keeps running with the last upstreams, and nginx serves them.
            deadline = time.monotonic() + 12
            while time.monotonic() < deadline:
                assert dns(lb, "svc4.service.consul") == sorted(address.split(":")[0] for address in config_before)
                assert kv_get(api, "faults/quorum", stale=True) == "before"
                assert consul_template_pid() == pid
                time.sleep(2)
            assert kv_get(api, "faults/quorum") is None  # a consistent read needs a leader
            assert sorted(live_servers()) == config_before
        finally:
            started = time.monotonic()
            for node in lost:
                node.run("systemctl start consul")
        wait_healed(api, 120)
        healed_after = time.monotonic() - started
    print(f"fault 2: 2 of 3 servers lost for 12s; healed {healed_after:.1f}s after they came back")
    record("heal after 2 of 3 servers lost (start to whole)", round(healed_after, 2), "s")
    assert load.report.failed == 0, load.report.failures[:10]
    assert consul_template_pid() == pid
    assert kv_put(api, "faults/quorum", "after") and kv_get(Api(NODES["secure3"].address), "faults/quorum") == "after"


def restart_window(node: Node) -> tuple[float, float]:
    """The consul unit's last [inactive, active again] window, on the monotonic clock the nodes share."""
    output = node.check("systemctl show consul -p ActiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic")
    stamps = dict(line.split("=", 1) for line in output.split())
    return int(stamps["ActiveExitTimestampMonotonic"]) / 1e6, int(stamps["ActiveEnterTimestampMonotonic"]) / 1e6


def test_4_rolling_restart_of_every_server_through_the_playbook_loses_no_request(api, balanced, tmp_path):
    playbook = role_playbook(tmp_path, "consul", "consul_servers")
    configs = {name: node.check("cat /etc/consul.d/consul.json") for name, node in NODES.items()}
    leader = leader_node(api)
    begin = time.monotonic()
    try:
        with Load("rolling-restart", NGINX_URL) as load:
            result = ansible_playbook(playbook, "-e", json.dumps({"consul_log_level": "debug"}))
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        windows = sorted(((restart_window(node), name) for name, node in NODES.items()))
        print(f"fault 4: {[name for _w, name in windows]} restarted in turn, {load.report.line()}")
        assert load.report.failed == 0, load.report.failures[:10]
        # Every server restarted, one at a time, the leader last.
        assert all(down > begin for (down, _up), _name in windows)
        for ((_down, previous_up), _previous), ((down, _up), name) in zip(windows, windows[1:]):
            assert down >= previous_up, f"{name} went down before the previous server was back"
        assert windows[-1][1] == leader
        assert healed(api)
    finally:
        # Back to the inventory's configuration without a second rolling restart: the same file, and
        # a reload (log_level is one of the settings an agent reloads), so site.yml finds nothing to do.
        for name, node in NODES.items():
            node.write("/etc/consul.d/consul.json", configs[name])
            node.check("systemctl reload consul")
    wait_healed(api)


def test_6_dockerd_restarted_policy_containers_come_back_registered_the_others_leave(api, balanced, containers):
    node = NODES["secure2"]

    def registered(service: str) -> list:
        return [entry["Node"] for entry in api.get(f"/v1/catalog/service/{service}")]

    containers.run(
        node, "keeper", "--restart", "always", "-e", "SERVICE_NAME=keeper", "-p", "8090:8080", command=("keeper",)
    )
    containers.run(node, "loner", "-e", "SERVICE_NAME=loner", "-p", "8091:8080", command=("loner",))
    wait_for(lambda: registered("keeper") == registered("loner") == ["secure2"], 10, 0.2, what="both registered")
    registrator_before = node.check("docker inspect -f '{{.State.StartedAt}}' registrator")
    with Load("dockerd-restart", NGINX_URL) as load:
        assert node.run("systemctl restart docker", timeout=120).returncode == 0
        wait_for(lambda: registered("loner") == [], 30, 0.5, what="the container without a policy deregistered")
        wait_for(lambda: registered("keeper") == ["secure2"], 30, 0.5, what="the policy container registered again")
        wait_for(lambda: len(live_servers()) == 3, 30, 0.5, what="svc4 on secure2 back in nginx")
    assert node.check("docker inspect -f '{{.State.StartedAt}}' registrator") != registrator_before
    assert node.check("docker inspect -f '{{.State.Running}}' loner").strip() == "false"
    print(f"fault 6: dockerd restarted on secure2: {load.report.line()}")


def partition(node: Node, peers: list[str], seconds: int) -> None:
    """Drop every packet between node and its peers (raw table: before Docker's NAT and filter
    chains), and schedule the rules' removal by systemd so that the cut ends by itself."""
    mark = "-m comment --comment lab-partition -j DROP"
    rules = [f"PREROUTING -s {peer} {mark}" for peer in peers] + [f"OUTPUT -d {peer} {mark}" for peer in peers]
    node.check("; ".join(f"iptables -t raw -I {rule}" for rule in rules))
    undo = "; ".join(f"iptables -t raw -D {rule}" for rule in rules)
    node.check(f"systemd-run --unit=lab-partition-heal --on-active={seconds}s /bin/sh -c '{undo}'")


def heal_partition(node: Node) -> None:
    node.run("systemctl start lab-partition-heal.service; systemctl stop lab-partition-heal.timer")
    wait_for(lambda: "lab-partition" not in node.check("iptables -t raw -S"), 10, 0.2, what="the partition lifted")


def test_7_the_leader_cut_off_leaves_dns_and_nginx_and_comes_back(api, balanced):
    """The worst node to lose is the leader: a read that consul-template sends to the leader hangs
    once the leader is cut off. The catalog comes from secure1's own copy (load_balancer_consul_max_stale),
    so nginx drops the lost node as soon as the new leader marks it failed."""
    lb, cut = NODES["secure1"], NODES["secure3"]
    others = [node.address for name, node in NODES.items() if name != "secure3"]
    transfer_leadership(api, "secure3")
    with Load("partition", NGINX_URL) as load:
        try:
            partition(cut, others, 90)
            start = time.monotonic()
            wait_for(lambda: cut.address not in dns(lb, "svc4.service.consul"), 30, 0.2, what="secure3 out of DNS")
            left_dns = time.monotonic() - start
            try:
                wait_for(lambda: f"{cut.address}:8084" not in live_servers(), 30, 0.2, what="secure3 out of nginx")
            except AssertionError as error:
                # What consul-template and nginx-apply did meanwhile, and what secure1's catalog says.
                journal = lb.run(
                    "journalctl -u consul-template --no-pager -n 40; cat /var/lib/dockyard-load-balancer/last-apply"
                )
                health = Api(lb.address).call(
                    "GET", "/v1/health/service/svc4", management_token(), params={"stale": ""}
                )
                raise AssertionError(
                    f"{error}\n{journal.stdout}\nsecure1's svc4 health: {health.text[:3000]}"
                ) from None
            left_nginx = time.monotonic() - start
        finally:
            heal_partition(cut)
        start = time.monotonic()
        wait_for(lambda: len(live_servers()) == 3, 60, 0.5, what="secure3 back in nginx")
        back = time.monotonic() - start
    record("partitioned node out of nginx", round(left_nginx, 2), "s")
    record("partition lifted to back in nginx", round(back, 2), "s")
    print(
        f"fault 7: out of DNS after {left_dns:.1f}s, of nginx after {left_nginx:.1f}s; back in {back:.1f}s;"
        f" {load.report.line()}"
    )
    assert cut.address in dns(lb, "svc4.service.consul")
    wait_healed(Api(lb.address))


def duration(text: str) -> float:
    """A Go duration as consul-template's settings write it (250ms, 10s, 1m) in seconds."""
    value, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text).groups()
    return float(value) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


# consul-template's own default: 12 attempts, after which it exits (about five minutes with its
# default backoff of 250 ms doubling up to 1 min).
DEFAULT_ATTEMPTS = 12


def test_8_lb_agent_away_past_the_default_retry_budget_consul_template_carries_on(balanced, containers):
    """consul-template gives up after a number of attempts, not after a time. Ours are unlimited
    (attempts 0) and capped at max_backoff apart, so an outage long enough for more attempts than the
    default 12 proves the point without waiting five minutes: with max_backoff 2 s that is ~20 s."""
    lb = NODES["secure1"]
    retry = json.loads(lb.check("cat /etc/consul-template.d/consul-template.json"))["consul"]["retry"]
    assert retry["enabled"] and retry["attempts"] == 0
    budget = sum(
        min(duration(retry["backoff"]) * 2**n, duration(retry["max_backoff"])) for n in range(DEFAULT_ATTEMPTS)
    )
    outage = budget + 2 * duration(retry["max_backoff"])
    assert outage <= 120, f"max_backoff {retry['max_backoff']} makes the test wait {outage:.0f}s"
    pid, since = consul_template_pid(), time.time() - 1
    with Load("lb-agent-away", NGINX_URL) as load:
        try:
            kill_consul(lb, keep_down=True)
            time.sleep(outage)
            log = lb.check(f"journalctl -u consul-template --since @{since:.0f} --no-pager -o cat")
            attempts = [int(n) for n in re.findall(r"\(retry attempt (\d+) after ", log)]
            assert consul_template_pid() == pid and lb.check("systemctl is-active consul-template").strip() == "active"
        finally:
            lb.run("systemctl start consul")
        wait_healed(Api(lb.address))
        # A change after the agent is back reaches nginx.
        containers.run(
            NODES["secure2"], "latecomer", "-e", "SERVICE_NAME=svc4", "-p", "8096:8080", command=("latecomer",)
        )
        _value, caught_up = wait_for(
            lambda: f"{NODES['secure2'].address}:8096" in live_servers(), 30, 0.2, what="the change in nginx"
        )
    print(
        f"fault 8: agent away {outage:.0f}s (the default 12 attempts last {budget:.0f}s here), last retry attempt"
        f" {max(attempts, default=0)}, change live {caught_up:.1f}s after the agent was back; {load.report.line()}"
    )
    assert max(attempts, default=0) > DEFAULT_ATTEMPTS
    assert "exceeded maximum retries" not in log
    assert consul_template_pid() == pid
    assert load.report.failed == 0, load.report.failures[:10]


def nginx_reloads_since(node: Node, since: float) -> int:
    log = node.check(f"journalctl -u nginx --since @{since:.0f} --no-pager -o cat")
    return len(re.findall(r"^Reloaded nginx", log, re.MULTILINE))


@pytest.mark.parametrize("churn", [50])
def test_9_churn_is_coalesced_and_no_request_fails(api, balanced, churn):
    lb = NODES["secure1"]
    wait_min = 0.5  # load_balancer_wait_min, the role's default
    window = 10
    since = time.time() - 1
    stable = balanced[0]
    address, port = NODES["secure2"].address, 8084
    with Load("churn", NGINX_URL, interval=0.05) as load:
        start = time.monotonic()
        # Register, then deregister, instances of svc4 that point at a real instance, so that every
        # upstream nginx gets is valid: the test is about reloads, not about bad backends. Spaced so
        # that each change reaches the catalog (the agent syncs each one).
        for index in range(churn // 2):
            body = {"ID": f"churn-{index}", "Name": "svc4", "Address": address, "Port": port}
            assert api.call("PUT", "/v1/agent/service/register", management_token(), json=body).status_code == 200
            time.sleep(0.1)
        peak = len(live_servers())
        for index in range(churn // 2):
            assert api.call("PUT", f"/v1/agent/service/deregister/churn-{index}", management_token()).status_code == 200
            time.sleep(0.1)
        elapsed = time.monotonic() - start
        assert elapsed < window, f"{churn} changes took {elapsed:.1f}s"
        time.sleep(window - elapsed + 3)
        assert sorted(live_servers()) == balanced
    reloads = nginx_reloads_since(lb, since)
    bound = math.ceil(window / wait_min) + 1
    five_xx = [failure for failure in load.report.failures if failure[1] >= 500]
    print(
        f"fault 9: {churn} changes in {elapsed:.1f}s (up to {peak} servers live), {reloads} nginx reloads"
        f" (bound {bound}), {load.report.line()}"
    )
    assert peak > len(balanced), "the registrations never reached nginx: the churn proved nothing"
    assert stable in live_servers()
    record(f"nginx reloads for {churn} changes in {window}s", reloads, "reloads", f"bound {bound}")
    assert reloads <= bound
    assert five_xx == [] and load.report.failed == 0, load.report.failures[:10]
