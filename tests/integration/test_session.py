# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""session and session_info: create, no-op, renew, read, list, destroy, check mode, diff, bad input; raw HTTP is the reference."""

import uuid

import pytest
from conftest import assert_clean_failure, limited_token, run_module_direct


@pytest.fixture(params=["acl_agent", "acl_tls_agent"])
def secured(request):
    return request.getfixturevalue(request.param)


def session(agent, check=False, **options):
    return run_module_direct("session", {**agent.connection(), **options}, check=check, diff=True)


def session_info(agent, check=False, **options):
    return run_module_direct("session_info", {**agent.connection(), **options}, check=check)


def raw_named(agent, name):
    return [s for s in agent.http("GET", f"/v1/session/node/{agent.node_name}") if s["Name"] == name]


def test_session_lifecycle(secured):
    agent, name = secured, f"sesst-{secured.mode}-{uuid.uuid4().hex[:6]}"
    options = {"name": name, "behavior": "delete", "ttl": "30s", "delay": "5s"}
    checked = session(agent, check=True, **options)
    assert (checked.result["changed"], checked.result["operation"]) == (True, "create"), checked
    assert checked.result["session_id"] is None and checked.result["diff"]["before"] == {}
    assert checked.result["diff"]["after"]["ttl"] == 30.0
    assert raw_named(agent, name) == [], "check mode must not create"

    created = session(agent, **options)
    stored = raw_named(agent, name)
    assert len(stored) == 1 and created.result["session_id"] == stored[0]["ID"], created
    assert (stored[0]["Behavior"], stored[0]["TTL"], stored[0]["LockDelay"]) == ("delete", "30s", 5_000_000_000)
    assert stored[0]["Node"] == agent.node_name and created.result["session"]["node"] == agent.node_name

    again = session(agent, **options)
    assert again.result["changed"] is False and again.result["session_id"] == stored[0]["ID"], again
    assert session(agent, check=True, name=name, ttl=30).result["changed"] is False  # a number of seconds
    assert len(raw_named(agent, name)) == 1

    # a session cannot change: a different setting fails both runs, and nothing is written
    for check in (True, False):
        assert_clean_failure(session(agent, check=check, name=name, ttl="60s"), "cannot change", "ttl")
    assert raw_named(agent, name)[0]["TTL"] == "30s"

    session_id = stored[0]["ID"]
    info = session_info(agent, id=session_id)
    assert info.result["changed"] is False and info.result["session"]["name"] == name
    listed = session_info(agent, node=agent.node_name).result["sessions"]
    assert session_id in [s["id"] for s in listed]
    assert session(agent, check=True, state="renewed", id=session_id).result["changed"] is True
    renewed = session(agent, state="renewed", id=session_id)
    assert renewed.result["operation"] == "renew" and renewed.result["session"]["id"] == session_id

    # the session holds a lock; destroying it by name deletes the key (behavior=delete)
    assert agent.http("PUT", f"/v1/kv/sesst/{name}?acquire={session_id}", body=b"x") is True
    assert session(agent, check=True, state="absent", name=name).result["operation"] == "remove"
    assert len(raw_named(agent, name)) == 1
    removed = session(agent, state="absent", name=name)
    assert removed.result["changed"] is True and [s["id"] for s in removed.result["sessions"]] == [session_id]
    assert removed.result["diff"]["after"] == {}
    assert raw_named(agent, name) == []
    assert agent.http("GET", f"/v1/session/info/{session_id}") in (None, [])
    assert session(agent, state="absent", name=name).result["changed"] is False
    assert session_info(agent, id=session_id).result["session"] is None


def test_session_by_id_and_checks(acl_agent):
    agent, name = acl_agent, f"sesst-checks-{uuid.uuid4().hex[:6]}"
    created = session(agent, name=name, node_checks=[], service_checks=[])
    session_id = created.result["session_id"]
    assert agent.http("GET", f"/v1/session/info/{session_id}")[0]["NodeChecks"] == []
    assert session(agent, name=name, checks=[]).result["changed"] is False  # the community.general alias
    assert_clean_failure(session(agent, name=name, node_checks=["serfHealth"]), "cannot change", "node_checks")
    assert session(agent, id=session_id).result["changed"] is False
    assert_clean_failure(session(agent, id=session_id, name="other"), "is named")
    assert session(agent, state="absent", id=session_id).result["changed"] is True
    for check in (True, False):
        assert_clean_failure(session(agent, check=check, state="renewed", id=session_id), "no such session")
        assert_clean_failure(session(agent, check=check, id=session_id), "does not exist")


def test_session_duplicate_names_are_refused(acl_agent):
    agent, name = acl_agent, f"sesst-dup-{uuid.uuid4().hex[:6]}"
    ids = [agent.http("PUT", "/v1/session/create", {"Name": name})["ID"] for _copy in range(2)]
    for check in (True, False):
        assert_clean_failure(session(agent, check=check, name=name), "2 sessions are named")
    removed = session(agent, state="absent", name=name)
    assert sorted(s["id"] for s in removed.result["sessions"]) == sorted(ids)
    assert raw_named(agent, name) == []


def test_session_bad_input(acl_agent):
    agent = acl_agent
    for check in (True, False):
        assert_clean_failure(session(agent, check=check, name="sesst-bad", ttl="5s"), "ttl", "out of range")
        assert_clean_failure(session(agent, check=check, name="sesst-bad", ttl="soon"), "not a duration")
        assert_clean_failure(session(agent, check=check, name="sesst-bad", delay="2m"), "delay", "out of range")
        assert_clean_failure(session(agent, check=check, name="sesst-bad", ttl=[1]), "not a duration")
        assert_clean_failure(session(agent, check=check, state="renewed"), "needs the session's id")
        assert_clean_failure(session_info(agent, check=check, id="nope"), "is not a UUID")
        assert_clean_failure(session(agent, check=check), "needs a non-empty name")
        assert_clean_failure(session(agent, check=check, name="sesst-bad", node="a/b"), "node name")
    assert_clean_failure(session(agent, name="sesst-bad", behavior="explode"), "behavior")
    # a check that does not exist: Consul refuses, and says why
    assert_clean_failure(session(agent, name="sesst-bad", node_checks=["no-such-check"]), "no-such-check")
    assert raw_named(agent, "sesst-bad") == []


def test_session_with_a_token_that_may_not_write_sessions(acl_agent):
    agent = acl_agent
    reader = limited_token(
        agent, f'session "{agent.node_name}" {{ policy = "read" }}\nagent_prefix "" {{ policy = "read" }}'
    )
    args = {**agent.connection(), "token": reader, "name": "sesst-denied"}
    assert run_module_direct("session", args, check=True).result["changed"] is True  # reads are allowed
    assert_clean_failure(run_module_direct("session", args), "HTTP 403")
    nobody = limited_token(agent, 'key_prefix "x/" { policy = "read" }')
    for check in (True, False):
        assert_clean_failure(run_module_direct("session", {**args, "token": nobody}, check=check), "HTTP 403")
    assert raw_named(agent, "sesst-denied") == []


def test_session_against_a_server_that_is_not_consul(not_consul):
    for check in (True, False):
        run = run_module_direct("session", {**not_consul, "name": "s", "node": "n1"}, check=check)
        assert_clean_failure(run)
        assert run.result.get("changed") is not True
