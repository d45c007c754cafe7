# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors for HTTP statuses, and the input checks done before a request."""

import pytest

from ansible_collections.dockyard.discovery.plugins.module_utils import _consul_errors as errors
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_validate import (
    check_index,
    check_kv_key,
    check_name,
    go_duration,
    wait_seconds,
)


@pytest.mark.parametrize(
    ("status", "body", "kind", "words"),
    [
        (403, "ACL not found", errors.ConsulACLDenied, "token"),
        (404, "", errors.ConsulNotFound, "404"),
        (400, "bad", errors.ConsulBadRequest, "400"),
        (500, "No cluster leader", errors.ConsulNoLeader, "no cluster leader"),
        (503, "overloaded", errors.ConsulServerError, "503"),
        (418, "teapot", errors.ConsulError, "418"),
    ],
)
def test_error_for_status(status, body, kind, words):
    error = errors.error_for_status(status, body, "reading key 'x'", "http://h:8500")
    assert error.__class__ is kind  # the exact class, not a parent
    assert error.status == status
    assert words in error.message and "reading key 'x' failed" in error.message and "http://h:8500" in error.message


def test_split_status():
    assert errors.split_status("500 No cluster leader") == (500, "No cluster leader")
    assert errors.split_status("something else") == (None, "something else")


@pytest.mark.parametrize("key", ["app/config", "a", "folder/", "with space/ok", "unicode/ключ"])
def test_valid_kv_keys(key):
    assert check_kv_key(key) == key


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("/app", "starts with '/'"),
        ("a//b", "empty path segment"),
        ("a/../b", "'.' or '..'"),
        ("./a", "'.' or '..'"),
        ("a\nb", "control character"),
        ("", "empty"),
        (None, "must be a string"),
    ],
)
def test_malformed_kv_keys(key, words):
    with pytest.raises(errors.ConsulInvalidArgument, match="KV key") as caught:
        check_kv_key(key)
    assert words in caught.value.message


def test_empty_key_allowed_for_a_whole_tree_read():
    assert check_kv_key("", allow_empty=True) == ""


def test_names_and_indexes():
    assert check_name("service", "web") == "web"
    for bad in ("", "a/b", None):
        with pytest.raises(errors.ConsulInvalidArgument):
            check_name("service", bad)
    assert check_index("12") == 12
    with pytest.raises(errors.ConsulInvalidArgument):
        check_index(-1)


def test_durations():
    assert wait_seconds("30s") == 30 and wait_seconds("500ms") == 0.5 and wait_seconds(5) == 5
    with pytest.raises(errors.ConsulInvalidArgument, match="10m"):
        wait_seconds("11m")
    with pytest.raises(errors.ConsulInvalidArgument):
        wait_seconds("soon")
    assert go_duration("1m30s") == 90 and go_duration("10") == 10 and go_duration("250ms") == 0.25
    with pytest.raises(errors.ConsulInvalidArgument):
        go_duration("10 s")
