# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load balancer's own service definition (templates/consul-service.json.j2) as the role renders
it, checked by `consul validate` as the role's task does: with many upstreams, the names in the
service's meta stay within Consul's 512 characters a value."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from load_balancer_files import SUPPORT, render_role_template, run_once_only

sys.path.insert(0, str(SUPPORT))
from toolchain import cached_binary

CONSUL_META_VALUE_MAX = 512


def rendered(tmp_path: Path, names: list[str]) -> dict:
    run_once_only()
    services = [{"name": name, "consul_services": [name], "listen": 18000 + i} for i, name in enumerate(names)]
    dest = render_role_template(
        "consul-service.json.j2", tmp_path / "load-balancer.json", {"load_balancer_services": services}, tmp_path
    )
    return json.loads(dest.read_text())


def consul_validate(tmp_path: Path, definition: Path) -> subprocess.CompletedProcess:
    """consul validate on a minimal agent configuration plus the definition, as the role's task runs it."""
    consul = cached_binary("consul", "CONSUL_VERSION", "CONSUL_BIN")
    agent = tmp_path / "consul.json"
    agent.write_text(
        json.dumps({"data_dir": str(tmp_path / "data"), "bind_addr": "127.0.0.1", "enable_local_script_checks": True})
    )
    return subprocess.run(
        [consul, "validate", "-quiet", "-config-format=json", str(agent), str(definition)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("count", [1, 3], ids=["one", "three"])
def test_a_few_upstreams_are_all_named_in_the_meta(tmp_path, count):
    names = [f"web-{i}" for i in range(count)]
    (lb, _exporter) = rendered(tmp_path, names)["services"]
    assert lb["meta"] == {"upstream_count": str(count), "upstreams": ",".join(names)}


def test_fifty_long_upstream_names_fit_consuls_meta_limit_and_pass_consul_validate(tmp_path):
    names = [f"bench-upstream-{i:02d}" for i in range(50)]
    definition = rendered(tmp_path, names)
    (lb, _exporter) = definition["services"]
    meta = lb["meta"]
    assert len(meta["upstreams"]) <= CONSUL_META_VALUE_MAX, len(meta["upstreams"])
    shown, _sep, more = meta["upstreams"].rpartition(",+")
    assert more.endswith(" more") and int(more.split()[0]) == 50 - len(shown.split(","))
    assert shown.split(",") == names[: len(shown.split(","))], "whole names, in order"
    assert meta["upstream_count"] == "50"
    result = consul_validate(tmp_path, tmp_path / "load-balancer.json")
    assert result.returncode == 0, result.stdout + result.stderr
