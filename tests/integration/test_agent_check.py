# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""agent_check: register, update, no-op, deregister, check mode, diff, bad input; raw HTTP is the reference.

The agent does not return what a check probes: a changed URL is found through the fingerprint
kept in the notes, and a check without one is never reported unchanged.
"""

import uuid

import pytest
from conftest import assert_clean_failure, limited_token, run_module_direct


@pytest.fixture(params=["acl_agent", "acl_tls_agent"])
def secured(request):
    return request.getfixturevalue(request.param)


def check_task(agent, check=False, **options):
    return run_module_direct("agent_check", {**agent.connection(), **options}, check=check, diff=True)


def raw_check(agent, check_id):
    return agent.http("GET", "/v1/agent/checks").get(check_id)


def test_check_lifecycle(secured):
    agent, name = secured, f"chkt-{uuid.uuid4().hex[:6]}"
    options = {
        "name": name,
        "http": "http://127.0.0.1:1/health",
        "interval": "30s",
        "check_timeout": "2s",
        "notes": "n",
    }
    checked = check_task(agent, check=True, **options)
    assert (checked.result["changed"], checked.result["operation"]) == (True, "create"), checked
    assert checked.result["diff"]["before"] == {} and checked.result["diff"]["after"]["type"] == "http"
    assert raw_check(agent, name) is None, "check mode must not register"

    created = check_task(agent, **options)
    stored = raw_check(agent, name)
    assert created.result["operation"] == "create", created
    assert (stored["Type"], stored["Interval"], stored["Timeout"]) == ("http", "30s", "2s")
    assert stored["Notes"].startswith("n\ndockyard-definition: ")
    assert created.result["check"]["notes"] == "n" and created.result["check"]["interval"] == 30.0

    again = check_task(agent, **options)
    assert again.result["changed"] is False, again
    assert again.result["diff"]["before"] == again.result["diff"]["after"]
    assert check_task(agent, check=True, **{**options, "interval": "0.5m"}).result["changed"] is False

    # only the URL changes: invisible in the agent API, found through the fingerprint
    moved = {**options, "http": "http://127.0.0.1:2/health"}
    diff = check_task(agent, check=True, **moved).result["diff"]
    assert diff["before"]["definition"] != diff["after"]["definition"]
    assert raw_check(agent, name)["Notes"] == stored["Notes"], "check mode must not register"
    updated = check_task(agent, **moved)
    assert updated.result["operation"] == "update" and raw_check(agent, name)["Notes"] != stored["Notes"]
    assert check_task(agent, **moved).result["changed"] is False

    # a visible change, and one made behind the module's back without a fingerprint
    assert check_task(agent, **{**moved, "interval": "1m"}).result["changed"] is True
    assert raw_check(agent, name)["Interval"] == "1m0s"
    agent.http("PUT", "/v1/agent/check/register", {"ID": name, "Name": name, "TCP": "127.0.0.1:1", "Interval": "1m"})
    behind = check_task(agent, **{**moved, "interval": "1m"})
    assert behind.result["changed"] is True and raw_check(agent, name)["Type"] == "http", behind
    assert check_task(agent, **{**moved, "interval": "1m"}).result["changed"] is False
    assert check_task(agent, **{**moved, "interval": "1m", "force": True}).result["changed"] is True

    assert check_task(agent, check=True, name=name, state="absent").result["operation"] == "remove"
    assert raw_check(agent, name) is not None
    removed = check_task(agent, name=name, state="absent")
    assert removed.result["changed"] is True and removed.result["check"] is None
    assert raw_check(agent, name) is None
    assert check_task(agent, name=name, state="absent").result["changed"] is False


def test_ttl_and_tcp_checks_and_untracked_definitions(acl_agent):
    agent = acl_agent
    ttl = {"name": "chkt-ttl", "id": "chkt-ttl-1", "ttl": "10m", "status": "passing"}
    assert check_task(agent, **ttl).result["changed"] is True
    stored = raw_check(agent, "chkt-ttl-1")
    assert (stored["Type"], stored["Status"], stored["Name"]) == ("ttl", "passing", "chkt-ttl")
    assert check_task(agent, **ttl).result["changed"] is False
    assert check_task(agent, **{**ttl, "ttl": "20m"}).result["changed"] is True  # the TTL is invisible too
    check_task(agent, name="chkt-ttl", id="chkt-ttl-1", state="absent")

    tcp = {"name": "chkt-tcp", "tcp": "127.0.0.1:1", "track_definition": False}
    assert check_task(agent, **tcp).result["changed"] is True
    assert "dockyard-definition" not in raw_check(agent, "chkt-tcp")["Notes"]
    # without a fingerprint the target is unknown: registered again, never reported unchanged
    untracked = check_task(agent, **tcp)
    assert untracked.result["changed"] is True and untracked.result["diff"]["before"]["definition"] is None
    check_task(agent, name="chkt-tcp", state="absent")
    assert raw_check(agent, "chkt-tcp") is None


def test_service_check(acl_agent):
    agent = acl_agent
    agent.http("PUT", "/v1/agent/service/register", {"ID": "chkt-svc-1", "Name": "chkt-svc", "Port": 80})
    try:
        options = {"name": "chkt-svc-port", "service_id": "chkt-svc-1", "tcp": "127.0.0.1:80", "interval": "10s"}
        assert check_task(agent, **options, deregister_critical_service_after="10m").result["changed"] is True
        assert raw_check(agent, "chkt-svc-port")["ServiceID"] == "chkt-svc-1"
        assert check_task(agent, **options, deregister_critical_service_after="10m").result["changed"] is False
        for check in (True, False):
            missing = check_task(agent, check=check, **{**options, "service_id": "chkt-no-such"})
            assert_clean_failure(missing, "no such service")
    finally:
        agent.deregister("chkt-svc-1")


def test_check_bad_input(acl_agent):
    agent = acl_agent
    bad = [
        ({"http": "http://127.0.0.1:1/", "tcp": "127.0.0.1:1"}, "exactly one of http, tcp or ttl"),
        ({}, "exactly one of http, tcp or ttl"),
        ({"http": "ftp://127.0.0.1/"}, "is not an http:// or https:// URL"),
        ({"http": "http://127.0.0.1:70000/"}, "invalid port"),
        ({"tcp": "127.0.0.1:-5"}, "is not a port"),
        ({"tcp": "127.0.0.1:70000"}, "out of range"),
        ({"tcp": "127.0.0.1"}, "host:port"),
        ({"tcp": "127.0.0.1:1", "interval": "often"}, "not a duration"),
        ({"tcp": "127.0.0.1:1", "interval": "0s"}, "longer than 0s"),
        ({"tcp": "127.0.0.1:1", "check_timeout": "-1s"}, "not a duration"),
        ({"ttl": "30s", "interval": "10s"}, "does not apply to a ttl check"),
        ({"tcp": "127.0.0.1:1", "method": "POST"}, "http checks only"),
        ({"http": "http://127.0.0.1:1/", "method": "get it"}, "not an HTTP method"),
        ({"ttl": "30s", "notes": "x\ndockyard-definition: 0123456789abcdef"}, "must not end with"),
        ({"ttl": "30s", "id": "a/b"}, "check ID"),
    ]
    for options, message in bad:
        for check in (True, False):
            run = check_task(agent, check=check, name="chkt-bad", **options)
            assert_clean_failure(run, message)
    assert_clean_failure(check_task(agent, name="chkt-bad", ttl="30s", header="x"), "dictionary requested")
    assert_clean_failure(check_task(agent, name="chkt-bad", ttl="30s", status="fine"), "status")
    assert raw_check(agent, "chkt-bad") is None


def test_check_with_a_token_that_may_not_write_the_node(acl_agent):
    agent = acl_agent
    reader = limited_token(agent, f'node "{agent.node_name}" {{ policy = "read" }}')
    args = {**agent.connection(), "token": reader, "name": "chkt-denied", "ttl": "30s"}
    assert run_module_direct("agent_check", args, check=True).result["changed"] is True  # reads are allowed
    assert_clean_failure(run_module_direct("agent_check", args), "HTTP 403")
    assert raw_check(agent, "chkt-denied") is None


def test_check_against_a_server_that_is_not_consul(not_consul):
    for check in (True, False):
        run = run_module_direct("agent_check", {**not_consul, "name": "c", "ttl": "30s"}, check=check)
        assert_clean_failure(run)
        assert run.result.get("changed") is not True
