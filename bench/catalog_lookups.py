# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lookup latency benchmark; prints a table. Starts its own Consul dev agent on free loopback ports.

1. dockyard.discovery.service lookup vs a raw HTTP GET of the same endpoint (target: < 2x).
2. dockyard.discovery.kv lookup vs community.general.consul_kv for the same key (target: not slower).
3. dockyard.discovery.service lookup of a service with 1,000 instances (target: < 1 s).

Lookups run in-process through Ansible's lookup loader, as a template calls them. "First in
process" drops the cached client before each call, so the call resolves its options, makes a
client and opens a connection, like the first lookup of a task. "Repeated" reuses the cached
client and its keep-alive connection, like a lookup in a loop. The service lookup is compared
with a raw GET of the same URL made with the standard library's urllib, a new connection each
time (the cheapest raw GET in Python); requests.get, which the consul package's own HTTP client
is built on, is shown too.
Usage: python bench/catalog_lookups.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / "build" / "collections"
sys.path.insert(0, str(REPO / "tests" / "support"))
sys.path.insert(0, str(REPO / "bench"))

import requests
from _timing import timed_together
from consul_agent import ConsulAgent

INSTANCES = 1000
RAW_URLLIB = "raw GET, urllib, new connection"
RAW_REQUESTS = "raw GET, requests.get, new connection"
SERVICE_COLD = "lookup service, first in process"
SERVICE_WARM = "lookup service, repeated (keep-alive)"
GENERAL_KV = "lookup community.general.consul_kv"
KV_COLD = "lookup kv, first in process"
KV_WARM = "lookup kv, repeated (keep-alive)"
BIG = f"lookup service, {INSTANCES} instances"


def summary(samples: list) -> tuple:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def register_instances(agent: ConsulAgent, service: str, count: int) -> None:
    """Register `count` instances through the agent API, one PUT each, on one keep-alive session."""
    session = requests.Session()
    deadline = time.monotonic() + 120
    for i in range(count):
        if time.monotonic() > deadline:
            raise SystemExit(f"registering {count} instances took over 120 s; stopped at {i}")
        body = {"ID": f"{service}-{i}", "Name": service, "Port": 20000 + i, "Address": f"10.1.{i // 250}.{i % 250 + 1}"}
        session.put(f"{agent.url}/v1/agent/service/register", json=body, timeout=10).raise_for_status()
    for _attempt in range(100):  # the health view lags the agent a little
        if len(session.get(f"{agent.url}/v1/health/service/{service}", timeout=10).json()) == count:
            return
        time.sleep(0.1)
    raise SystemExit(f"the catalog did not show {count} instances of {service}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="timed calls per case (default 200)")
    args = parser.parse_args()

    from ansible.plugins.loader import init_plugin_loader, lookup_loader

    init_plugin_loader([str(COLLECTIONS)])
    from ansible_collections.dockyard.discovery.plugins.plugin_utils import _consul_plugin

    service_lookup = lookup_loader.get("dockyard.discovery.service")
    kv_lookup = lookup_loader.get("dockyard.discovery.kv")
    general_kv = lookup_loader.get("community.general.consul_kv")
    if general_kv is None:
        raise SystemExit("community.general is not installed (it comes with the `ansible` package in requirements.txt)")

    with ConsulAgent("dev") as agent:
        for i in range(3):
            agent.http(
                "PUT", "/v1/agent/service/register", {"ID": f"bench-web-{i}", "Name": "bench-web", "Port": 8080 + i}
            )
        agent.http("PUT", "/v1/kv/bench/key", b"some-value")
        register_instances(agent, "bench-big", INSTANCES)

        connection = {"host": "127.0.0.1", "port": agent.http_port}
        url = f"{agent.url}/v1/health/service/bench-web?passing=1"
        session = requests.Session()

        def raw_get():
            with urllib.request.urlopen(url, timeout=10) as response:
                response.read()

        def cold(lookup, terms, **options):
            """A lookup as the first one in a process: no cached client, a new connection."""
            _consul_plugin._CLIENTS.clear()
            return lookup.run(terms, variables={}, **connection, **options)

        def warm(lookup, terms, **options):
            """A lookup repeated in one process (a loop): cached client, keep-alive connection."""
            return lookup.run(terms, variables={}, **connection, **options)

        assert len(service_lookup.run(["bench-web"], variables={}, **connection)) == 3
        assert service_lookup.run(["bench-big"], variables={}, **connection)[0].count(":") == 1
        assert kv_lookup.run(["bench/key"], variables={}, **connection) == ["some-value"]
        assert general_kv.run(["bench/key"], variables={}, **connection) == ["some-value"]
        assert len(service_lookup.run(["bench-big"], variables={}, **connection)) == INSTANCES

        rounds, big_rounds = args.rounds, max(10, args.rounds // 10)
        small = timed_together(
            [
                (RAW_URLLIB, raw_get),
                (RAW_REQUESTS, lambda: requests.get(url, timeout=10).content),
                ("raw GET, requests keep-alive session", lambda: session.get(url, timeout=10).content),
                (SERVICE_COLD, lambda: cold(service_lookup, ["bench-web"])),
                (SERVICE_WARM, lambda: warm(service_lookup, ["bench-web"])),
                (GENERAL_KV, lambda: general_kv.run(["bench/key"], variables={}, **connection)),
                (KV_COLD, lambda: cold(kv_lookup, ["bench/key"])),
                (KV_WARM, lambda: warm(kv_lookup, ["bench/key"])),
            ],
            rounds,
            warmup=3,
        )
        big = timed_together(
            [
                (BIG, lambda: cold(service_lookup, ["bench-big"])),
                (BIG + ", format=dict", lambda: cold(service_lookup, ["bench-big"], format="dict")),
            ],
            big_rounds,
            warmup=3,
        )
        cases = list(small.items()) + list(big.items())

    results = {name: summary(samples) for name, samples in cases}
    median = {name: value[0] for name, value in results.items()}
    # name -> (compared with, target text, limit)
    targets = {
        SERVICE_COLD: (RAW_URLLIB, "< 2x raw GET (urllib)", 2.0),
        SERVICE_WARM: (RAW_URLLIB, "< 2x raw GET (urllib)", 2.0),
        KV_COLD: (GENERAL_KV, "<= c.g. consul_kv", 1.0),
        KV_WARM: (GENERAL_KV, "<= c.g. consul_kv", 1.0),
    }

    rows = [("case", "calls", "median ms", "p95 ms", "x raw urllib", "ratio", "target", "result")]
    for name, samples in cases:
        med, p95 = results[name]
        ratio, target, result = "", "", ""
        if name in targets:
            baseline, target, limit = targets[name]
            value = med / median[baseline]
            ratio, result = f"{value:.2f}x", "PASS" if value <= limit else "FAIL"
        elif name == BIG:
            target, result = "p95 < 1000 ms", "PASS" if p95 < 1.0 else "FAIL"
        versus_urllib = f"{med / median[RAW_URLLIB]:.2f}x"
        rows.append(
            (name, str(len(samples)), f"{med * 1000:.2f}", f"{p95 * 1000:.2f}", versus_urllib, ratio, target, result)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
    print(f"\nconsul {agent.node_name} on {agent.url}; Python {sys.version.split()[0]}")
    return 0 if all(row[-1] != "FAIL" for row in rows[1:]) else 1


if __name__ == "__main__":
    sys.exit(main())
