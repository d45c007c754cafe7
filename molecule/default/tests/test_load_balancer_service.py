"""The load balancer in the catalog: node1 registers itself as the load-balancer service with two
checks (nginx answers; the last render was applied), DNS gives it only while both pass, and a
rejected render shows in Consul with nginx's reason. molecule.yml sets the check interval to 2 s."""

from __future__ import annotations

from labkit.waiting import wait_for

SERVICE = "load-balancer"
NGINX_CHECK = f"{SERVICE}:nginx"
RENDER_CHECK = f"{SERVICE}:last-render"
TEMPLATE = "/etc/consul-template.d/nginx-services.ctmpl"
STATUS = "/var/lib/dockyard-load-balancer/last-apply"
# Two check intervals and the agent's sync: a state change shows in the catalog by then.
CHECK_SETTLES = 10


def checks(node) -> dict:
    """The load-balancer service's checks on node1, as the catalog holds them, by check ID."""
    return {check["CheckID"]: check for check in node.consul(f"/v1/health/checks/{SERVICE}")}


def state_of(node, check_id: str) -> str:
    return checks(node).get(check_id, {}).get("Status", "absent")


def dns_answer(nodes) -> list[str]:
    return nodes["node2"].dig("+short", f"{SERVICE}.service.consul")


def test_node1_is_registered_with_both_checks_passing_and_dns_finds_it(nodes):
    node1 = nodes["node1"]
    wait_for(
        lambda: {state_of(node1, NGINX_CHECK), state_of(node1, RENDER_CHECK)} == {"passing"},
        30,
        0.5,
        what="both load-balancer checks passing",
    )
    (instance,) = node1.consul(f"/v1/catalog/service/{SERVICE}")
    assert (instance["Node"], instance["ServicePort"]) == ("node1", 80)
    assert instance["ServiceMeta"]["upstreams"].split(",")[0] == "demo"
    assert checks(node1)[RENDER_CHECK]["Output"].startswith(("applied at ", "unchanged at ")), checks(node1)
    assert dns_answer(nodes) == ["172.20.20.10"]


def test_stub_status_answers_on_the_local_address_only(nodes):
    node1 = nodes["node1"]
    assert "Active connections:" in node1.check("curl -sf http://127.0.0.1:8080/stub_status")
    assert node1.run("curl -sf -m 2 http://172.20.20.10:8080/stub_status").returncode != 0
    assert nodes["node2"].run("curl -sf -m 2 http://172.20.20.10:8080/stub_status").returncode != 0


def test_a_rejected_render_turns_the_check_critical_with_the_reason_and_dns_drops_the_node(nodes):
    node1 = nodes["node1"]
    node1.check(f"cp -p {TEMPLATE} /root/template.service-test")
    try:
        node1.check(f"echo 'this_is_not_an_nginx_directive on;' >> {TEMPLATE} && systemctl reload consul-template")
        wait_for(lambda: node1.check(f"cat {STATUS}").split()[1] == "rejected", 15, 0.2, what="the render rejected")
        wait_for(lambda: state_of(node1, RENDER_CHECK) == "critical", CHECK_SETTLES, 0.5, what="the check critical")
        output = checks(node1)[RENDER_CHECK]["Output"]
        assert output.startswith("rejected at ") and "this_is_not_an_nginx_directive" in output, output
        assert state_of(node1, NGINX_CHECK) == "passing"  # nginx itself still serves the last good config
        wait_for(lambda: dns_answer(nodes) == [], CHECK_SETTLES, 0.5, what="DNS without node1")
    finally:
        node1.check(f"mv /root/template.service-test {TEMPLATE} && systemctl reload consul-template")
    wait_for(lambda: state_of(node1, RENDER_CHECK) == "passing", 20, 0.5, what="the check passing again")
    wait_for(lambda: dns_answer(nodes) == ["172.20.20.10"], CHECK_SETTLES, 0.5, what="DNS with node1 again")


def test_nginx_down_turns_the_nginx_check_critical_and_back(nodes):
    node1 = nodes["node1"]
    node1.check("systemctl stop nginx")
    try:
        wait_for(lambda: state_of(node1, NGINX_CHECK) == "critical", CHECK_SETTLES, 0.5, what="nginx check critical")
        assert dns_answer(nodes) == []
    finally:
        node1.check("systemctl start nginx")
    wait_for(lambda: state_of(node1, NGINX_CHECK) == "passing", CHECK_SETTLES, 0.5, what="nginx check passing")
