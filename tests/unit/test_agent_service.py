# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""agent_service's desired/current comparison."""

import pytest

from ansible_collections.dockyard.discovery.plugins.module_utils._agent_service import (
    FINGERPRINT_KEY,
    current_view,
    desired_view,
    registration_body,
)
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulInvalidArgument

HTTP = {"http": "http://127.0.0.1:8080/health", "interval": "1m", "timeout": "2s"}
TTL = {"ttl": "30s", "name": "heartbeat"}


def body(checks, **overrides):
    args = {
        "name": "web",
        "service_id": None,
        "address": None,
        "port": 8080,
        "tags": ["v1"],
        "meta": {},
        "enable_tag_override": False,
    }
    args.update(overrides)
    return registration_body(checks=checks, **args)


def agent_state(registration):
    """What /v1/agent/services and /v1/agent/checks report after `registration` (as seen on Consul 1.22)."""
    service = {
        "ID": registration["ID"],
        "Service": registration["Name"],
        "Tags": registration["Tags"],
        "Meta": registration["Meta"],
        "Port": registration["Port"],
        "Address": registration["Address"],
        "EnableTagOverride": registration["EnableTagOverride"],
        "Weights": {"Passing": 1, "Warning": 1},
    }
    checks = {}
    for check in registration.get("Checks", []):
        kind = "http" if "HTTP" in check else "tcp" if "TCP" in check else "ttl"
        checks[check["CheckID"]] = {
            "CheckID": check["CheckID"],
            "Name": check["Name"],
            "ServiceID": registration["ID"],
            "Type": kind,
            # Consul prints durations in Go's format
            "Interval": {"1m": "1m0s"}.get(check.get("Interval"), check.get("Interval", "")),
            "Timeout": check.get("Timeout", ""),
            "Notes": check.get("Notes", ""),
        }
    checks["other"] = {"CheckID": "other", "ServiceID": "someone-else", "Type": "ttl"}
    return service, checks


def test_default_check_ids_and_names_follow_consul():
    registration = body([HTTP, TTL])
    assert [c["CheckID"] for c in registration["Checks"]] == ["service:web:1", "service:web:2"]
    assert registration["Checks"][0]["Name"] == "Service 'web' check"
    assert body([TTL])["Checks"][0]["CheckID"] == "service:web"


def test_registered_state_compares_equal_to_the_desired_one():
    registration = body([HTTP, TTL])
    service, checks = agent_state(registration)
    assert current_view(service, checks) == desired_view(registration)


def test_a_changed_check_url_is_a_change_though_the_agent_does_not_show_urls():
    service, checks = agent_state(body([HTTP]))
    changed = body([dict(HTTP, http="http://127.0.0.1:9090/health")])
    assert current_view(service, checks) != desired_view(changed)
    assert changed["Meta"][FINGERPRINT_KEY] != service["Meta"][FINGERPRINT_KEY]


@pytest.mark.parametrize("field", [{"port": 9090}, {"tags": ["v2"]}, {"meta": {"a": "b"}}, {"address": "10.0.0.1"}])
def test_service_field_changes_are_changes(field):
    service, checks = agent_state(body([HTTP]))
    assert current_view(service, checks) != desired_view(body([HTTP], **field))


def test_absent_service_has_no_view():
    assert current_view(None, {}) is None


@pytest.mark.parametrize(
    ("checks", "words"),
    [
        ([{"http": "http://x/", "tcp": "x:1"}], "exactly one"),
        ([{}], "exactly one"),
        ([{"ttl": "30s", "interval": "10s"}], "does not apply"),
        ([{"tcp": "nohostport"}], "host:port"),
        ([{"ttl": "soon"}], "not a duration"),
        ([dict(HTTP, id="a"), dict(TTL, id="a")], "unique"),
    ],
)
def test_invalid_checks(checks, words):
    with pytest.raises(ConsulInvalidArgument, match=words):
        body(checks)


def test_reserved_meta_key():
    with pytest.raises(ConsulInvalidArgument, match="reserved"):
        body([], meta={FINGERPRINT_KEY: "x"})
