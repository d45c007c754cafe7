"""--check --diff on the converged secure lab (right after the upgrade, so the pinned releases run),
with an operator's policy edited in the inventory: the one change the whole run predicts, on every
host and in every role, is that policy's diff, and nothing is written. So every other task reports
no change on a converged lab: every role's Consul API work goes through the collection's modules,
which compare before they write. (One run proves both: a second, unedited --check --diff run cost
100 s of make test and could only repeat that every other task reports no change. The policy task's
own no-change check mode is tests/integration/test_acl_modules.py's.)"""

from __future__ import annotations

import json

from labkit.ansible_runner import ansible_playbook
from labkit.secure import management_token

ORIGINAL = 'key_prefix "app/" { policy = "read" }\n'
EDITED = ORIGINAL + 'key_prefix "shared/" { policy = "read" }\n'
POLICY_TASK = "Bring the operator's ACL policies in line with consul_acl_policies"


def stored_rules(api) -> str:
    response = api.call("GET", "/v1/acl/policy/name/app-config-read", management_token())
    assert response.status_code == 200, response.text
    return response.json()["Rules"]


def check_diff(*extra: str) -> list[tuple[str, str, dict]]:
    """Run the site playbook with --check --diff; every change it predicts: (task, host, diff)."""
    result = ansible_playbook(
        "dockyard.discovery.site", "--check", "--diff", *extra, env={"ANSIBLE_STDOUT_CALLBACK": "json"}
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert set(report["stats"]) == {"secure1", "secure2", "secure3"}
    assert all(s["failures"] == s["unreachable"] == 0 for s in report["stats"].values()), report["stats"]
    changes = []
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, outcome in task["hosts"].items():
                for item in outcome.get("results") or [outcome]:
                    if item.get("changed"):
                        changes.append((task["task"]["name"], host, item.get("diff")))
    assert sum(s["changed"] for s in report["stats"].values()) == len({(t, h) for t, h, _d in changes})
    return changes


def test_check_diff_on_the_converged_lab_predicts_only_the_edited_policy(api):
    assert stored_rules(api) == ORIGINAL
    edited = {
        "consul_acl_policies": [
            {"name": "app-config-read", "description": "Reads of app/ in the key/value store", "rules": EDITED}
        ]
    }
    [(task, _host, diff)] = check_diff("-e", json.dumps(edited))
    assert task.endswith(POLICY_TASK), task
    before, after = diff["before"], diff["after"]
    assert (before["rules"], after["rules"]) == (ORIGINAL, EDITED)
    assert {k: v for k, v in before.items() if k != "rules"} == {k: v for k, v in after.items() if k != "rules"}
    assert stored_rules(api) == ORIGINAL  # check mode wrote nothing
