"""Ansible run by the verifiers against the lab: ansible-playbook, ansible and ansible-inventory
with the lab's environment (molecule's, without colours so that output can be matched), the play
recap, one-role playbooks, and the hosts of the scenario's inventory."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from testinfra.utils.ansible_runner import AnsibleRunner

SCENARIO = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
INVENTORY_FILE = os.environ["MOLECULE_INVENTORY_FILE"]
# The directory, as molecule passes it: every file in it is read as inventory.
INVENTORY = Path(INVENTORY_FILE).parent
RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def ansible(*argv: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """ansible-playbook, ansible or ansible-inventory (argv[0]) with the lab's environment."""
    return subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", **(env or {})},
    )


def ansible_playbook(
    playbook: Path, *args: str, env: dict | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """ansible-playbook on the scenario's inventory."""
    return ansible("ansible-playbook", "-i", str(INVENTORY), str(playbook), *args, env=env, timeout=timeout)


def flat(output: str) -> str:
    """Playbook output with every run of whitespace made one space, for matching messages: the YAML
    callback folds long ones over several lines."""
    return " ".join(output.split())


def recap(output: str) -> dict:
    """The play recap: {host: (changed, unreachable, failed)}."""
    return {host: tuple(map(int, counts)) for host, *counts in RECAP.findall(output)}


def role_playbook(tmp_path: Path, role: str, hosts: str) -> Path:
    """A playbook that applies one of the collection's roles to hosts, written into tmp_path."""
    playbook = tmp_path / f"{role}.yml"
    # lab_groups.yml first, as in converge.yml: with DOCKYARD_ALL_SERVERS the nodes stay servers.
    # Only molecule/default has one.
    lab_groups = SCENARIO / "lab_groups.yml"
    imports = f"- import_playbook: {lab_groups}\n" if lab_groups.exists() else ""
    playbook.write_text(
        imports
        + f"- hosts: {hosts}\n  become: true\n  gather_subset: [network]\n  roles:\n    - dockyard.discovery.{role}\n"
    )
    return playbook


def inventory_hosts() -> list[str]:
    """Every host of the scenario's inventory, by name."""
    return AnsibleRunner(INVENTORY_FILE).get_hosts("all")
