"""_registrator_rules.py, the prediction behind registrator_reconcile, checked against the real
gliderlabs/registrator: a varied set of containers runs under registrator, and what the rules predict
must be what landed in the agent, field by field (ID, name, address, port, tags in order, meta and
the check).

Two registrator runs cover the flags that change the outcome: published ports with -ip, -tags and
-useIpFromLabel, then -internal with -explicit. The check fields compared are those the agent shows:
its type, interval and timeout, the initial status of a TTL check, and the URL or address an HTTP or
TCP check probes (from the output of its first run). Consul does not show a check's
DeregisterCriticalServiceAfter or TTL length, so those two are left to the unit tests.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
from conftest import wait_for

from ansible_collections.dockyard.discovery.plugins.module_utils._registrator_rules import (
    RegistratorOptions,
    services_for_container,
)

DEMO = os.environ["DOCKYARD_DEMO_IMAGE"]
REGISTRATOR = os.environ["DOCKYARD_REGISTRATOR_IMAGE"]
RUN = uuid.uuid4().hex[:6]


def containers_under_test() -> list[dict]:
    """(name suffix, docker run keyword arguments): one case per rule registrator applies."""
    published = {"8080/tcp": None}
    return [
        # No SERVICE_NAME: the image's base name; dropped by -explicit.
        {"name": "plain", "ports": published},
        # Several published ports: one service per port, named <name>-<port>.
        {"name": "multi", "env": {"SERVICE_NAME": "multi", "LISTEN": ":80,:443,:8080"}, "ports": _ports(80, 443, 8080)},
        # Per-port names and tags (the 443 ones from labels), the generic tags elsewhere, one port ignored.
        {
            "name": "perport",
            "env": {
                "LISTEN": ":80,:443,:8080",
                "SERVICE_80_NAME": "web",
                "SERVICE_TAGS": "common",
                "SERVICE_8080_IGNORE": "1",
            },
            "labels": {"SERVICE_443_NAME": "secure", "SERVICE_443_TAGS": "tls,edge"},
            "ports": _ports(80, 443, 8080),
        },
        # A UDP port: the ID gets :udp and the service the udp tag; the unpublished 8080 is skipped.
        {"name": "udp", "env": {"SERVICE_NAME": "dns"}, "ports": {"5353/udp": None}},
        # SERVICE_ID replaces the <host>:<container>:<port> ID.
        {"name": "withid", "env": {"SERVICE_NAME": "custom", "SERVICE_ID": f"dytest-custom-{RUN}"}, "ports": published},
        # Checks: HTTP with method, interval and timeout; TCP; TTL with an initial status.
        {
            "name": "chkhttp",
            "env": {
                "SERVICE_NAME": "chk-http",
                "SERVICE_CHECK_HTTP": "/health",
                "SERVICE_CHECK_HTTP_METHOD": "HEAD",
                "SERVICE_CHECK_INTERVAL": "1s",
                "SERVICE_CHECK_TIMEOUT": "2s",
            },
            "ports": published,
        },
        {
            "name": "chktcp",
            "env": {"SERVICE_NAME": "chk-tcp", "SERVICE_CHECK_TCP": "true", "SERVICE_CHECK_INTERVAL": "1s"},
            "ports": published,
        },
        {
            "name": "chkttl",
            "env": {"SERVICE_NAME": "chk-ttl", "SERVICE_CHECK_TTL": "30s", "SERVICE_CHECK_INITIAL_STATUS": "passing"},
            "ports": published,
        },
        # Metadata from env and labels; a label wins over env for the same key.
        {
            "name": "meta",
            "env": {"SERVICE_NAME": "meta", "SERVICE_VERSION": "1.2.3", "SERVICE_REGION": "eu"},
            "labels": {"SERVICE_OWNER": "team-a", "SERVICE_REGION": "us"},
            "ports": published,
        },
        # Escaped commas in tags.
        {"name": "escaped", "env": {"SERVICE_NAME": "esc", "SERVICE_TAGS": "a\\,b,c"}, "ports": published},
        # -useIpFromLabel: the label's address, without its prefix length.
        {
            "name": "labelled",
            "env": {"SERVICE_NAME": "labelled"},
            "labels": {"dockyard.address": "10.1.2.3/24"},
            "ports": published,
        },
        # SERVICE_IGNORE: nothing at all.
        {"name": "ignored", "env": {"SERVICE_NAME": "ignored", "SERVICE_IGNORE": "true"}, "ports": published},
        # Exposed but not published: only -internal registers it.
        {"name": "hidden", "env": {"SERVICE_NAME": "hidden"}},
    ]


def _ports(*numbers: int) -> dict:
    return {f"{number}/tcp": None for number in numbers}


@pytest.fixture(scope="module")
def workload(docker_client):
    """The containers, started before registrator so that its first sync finds them all."""
    started = []
    try:
        for case in containers_under_test():
            started.append(
                docker_client.containers.run(
                    DEMO,
                    [case["name"]],
                    name=f"dytest-rules-{RUN}-{case['name']}",
                    environment=case.get("env", {}),
                    labels=case.get("labels", {}),
                    ports=case.get("ports", {}),
                    detach=True,
                )
            )
        yield [docker_client.api.inspect_container(container.id) for container in started]
    finally:
        for container in started:
            container.remove(force=True)


def run_registrator(docker_client, dev_agent, docker_bridge_ip, hostname: str, flags: list):
    container = docker_client.containers.run(
        REGISTRATOR,
        [*flags, f"consul://{docker_bridge_ip}:{dev_agent.http_port}"],
        name=f"dytest-registrator-{hostname}",
        hostname=hostname,
        volumes={"/var/run/docker.sock": {"bind": "/tmp/docker.sock", "mode": "rw"}},
        detach=True,
    )
    listening = wait_for(lambda: b"Listening for Docker events" in container.logs(), timeout=30)[0]
    assert listening, container.logs().decode()[-2000:]
    return container


def registered_by_run(dev_agent, hostname: str) -> dict:
    return {
        service_id: service
        for service_id, service in dev_agent.http("GET", "/v1/agent/services").items()
        if service_id.startswith(f"{hostname}:") or service_id == f"dytest-custom-{RUN}"
    }


def observed_check(dev_agent, service_id: str) -> dict:
    """The check the agent holds for a service, in the fields of a registration's Check."""
    check = dev_agent.http("GET", "/v1/agent/checks").get(f"service:{service_id}")
    if check is None:
        return {}
    observed = {"Type": check["Type"]}
    if check["Interval"]:
        observed["Interval"] = check["Interval"]
    if check["Timeout"]:
        observed["Timeout"] = check["Timeout"]
    if check["Type"] == "ttl":
        observed["Status"] = check["Status"]
    http = re.match(r"HTTP (\w+) (\S+):", check["Output"])
    if http:
        observed["Method"], observed["HTTP"] = http.groups()
    tcp = re.match(r"TCP connect (\S+):", check["Output"])
    if tcp:
        observed["TCP"] = tcp.group(1)
    return observed


def predicted_check(registration: dict) -> dict:
    check = dict(registration.get("Check") or {})
    if not check:
        return {}
    kind = next(k for k in ("HTTP", "TCP", "TTL", "GRPC") if k in check)
    predicted = {"Type": kind.lower(), **{k: v for k, v in check.items() if k in ("Interval", "Timeout")}}
    if kind == "HTTP":
        predicted.update(HTTP=check["HTTP"], Method=check.get("Method", "GET"))
    elif kind == "TCP":
        predicted["TCP"] = check["TCP"]
    elif kind == "TTL":
        predicted["Status"] = check.get("Status", "critical")
    return predicted


def landed_view(service: dict) -> dict:
    return {
        "Name": service["Service"],
        "Address": service["Address"],
        "Port": service["Port"],
        "Tags": service["Tags"] or [],
        "Meta": service["Meta"] or {},
    }


def predicted_view(registration: dict) -> dict:
    return {
        "Name": registration["Name"],
        "Address": registration["Address"],
        "Port": registration["Port"],
        "Tags": registration["Tags"],
        "Meta": registration.get("Meta", {}),
    }


@pytest.mark.parametrize(
    ("mode", "flags", "options"),
    [
        # -ip is the bridge gateway, where the published ports answer: the checks probe only lab addresses.
        (
            "published",
            ["-ip", "{bridge}", "-tags", "forced,also", "-useIpFromLabel", "dockyard.address", "-cleanup"],
            {"host_ip": "{bridge}", "force_tags": ("forced", "also"), "use_ip_from_label": "dockyard.address"},
        ),
        ("internal", ["-internal", "-explicit"], {"internal": True, "explicit": True}),
    ],
    ids=["published-ip-tags-label", "internal-explicit"],
)
def test_prediction_matches_what_registrator_registers(
    docker_client, dev_agent, docker_bridge_ip, workload, mode, flags, options
):
    hostname = f"{mode}-{RUN}"
    flags = [flag.format(bridge=docker_bridge_ip) for flag in flags]
    options = {k: v.format(bridge=docker_bridge_ip) if isinstance(v, str) else v for k, v in options.items()}
    rules = RegistratorOptions(hostname=hostname, **options)
    predicted = {
        service.id: service.registration() for inspect in workload for service in services_for_container(inspect, rules)
    }
    assert len(predicted) >= 10, predicted  # the set is varied enough to mean something
    registrator = run_registrator(docker_client, dev_agent, docker_bridge_ip, hostname, flags)
    try:
        landed, _took = wait_for(
            lambda: (found := registered_by_run(dev_agent, hostname)) and len(found) >= len(predicted) and found,
            timeout=20,
        )
        logs = registrator.logs().decode()[-3000:]
        assert landed, logs
        assert sorted(landed) == sorted(predicted), logs
        for service_id, registration in predicted.items():
            assert landed_view(landed[service_id]) == predicted_view(registration), service_id
            want = predicted_check(registration)
            if want:
                # HTTP and TCP checks show their target once they have run (intervals are 1 s here).
                wait_for(lambda sid=service_id, want=want: observed_check(dev_agent, sid) == want, timeout=10)
            assert observed_check(dev_agent, service_id) == want, service_id
    finally:
        registrator.remove(force=True)
        for service_id in registered_by_run(dev_agent, hostname):
            dev_agent.deregister(service_id)
