# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""agent_service: check mode, apply, apply again; every state read back with raw HTTP."""

import urllib.error

import pytest
from conftest import run_module, run_module_direct


def service_args(agent, **changes):
    args = {
        **agent.connection(),
        "name": "as-web",
        "id": "as-web-1",
        "service_port": 8080,
        "tags": ["v1"],
        "meta": {"team": "a"},
        "checks": [
            {"http": "http://127.0.0.1:1/health", "interval": "30s", "timeout": "2s"},
            {"tcp": "127.0.0.1:1", "interval": "1m"},
            {"ttl": "30s", "name": "heartbeat", "status": "passing"},
        ],
    }
    args.update(changes)
    return args


def raw_service(agent):
    try:
        return agent.http("GET", "/v1/agent/service/as-web-1")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def raw_checks(agent):
    return {k: v for k, v in agent.http("GET", "/v1/agent/checks").items() if v["ServiceID"] == "as-web-1"}


@pytest.fixture
def clean(agent):
    agent.deregister("as-web-1")
    yield agent
    agent.deregister("as-web-1")


def test_register_check_mode_apply_and_again(clean):
    agent = clean
    # through the ansible CLI, as a user runs it; the other runs call the module directly
    checked = run_module("agent_service", service_args(agent), check=True, diff=True)
    assert checked.result["changed"] is True, checked
    assert checked.result["diff"]["before"] == {} and checked.result["diff"]["after"]["port"] == 8080
    assert raw_service(agent) is None, "check mode must not register"

    applied = run_module_direct("agent_service", service_args(agent), diff=True)
    assert applied.result["changed"] is True, applied
    service = raw_service(agent)
    assert (service["Service"], service["Port"], service["Tags"]) == ("as-web", 8080, ["v1"])
    assert service["Meta"]["team"] == "a"
    checks = raw_checks(agent)
    assert sorted((c["CheckID"], c["Type"]) for c in checks.values()) == [
        ("service:as-web-1:1", "http"),
        ("service:as-web-1:2", "tcp"),
        ("service:as-web-1:3", "ttl"),
    ]
    assert checks["service:as-web-1:3"]["Name"] == "heartbeat"

    again = run_module_direct("agent_service", service_args(agent), diff=True)
    assert again.result["changed"] is False, again
    assert again.result["diff"]["before"] == again.result["diff"]["after"]


def test_changes_are_detected_and_applied(clean):
    agent = clean
    run_module_direct("agent_service", service_args(agent))
    index_before = raw_checks(agent)

    # only the URL of the HTTP check changes: invisible in the agent API, caught by the fingerprint
    moved = service_args(agent)
    moved["checks"][0]["http"] = "http://127.0.0.1:2/health"
    assert run_module_direct("agent_service", moved, check=True).result["changed"] is True
    assert run_module_direct("agent_service", moved).result["changed"] is True
    assert run_module_direct("agent_service", moved).result["changed"] is False

    # dropping a check removes it from the agent
    fewer = service_args(agent, checks=[{"ttl": "30s"}], service_port=9090)
    result = run_module_direct("agent_service", fewer, diff=True).result
    assert result["changed"] is True and result["diff"]["before"]["port"] == 8080
    assert list(raw_checks(agent)) == ["service:as-web-1"] and len(index_before) == 3
    assert raw_service(agent)["Port"] == 9090


def test_deregister_check_mode_apply_and_again(clean):
    agent = clean
    run_module_direct("agent_service", service_args(agent))
    checked = run_module_direct("agent_service", service_args(agent, state="absent"), check=True, diff=True)
    assert checked.result["changed"] is True and checked.result["diff"]["after"] == {}
    assert raw_service(agent) is not None, "check mode must not deregister"
    assert run_module_direct("agent_service", service_args(agent, state="absent")).result["changed"] is True
    assert raw_service(agent) is None
    assert run_module_direct("agent_service", service_args(agent, state="absent")).result["changed"] is False
