# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""autopilot against real agents: read, no-op, check mode, diff, an equal duration, bad input, ACLs."""

import pytest
from conftest import assert_clean_failure, limited_token, run_module_direct


def autopilot(agent, check=False, **options):
    return run_module_direct("autopilot", {**agent.connection(), **options}, check=check, diff=True)


def stored(agent) -> dict:
    return agent.http("GET", "/v1/operator/autopilot/configuration")


@pytest.mark.parametrize("name", ["acl_agent", "acl_tls_agent"])
def test_autopilot_check_then_apply_then_nothing_to_do(request, name):
    agent = request.getfixturevalue(name)
    before = stored(agent)
    wanted = before["MinQuorum"] + 3
    checked = autopilot(agent, check=True, min_quorum=wanted, cleanup_dead_servers=True)
    assert checked.result["changed"] is True and checked.result["operation"] == "update", checked.result
    assert checked.result["diff"]["before"]["min_quorum"] == before["MinQuorum"]
    assert checked.result["diff"]["after"]["min_quorum"] == wanted
    assert stored(agent) == before, "check mode wrote the configuration"

    applied = autopilot(agent, min_quorum=wanted, cleanup_dead_servers=True)
    assert applied.result["changed"] is True, applied.result
    after = stored(agent)
    assert after["MinQuorum"] == wanted and after["CleanupDeadServers"] is True
    # Options that were not given keep their values.
    for key in ("LastContactThreshold", "MaxTrailingLogs", "ServerStabilizationTime", "RedundancyZoneTag"):
        assert after[key] == before[key], key
    assert applied.result["configuration"]["min_quorum"] == wanted

    again = autopilot(agent, min_quorum=wanted, cleanup_dead_servers=True)
    assert again.result["changed"] is False and again.result["operation"] is None, again.result
    assert stored(agent)["ModifyIndex"] == after["ModifyIndex"]


def test_autopilot_an_equal_duration_is_no_change(acl_agent):
    seconds = stored(acl_agent)["ServerStabilizationTime"]  # Consul writes e.g. "10s"
    same = autopilot(acl_agent, server_stabilization_time=f"{int(float(seconds.rstrip('s')) * 1000)}ms")
    assert same.result["changed"] is False, same.result
    other = autopilot(acl_agent, check=True, server_stabilization_time="17s")
    assert other.result["changed"] is True and other.result["diff"]["after"]["server_stabilization_time"] == "17s"


def test_autopilot_bad_input_changes_nothing(acl_agent):
    before = stored(acl_agent)
    for check in (True, False):
        assert_clean_failure(autopilot(acl_agent, check=check, min_quorum=-1), "min_quorum must be 0 or more")
        assert_clean_failure(
            autopilot(acl_agent, check=check, last_contact_threshold="soon"), "'soon' is not a duration"
        )
    assert stored(acl_agent) == before


def test_autopilot_needs_operator_rights(acl_agent):
    reader = limited_token(acl_agent, 'operator = "read"')
    connection = {**acl_agent.connection(), "token": reader}
    checked = run_module_direct("autopilot", {**connection, "min_quorum": 9}, check=True)
    assert checked.result["changed"] is True, checked.result  # check mode only reads
    denied = run_module_direct("autopilot", {**connection, "min_quorum": 9})
    assert_clean_failure(denied, "writing the autopilot configuration failed", "HTTP 403")
    nobody = limited_token(acl_agent, 'key_prefix "x/" { policy = "read" }')
    assert_clean_failure(
        run_module_direct("autopilot", {**acl_agent.connection(), "token": nobody, "min_quorum": 1}),
        "reading the autopilot configuration failed",
        "HTTP 403",
    )
