# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kv with sessions: acquire and release a lock, idempotently, with check mode and bad input."""

import urllib.error

import pytest
from conftest import assert_clean_failure, run_module_direct


@pytest.fixture
def sessions(agent):
    made = [agent.http("PUT", "/v1/session/create", {"Name": f"lock-{n}", "LockDelay": "0s"})["ID"] for n in (1, 2)]
    yield made
    for session in made:
        agent.http("PUT", f"/v1/session/destroy/{session}")
    agent.http("DELETE", "/v1/kv/lockt?recurse")


def lock(agent, operation, session, check=False, **extra):
    args = {**agent.connection(), "key": "lockt/leader", "operation": operation, "session": session, **extra}
    return run_module_direct("kv", args, check=check, diff=True)


def keys(agent) -> list:
    try:
        return [entry["Key"] for entry in agent.http("GET", "/v1/kv/lockt/?recurse")]
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise


def holder(agent):
    [entry] = agent.http("GET", "/v1/kv/lockt/leader")
    return entry.get("Session")


def test_acquire_release(agent, sessions):
    mine, theirs = sessions
    checked = lock(agent, "acquire", mine, check=True, value="node1")
    assert (checked.result["changed"], checked.result["acquired"]) == (True, True)
    assert checked.result["diff"]["after"]["lockt/leader"]["session"] == mine
    assert keys(agent) == []

    taken = lock(agent, "acquire", mine, value="node1")
    assert (taken.result["changed"], taken.result["acquired"]) == (True, True) and holder(agent) == mine
    assert taken.result["entry"]["session"] == mine and taken.result["value"] == "node1"
    assert lock(agent, "acquire", mine, value="node1").result["changed"] is False

    refused = lock(agent, "acquire", theirs, value="node2")
    assert (refused.result["changed"], refused.result["acquired"], refused.result["holder"]) == (False, False, mine)
    assert holder(agent) == mine
    # the other session cannot release a lock it does not hold
    assert lock(agent, "release", theirs).result["changed"] is False and holder(agent) == mine

    assert lock(agent, "release", mine, check=True).result["changed"] is True and holder(agent) == mine
    released = lock(agent, "release", mine)
    assert released.result["changed"] is True and holder(agent) is None
    assert lock(agent, "release", mine).result["changed"] is False
    assert lock(agent, "acquire", theirs).result["acquired"] is True and holder(agent) == theirs


def test_lock_bad_input(agent, sessions):
    for check in (True, False):
        unknown = lock(agent, "acquire", "5b1d4c1e-0000-4000-8000-000000000000", check=check)
        assert_clean_failure(unknown, "does not exist")
        assert_clean_failure(lock(agent, "acquire", sessions[0], check=check, cas=3), "cas cannot be combined")
        missing = run_module_direct("kv", {**agent.connection(), "key": "lockt/x", "operation": "acquire"}, check=check)
        assert_clean_failure(missing, "session")
    assert keys(agent) == []
