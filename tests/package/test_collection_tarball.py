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


def readme_block(language: str, after: str) -> str:
    """The first ```language block of README.md after the line holding `after`."""
    text = (REPO / "README.md").read_text()
    return text.split(after, 1)[1].split(f"```{language}\n", 1)[1].split("```", 1)[0]


README_ANSIBLE_CFG = readme_block("ini", "tell Ansible to look there")
# The README's install command's flags, as given there.
README_INSTALL_FLAGS = (
    readme_block("sh", "install it next to your playbooks")
    .split("ansible-galaxy collection install ", 1)[1]
    .split(" dockyard-discovery-", 1)[0]
    .split()
)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A playbook directory with the tarball installed the way the README says."""
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
    # As the README says: installed next to the playbooks, in ./collections, found through
    # ansible.cfg's collections_path. --no-deps: community.docker and community.crypto come with the
    # ansible package here (no Galaxy server).
    project = work / "project"
    project.mkdir()
    (project / "ansible.cfg").write_text(README_ANSIBLE_CFG)
    installed = run(
        [str(BIN / "ansible-galaxy"), "collection", "install", *README_INSTALL_FLAGS, "--no-deps", str(tarball)],
        cwd=project,
        env=ansible_env(),
    )
    assert installed.returncode == 0, installed.stderr
    assert (project / "collections" / "ansible_collections" / "dockyard" / "discovery" / "MANIFEST.json").is_file()
    return project


def ansible_env() -> dict:
    # Nothing points at this checkout: no ANSIBLE_COLLECTIONS_PATH (build/collections), no PYTHONPATH.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "CONSUL_", "PYTHON"))}
    env["ANSIBLE_LOCALHOST_WARNING"] = "false"
    return env


def test_a_playbook_lookup_runs_from_the_installed_copy(project, agent):
    assert "collections_path = ./collections" in README_ANSIBLE_CFG
    playbook, result = project / "lookup.yml", project / "instances.txt"
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
    argv = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "lookup.yml"]
    played = run([*argv, "-e", f"ansible_python_interpreter={sys.executable}"], env=ansible_env(), cwd=project)
    assert played.returncode == 0, played.stdout[-2000:] + played.stderr[-2000:]
    raw = agent.http("GET", "/v1/health/service/consul?passing=1")
    expected = [f"{e['Service']['Address'] or e['Node']['Address']}:{e['Service']['Port']}" for e in raw]
    assert expected and result.read_text() == ",".join(expected)
    where = run(
        [str(BIN / "ansible-doc"), "-t", "lookup", "--json", "dockyard.discovery.service"],
        env=ansible_env(),
        cwd=project,
    )
    assert where.returncode == 0, where.stderr
    [doc] = json.loads(where.stdout).values()
    assert doc["doc"]["filename"].startswith(str(project / "collections"))
