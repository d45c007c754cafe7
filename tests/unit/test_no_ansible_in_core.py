# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The core client imports and works with every `ansible` import blocked."""

import subprocess
import sys

from conftest import COLLECTIONS

PROBE = """
import sys

class NoAnsible:
    def find_spec(self, name, path=None, target=None):
        if name == "ansible" or name.startswith("ansible."):
            raise ImportError("ansible is blocked in this test")
        return None

sys.meta_path.insert(0, NoAnsible())
from ansible_collections.dockyard.discovery.plugins.module_utils import (
    _agent_service, _consul_client, _consul_errors, _consul_options, _consul_results, _docker_api,
    _registrator_health, _registrator_reconcile, _registrator_repair, _registrator_rules,
)
client = _consul_client.ConsulClient.from_environment(environ={"CONSUL_HTTP_ADDR": "127.0.0.1:1"})
try:
    client.leader()
except _consul_errors.ConsulConnectionError as error:
    print(error.kind)
"""


def test_core_imports_and_runs_without_ansible():
    process = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={"PYTHONPATH": str(COLLECTIONS)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "unreachable"
