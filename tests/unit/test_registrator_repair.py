# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One reconcile pass (_registrator_repair.repair), against a fake agent and a fake Docker API: what it
reads first, what it applies and when not, -deregister on-success, and the module's result keys."""

from __future__ import annotations

import yaml

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulNotFound
from ansible_collections.dockyard.discovery.plugins.module_utils._registrator_repair import (
    failed_on_its_own,
    repair,
)
from ansible_collections.dockyard.discovery.plugins.module_utils._registrator_rules import RegistratorOptions
from ansible_collections.dockyard.discovery.plugins.modules import registrator_reconcile

OPTIONS = RegistratorOptions(hostname="docker1", explicit=True)


def container(name, host_port, running=True, exit_code=0):
    """A `docker inspect` document of a container with SERVICE_NAME=<name>, 8080 published on 10.0.0.5."""
    return {
        "Id": f"{name}-id",
        "Name": f"/{name}",
        "Config": {"Image": "demo:1", "Env": [f"SERVICE_NAME={name}"], "Labels": {}, "ExposedPorts": {"8080/tcp": {}}},
        "HostConfig": {"NetworkMode": "default"},
        "NetworkSettings": {
            "IPAddress": "172.17.0.2",
            "Ports": {"8080/tcp": [{"HostIp": "10.0.0.5", "HostPort": str(host_port)}]},
            "Networks": {},
        },
        "State": {"Running": running, "ExitCode": exit_code},
    }


def registered(name, host_port, **changes):
    """The agent's entry for what registrator registers for container(name, host_port)."""
    entry = {"ID": f"docker1:{name}:8080", "Service": name, "Address": "10.0.0.5", "Port": host_port, "Tags": []}
    entry.update(changes)
    return entry


class FakeAgent:
    def __init__(self, services, calls, gone=()):
        self.services = dict(services)
        self.calls = calls
        self.gone = set(gone)

    def agent_services(self):
        self.calls.append(("agent services",))
        return {sid: dict(entry) for sid, entry in self.services.items()}

    def register_service(self, registration):
        self.calls.append(("register", registration["ID"]))
        self.services[registration["ID"]] = registration

    def deregister_service(self, service_id):
        self.calls.append(("deregister", service_id))
        del self.services[service_id]
        if service_id in self.gone:  # deregistered by someone else since the listing
            raise ConsulNotFound(f"no service with ID {service_id!r}", 404)


class FakeDocker:
    """The running containers, and stopped ones that only an inspection by name finds."""

    def __init__(self, running, stopped, calls):
        self.running = {c["Id"]: c for c in running}
        self.by_name = {c["Name"].lstrip("/"): c for c in running + stopped}
        self.calls = calls

    def containers(self):
        self.calls.append(("docker ps",))
        return [{"Id": container_id} for container_id in self.running]

    def inspect_container(self, container):
        self.calls.append(("inspect", container))
        return self.running.get(container) or self.by_name.get(container)


def drifted(stopped=(), gone=()):
    """web in sync, api outdated (wrong port), db missing, old and crashed left behind, and one by hand."""
    calls = []
    running = [container("web", 30001), container("api", 30002), container("db", 30003)]
    agent = FakeAgent(
        {
            "docker1:web:8080": registered("web", 30001),
            "docker1:api:8080": registered("api", 1),
            "docker1:old:8080": registered("old", 30004),
            "docker1:crashed:8080": registered("crashed", 30005),
            "by-hand": {"ID": "by-hand", "Service": "by-hand", "Port": 80},
        },
        calls,
        gone,
    )
    return agent, FakeDocker(running, list(stopped), calls), calls


def test_a_fix_deregisters_the_stale_and_registers_the_missing_and_outdated():
    agent, docker, calls = drifted(gone=["docker1:old:8080"])
    result = repair(agent, docker, OPTIONS, fix=True)
    assert (result.changed, result.drift, result.containers) == (True, 4, 3)
    assert result.stale == ["docker1:crashed:8080", "docker1:old:8080"]
    assert [s.id for s in result.missing] == ["docker1:db:8080"]
    assert [s.id for s in result.outdated] == ["docker1:api:8080"]
    assert result.in_sync == ["docker1:web:8080"]
    # The agent is read before the containers are listed (see repair's comment); "old" was gone
    # already (ConsulNotFound), which is what the pass wanted.
    assert calls[:2] == [("agent services",), ("docker ps",)]
    assert [c for c in calls if c[0] in ("register", "deregister")] == [
        ("deregister", "docker1:crashed:8080"),
        ("deregister", "docker1:old:8080"),
        ("register", "docker1:db:8080"),
        ("register", "docker1:api:8080"),
    ]
    assert sorted(agent.services) == ["by-hand", "docker1:api:8080", "docker1:db:8080", "docker1:web:8080"]
    assert agent.services["docker1:api:8080"]["Port"] == 30002
    assert set(result.after) == {"docker1:api:8080", "docker1:db:8080", "docker1:web:8080"}
    assert "docker1:old:8080" in result.before and "by-hand" not in result.before


def test_a_report_or_check_mode_changes_nothing():
    for fix, check_mode in ((False, False), (True, True)):
        agent, docker, calls = drifted()
        result = repair(agent, docker, OPTIONS, fix=fix, check_mode=check_mode)
        assert result.changed is fix
        assert result.drift == 4
        assert not [c for c in calls if c[0] in ("register", "deregister")]
        assert (result.after is result.before) is not fix


def test_in_sync_is_no_change():
    calls = []
    agent = FakeAgent({"docker1:web:8080": registered("web", 30001)}, calls)
    result = repair(agent, FakeDocker([container("web", 30001)], [], calls), OPTIONS, fix=True)
    assert (result.changed, result.drift, result.in_sync) == (False, 0, ["docker1:web:8080"])


def test_on_success_keeps_the_entry_of_a_container_that_failed_by_itself():
    stopped = [container("crashed", 30005, running=False, exit_code=3), container("old", 30004, running=False)]
    agent, docker, _calls = drifted(stopped=stopped)
    result = repair(agent, docker, OPTIONS, fix=True, keep_failed=True)
    assert result.kept == ["docker1:crashed:8080"]
    assert result.stale == ["docker1:old:8080"]  # exit code 0: registrator deregisters it too
    assert "docker1:crashed:8080" in agent.services and "docker1:old:8080" not in agent.services
    assert result.after["docker1:crashed:8080"] == result.before["docker1:crashed:8080"]


def test_what_on_success_keeps():
    assert failed_on_its_own(container("x", 1, running=False, exit_code=3))
    assert not failed_on_its_own(container("x", 1, running=False, exit_code=137))  # docker kill
    assert not failed_on_its_own(container("x", 1, running=False, exit_code=0))
    assert not failed_on_its_own(None)  # removed
    assert not failed_on_its_own(container("x", 1, running=True))


def test_the_summary_has_the_module_result_keys():
    agent, docker, _calls = drifted()
    summary = repair(agent, docker, OPTIONS).summary()
    assert set(summary) == set(yaml.safe_load(registrator_reconcile.RETURN)) | {"changed"}
    assert summary["expected"] == ["docker1:api:8080", "docker1:db:8080", "docker1:web:8080"]
    assert summary["missing"] == [
        {"ID": "docker1:db:8080", "Name": "db", "Address": "10.0.0.5", "Port": 30003, "Tags": []}
    ]
