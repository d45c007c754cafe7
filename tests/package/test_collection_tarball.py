# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection as the README installs it: `ansible-galaxy collection build`, installed into a
clean path, then a playbook whose lookup runs from that installed copy against a real agent."""

from __future__ import annotations

import json
import os
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import REPO, run

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def installed_collection(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("galaxy")
    built = run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(work), str(REPO)])
    assert built.returncode == 0, built.stderr
    [tarball] = work.glob("dockyard-discovery-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    # Shipped tests run from an installed copy; the others need this repository's lab, so stay out.
    shipped_tests = {n for n in names if n.startswith("tests/")}
    assert shipped_tests == {"tests/sanity"} | {f"tests/sanity/ignore-{v}.txt" for v in ("2.19", "2.20", "2.21")}
    assert "LICENSE" in names and "CHANGELOG.md" in names
    assert not [
        n for n in names if n.split("/")[0] in ("python", "lab", "molecule", "bench", "build") or n == "pyproject.toml"
    ]
    # --no-deps: community.docker and community.crypto come with the ansible package here (no Galaxy server).
    collections = work / "collections"
    installed = run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p", str(collections), str(tarball)]
    )
    assert installed.returncode == 0, installed.stderr
    return collections


def ansible_env(collections: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "CONSUL_"))}
    # The installed copy only: not this checkout's build/collections.
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    env["PYTHONPATH"] = ""
    return env


def test_a_playbook_lookup_runs_from_the_installed_copy(installed_collection, agent, tmp_path):
    playbook, result = tmp_path / "lookup.yml", tmp_path / "instances.txt"
    playbook.write_text(
        f"""- hosts: localhost
  gather_facts: false
  tasks:
    - name: The healthy consul instances, from the installed collection's lookup
      ansible.builtin.copy:
        content: "{{{{ lookup('dockyard.discovery.service', 'consul', host='127.0.0.1', port={agent.http_port}) }}}}"
        dest: {result}
        mode: "0600"
"""
    )
    env = ansible_env(installed_collection)
    env.update(ANSIBLE_LOCALHOST_WARNING="false")
    argv = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)]
    played = run([*argv, "-e", f"ansible_python_interpreter={sys.executable}"], env=env)
    assert played.returncode == 0, played.stdout[-2000:] + played.stderr[-2000:]
    raw = agent.http("GET", "/v1/health/service/consul?passing=1")
    expected = [f"{e['Service']['Address'] or e['Node']['Address']}:{e['Service']['Port']}" for e in raw]
    assert expected and result.read_text() == ",".join(expected)
    where = run([str(BIN / "ansible-doc"), "-t", "lookup", "--json", "dockyard.discovery.service"], env=env)
    assert where.returncode == 0, where.stderr
    [doc] = json.loads(where.stdout).values()
    assert doc["doc"]["filename"].startswith(str(installed_collection))
