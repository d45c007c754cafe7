# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One reconcile pass on a Docker host, with its I/O: what registrator should have registered for the
running containers against what the local agent holds, and, when asked, the fix.

The registrator_reconcile module and the registrator role's timer command
(roles/registrator/files/registrator_reconcile.py) both run this, so that a playbook and the timer
decide alike. The decisions are the pure _registrator_rules and _registrator_reconcile; this adds
the Docker and Consul calls around them. No Ansible imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._consul_errors import ConsulNotFound
from ._docker_api import DEFAULT_API_TIMEOUT, DockerUnavailable, connect
from ._registrator_reconcile import expected_view, plan_reconcile, registered_view
from ._registrator_rules import SERVICE_ID_PATTERN, RegistratorOptions, registered_by, services_for_container


@dataclass
class RepairResult:
    """What one pass found (and, with changed, fixed or would fix in check mode)."""

    expected: list  # ExpectedService, every service the running containers produce
    missing: list  # ExpectedService the agent does not have
    outdated: list  # ExpectedService the agent has with other values
    stale: list  # IDs of registrator-made services no running container produces
    in_sync: list  # IDs, sorted
    containers: int  # running containers inspected
    changed: bool
    before: dict  # {service ID: registered_view} of the registrator-made and expected services
    after: dict  # the same once fixed (before itself when not fixing)
    kept: list = field(default_factory=list)  # stale-shaped IDs kept for -deregister on-success

    @property
    def drift(self) -> int:
        return len(self.missing) + len(self.outdated) + len(self.stale)

    def summary(self) -> dict:
        """The registrator_reconcile module's result keys (diff aside)."""
        return {
            "changed": self.changed,
            "expected": sorted(s.id for s in self.expected),
            "missing": [s.registration() for s in self.missing],
            "outdated": [s.registration() for s in self.outdated],
            "stale": list(self.stale),
            "in_sync": sorted(self.in_sync),
            "containers": self.containers,
        }


def _listing_failed(error: DockerUnavailable) -> DockerUnavailable:
    error.message = f"listing the running containers failed: {error.message}."
    return error


def docker_api(docker_host: str, timeout: float = DEFAULT_API_TIMEOUT):
    """The DockerAPI for repair(). Raises DockerUnavailable, which callers report as
    error=docker_unavailable: a Docker failure is not the agent's."""
    try:
        return connect(docker_host, timeout=timeout)
    except DockerUnavailable as error:
        raise _listing_failed(error) from None


def running_containers(api) -> list:
    """`docker inspect` of every running container. Raises DockerUnavailable."""
    try:
        inspected = (api.inspect_container(summary["Id"]) for summary in api.containers())
        # None: removed between the listing and the inspection
        return [inspect for inspect in inspected if inspect is not None]
    except DockerUnavailable as error:
        raise _listing_failed(error) from None


def failed_on_its_own(inspect: dict | None) -> bool:
    """registrator's -deregister on-success rule: it keeps the entry of a container that exited with a
    non-zero code by itself; a removed container, a zero code or a signal (code 128+n) lose theirs."""
    state = (inspect or {}).get("State") or {}
    if inspect is None or state.get("Running"):
        return False
    code = int(state.get("ExitCode") or 0)
    return code != 0 and not code & 0x80


def _kept_failures(api, stale: list) -> list:
    """The stale IDs whose container exited by itself with an error (-deregister on-success keeps them)."""
    kept = []
    for service_id in stale:
        container = SERVICE_ID_PATTERN.match(service_id).group(2)
        if failed_on_its_own(api.inspect_container(container)):
            kept.append(service_id)
    return kept


def repair(
    client,
    api,
    options: RegistratorOptions,
    fix: bool = False,
    check_mode: bool = False,
    keep_failed: bool = False,
) -> RepairResult:
    """One pass over the agent of `client` (a ConsulClient) and the Docker engine of `api` (docker_api()):
    the plan and, with fix, its application (unless check_mode): deregister the stale, register the
    missing and the outdated.

    keep_failed follows registrator's -deregister on-success: the entries of containers that failed
    by themselves are not stale. Raises DockerUnavailable or a ConsulError.
    """
    # The agent first, the containers second: a container that starts in between is then missing (and
    # registered twice, alike) rather than taken for stale, which would deregister what registrator
    # has just registered for it.
    agent_services = client.agent_services()
    containers = running_containers(api)
    expected = [service for inspect in containers for service in services_for_container(inspect, options)]
    plan = plan_reconcile(expected, agent_services, options.hostname)
    kept = _kept_failures(api, plan.stale) if keep_failed else []
    stale = [service_id for service_id in plan.stale if service_id not in kept]

    changed = bool(plan.missing or plan.outdated or stale) and fix
    if changed and not check_mode:
        for service_id in stale:
            try:
                client.deregister_service(service_id)
            except ConsulNotFound:
                pass  # gone since it was listed: the wanted state
        for service in plan.missing + plan.outdated:
            client.register_service(service.registration())

    before = {sid: registered_view(svc) for sid, svc in agent_services.items() if registered_by(sid, options.hostname)}
    for service in expected:
        if service.id in agent_services:
            before[service.id] = registered_view(agent_services[service.id])
    if fix:
        after = {s.id: expected_view(s) for s in expected}
        after.update({service_id: before[service_id] for service_id in kept})
    else:
        after = before
    return RepairResult(
        expected=expected,
        missing=plan.missing,
        outdated=plan.outdated,
        stale=stale,
        in_sync=plan.in_sync,
        containers=len(containers),
        changed=changed,
        before=before,
        after=after,
        kept=kept,
    )
