# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read, compare, apply: the one way the declarative modules (ACL objects, checks, ...) decide.

A module reads the current object and normalises it to a plain dict of the options it manages;
`plan` says what would change. Options the user left unset (None) are not managed: they keep
their current value. The module applies the plan only outside check mode, so that check mode
runs every read and every validation the real run does. No Ansible imports.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    operation: str | None  # create, update, remove, or None when nothing changes
    before: dict | None
    after: dict | None

    @property
    def changed(self) -> bool:
        return self.operation is not None

    def diff(self) -> dict:
        return {"before": self.before or {}, "after": self.after or {}}


def plan(current: dict | None, wanted: dict | None) -> Plan:
    """wanted None means absent; a value of None inside wanted means "keep what is there"."""
    if wanted is None:
        return Plan("remove" if current is not None else None, current, None)
    given = {name: value for name, value in wanted.items() if value is not None}
    if current is None:
        return Plan("create", None, given)
    after = {**current, **given}
    return Plan("update" if after != current else None, current, after)


def result(plan_: Plan, diff_mode: bool, **values) -> dict:
    """The module result: changed, operation, the given values, and the diff when asked for."""
    outcome = {"changed": plan_.changed, "operation": plan_.operation, **values}
    if diff_mode:
        outcome["diff"] = plan_.diff()
    return outcome
