# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory group names."""

import pytest

from ansible_collections.dockyard.discovery.plugins.plugin_utils._inventory_groups import group_name, node_groups


@pytest.mark.parametrize(
    ("prefix", "name", "expected"),
    [
        ("", "svc1", "svc1"),
        ("", "Web_2", "Web_2"),
        ("", "web-api", "web_api"),
        ("", "api.v2", "api_v2"),
        ("", "1web", "_1web"),
        ("", "all", "all_"),
        ("tag_", "blue/green", "tag_blue_green"),
        ("dc_", "eu-west-1", "dc_eu_west_1"),
    ],
)
def test_group_name(prefix, name, expected):
    assert group_name(prefix, name) == expected


def test_node_groups():
    prefixes = {"service": "", "tag": "tag_", "datacenter": "dc_", "health": "health_"}
    instances = [{"service": "svc1", "tags": ["v1", "blue"]}, {"service": "web-api", "tags": ["v1"]}]
    assert node_groups({"datacenter": "dc1"}, instances, "passing", prefixes) == [
        "svc1",
        "tag_v1",
        "tag_blue",
        "web_api",
        "dc_dc1",
        "health_passing",
    ]


def test_only_the_kinds_asked_for():
    prefixes = {"service": ""}
    assert node_groups({"datacenter": "dc1"}, [{"service": "svc1", "tags": ["x"]}], "critical", prefixes) == ["svc1"]
