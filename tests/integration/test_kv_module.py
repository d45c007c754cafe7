# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kv module: get, put, delete with cas and recurse; check mode, apply, apply again; raw HTTP as reference."""

import base64
import urllib.error

import pytest
from conftest import assert_clean_failure, run_module, run_module_direct


def raw_value(agent, key):
    try:
        [entry] = agent.http("GET", f"/v1/kv/{key}")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise
    return base64.b64decode(entry["Value"]).decode() if entry["Value"] else ""


def raw_index(agent, key):
    return agent.http("GET", f"/v1/kv/{key}")[0]["ModifyIndex"]


@pytest.fixture
def kv(agent):
    agent.http("DELETE", "/v1/kv/kvt/?recurse")
    yield agent
    agent.http("DELETE", "/v1/kv/kvt/?recurse")


def put(agent, key, value, **extra):
    return run_module_direct(
        "kv", {**agent.connection(), "key": key, "value": value, "operation": "put", **extra}, diff=True
    )


def test_put_check_mode_apply_again(kv):
    # through the ansible CLI, as a user runs it; the other runs call the module directly
    checked = run_module(
        "kv", {**kv.connection(), "key": "kvt/a", "value": "1", "operation": "put"}, check=True, diff=True
    )
    assert checked.result["changed"] is True and checked.result["diff"] == {"before": {}, "after": {"kvt/a": "1"}}
    assert raw_value(kv, "kvt/a") is None

    applied = put(kv, "kvt/a", "1")
    assert applied.result["changed"] is True and raw_value(kv, "kvt/a") == "1"
    assert applied.result["entry"]["modify_index"] == raw_index(kv, "kvt/a")

    assert put(kv, "kvt/a", "1").result["changed"] is False
    assert put(kv, "kvt/a", "2").result["diff"] == {"before": {"kvt/a": "1"}, "after": {"kvt/a": "2"}}
    assert raw_value(kv, "kvt/a") == "2"


def test_get_matches_raw(kv):
    kv.http("PUT", "/v1/kv/kvt/utf8", "grüße".encode())
    run = run_module_direct("kv", {**kv.connection(), "key": "kvt/utf8"})
    assert (run.result["value"], run.result["found"], run.result["changed"]) == ("grüße", True, False)
    missing = run_module_direct("kv", {**kv.connection(), "key": "kvt/none"})
    assert (missing.result["value"], missing.result["found"]) == (None, False)


def test_cas(kv):
    assert put(kv, "kvt/lock", "me", cas=0).result["changed"] is True
    # cas=0 on an existing key: refused, nothing changed, in check mode as for real
    for check in (True, False):
        run = run_module_direct(
            "kv", {**kv.connection(), "key": "kvt/lock", "value": "you", "operation": "put", "cas": 0}, check=check
        )
        assert_clean_failure(run, "check-and-set", "nothing was changed")
    assert raw_value(kv, "kvt/lock") == "me"
    # the right modify index lets it through
    assert put(kv, "kvt/lock", "you", cas=raw_index(kv, "kvt/lock")).result["changed"] is True
    assert raw_value(kv, "kvt/lock") == "you"


def test_recurse_get_and_delete(kv):
    for key, value in (("kvt/tree/a", "1"), ("kvt/tree/b/c", "2"), ("kvt/other", "3")):
        kv.http("PUT", f"/v1/kv/{key}", value.encode())
    tree = run_module_direct("kv", {**kv.connection(), "key": "kvt/tree/", "recurse": True})
    assert {e["key"]: e["value"] for e in tree.result["entries"]} == {"kvt/tree/a": "1", "kvt/tree/b/c": "2"}

    delete = {**kv.connection(), "key": "kvt/tree/", "recurse": True, "operation": "delete"}
    checked = run_module_direct("kv", delete, check=True, diff=True)
    assert checked.result["changed"] is True and checked.result["diff"]["after"] == {}
    assert raw_value(kv, "kvt/tree/a") == "1"
    assert run_module_direct("kv", delete).result["changed"] is True
    assert raw_value(kv, "kvt/tree/a") is None and raw_value(kv, "kvt/tree/b/c") is None
    assert raw_value(kv, "kvt/other") == "3"
    assert run_module_direct("kv", delete).result["changed"] is False


def test_delete_one_key(kv):
    put(kv, "kvt/x", "1")
    args = {**kv.connection(), "key": "kvt/x", "operation": "delete"}
    assert run_module_direct("kv", args, check=True).result["changed"] is True and raw_value(kv, "kvt/x") == "1"
    assert run_module_direct("kv", args).result["changed"] is True and raw_value(kv, "kvt/x") is None
    assert run_module_direct("kv", args).result["changed"] is False
