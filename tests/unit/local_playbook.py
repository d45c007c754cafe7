"""Run a small playbook on the controller as a role's tasks would, for tests of a role's files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def role_play(role: Path, tasks: str) -> str:
    """A play on every host of the inventory, locally, with a role's defaults and vars loaded as
    the role has them, and `tasks` (YAML list items indented by four spaces) as its tasks."""
    return (
        "- hosts: all\n  connection: local\n  gather_facts: false\n  vars_files:\n"
        f"    - {role}/defaults/main.yml\n    - {role}/vars/main.yml\n  tasks:\n{tasks}"
    )


def run_local_playbook(text: str, workdir: Path, extra_vars: dict, host: str = "localhost", name: str = "render"):
    """Write `text` as a playbook in workdir and run it on `host` (a local connection), with
    extra_vars on top of the role's own; fails the test with the output when the play fails."""
    playbook = workdir / f"{name}.yml"
    playbook.write_text(text)
    variables = workdir / f"vars-{name}.json"
    variables.write_text(json.dumps(extra_vars))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(workdir / "ansible-local"),
        ANSIBLE_REMOTE_TEMP=str(workdir / "ansible-remote"),
    )
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", f"{host},", str(playbook), "-e", f"@{variables}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"{name}: {result.stdout[-3000:]}{result.stderr[-2000:]}"
    return result
