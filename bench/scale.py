# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scale benchmark on the lab (issue 13): big upstreams and big services; prints a table.

Simulated nodes (200, at unused lab addresses 172.20.20.50-249) and their service instances are
written to the lab's catalog through /v1/txn (bench/_catalog_load.py) and deleted at the end, also
after a failure. nginx never connects to them: only nginx -t and reloads see them.

1. Render path, as deployed: bench/scale-load-balancer.yml runs the load_balancer role on node1
   with the lab's own load_balancer_services plus the bench's (one upstream bench-one; 50 upstreams
   bench-m-00..bench-m-49 of 20 instances each), then the catalog grows to 100, 500 and 2,000 instances of
   bench-one (then back to none), and to 50 x 20. For each size: catalog write -> live in nginx,
   from the moment the (first) transaction was sent to the time nginx-apply records in its status
   file for the apply whose render is the live file (so consul-template's quiescence, its render,
   nginx -t and the reload); a bulk write spans several transactions and renders. Then nginx -t on
   the live configuration and reloads as nginx-apply does them, timed inside node1
   (bench/_node_probe.py), with nginx's RSS (master + workers) after the reload; consul-template's
   CPU time during that size's change and its RSS and peak RSS (VmHWM, since it started) from /proc.
   At 2,000 backends (and at 50 x 20) one more instance is added, trials times: the time to live,
   less wait.min (read from the deployed consul-template.json), has the target <= 0.2 s (median).
   Every trial removes its instance again and waits until that is live too. Each trial's time is
   split by the mtimes nginx-apply leaves (rendered/ by consul-template, check/ just before its
   nginx -t, live/ just before the reload) and the status line (after the reload).
   consul-template's peak RSS is its process's VmHWM: a reload (SIGHUP) keeps the process, so an
   earlier run of the bench on the same lab counts in it.
2. Lookups at 1,000 and 10,000 instances of one service over the 200 nodes, on the lab's Consul
   (node1's HTTP API): the dockyard.discovery.service lookup in-process through Ansible's lookup
   loader, as first lookup of a process (no cached client: options, client, connection), as in
   bench/catalog_lookups.py, against a raw GET of the same URL with urllib on a new connection
   (target at 10,000: <= 1.5x). Two more baselines split the difference: the raw GET asking for
   gzip, as the collection's transport does (Consul compresses, urllib's caller inflates), and the
   raw GET followed by json.loads, the least any Python client of the endpoint does. Then
   format=dict; the inventory plugin in-process (parse into a fresh
   InventoryData); and through the CLI, start-up included (shown apart, for a module that does
   nothing and an empty inventory): `ansible localhost -m dockyard.discovery.service_info` and
   `ansible-inventory --list`, their output to /dev/null. Timed round-robin, medians.

Every wait is bounded (WAIT_TIMEOUT); the lab's load balancer gets its own configuration back at
the end. Needs a converged lab (make lab); with --dev, only the lookups run, on a Consul dev
agent on loopback (no lab).
Usage: lab/run.sh python bench/scale.py [--rounds N] [--trials N] [--dev] [--skip-render]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / "build" / "collections"
sys.path.insert(0, str(REPO / "tests" / "support"))
sys.path.insert(0, str(REPO / "bench"))

import yaml
from _catalog_load import Catalog
from _timing import timed_together

LAB_CONSUL = "http://172.20.20.10:8500"
LB_NODE = "node1"
PROBE = REPO / "bench" / "_node_probe.py"
PLAYBOOK = REPO / "bench" / "scale-load-balancer.yml"
CT_CONFIG = "/etc/consul-template.d/consul-template.json"
NODES = 200
LOOKUP_SERVICE = "bench-scale-lookup"
LOOKUP_SIZES = (1000, 10000)
ONE = "bench-one"
ONE_PORT = 18000
ONE_SIZES = (100, 500, 2000)
MANY, MANY_SIZE, MANY_PORT = 50, 20, 18100
WAIT_TIMEOUT = 120
TARGET_ABOVE_WAIT_MIN = 0.2
TARGET_LOOKUP_RATIO = 1.5
CLI_TIMEOUT = 300


def many_name(index: int) -> str:
    # 50 names of this form overflow Consul's 512 characters a meta value if listed whole: the role
    # names as many as fit in the load-balancer service's meta (this bench found that limit).
    return f"bench-m-{index:02d}"


# --- helpers ----------------------------------------------------------------------------------


def median(samples: list) -> float:
    return statistics.median(samples)


def spread(samples: list, unit: str = "s", scale: float = 1.0, digits: int = 3) -> str:
    return f"min {min(samples) * scale:.{digits}f}, max {max(samples) * scale:.{digits}f} {unit}, n={len(samples)}"


def against_raw(label: str, samples: dict, raw: float, what: str, key: str, target: str = "", result: str = ""):
    """A table row of an in-process lookup case, in ms and as a multiple of the raw GET's median."""
    value = median(samples[key])
    detail = f"{value / raw:.2f}x raw; " + spread(samples[key], "ms", 1000, 0)
    return (f"{label}: {what}", f"{value * 1000:.0f} ms", detail, target, result)


def go_duration(text: str) -> float:
    """Seconds of a Go duration as consul-template's wait takes it (500ms, 2s, 1m)."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"([0-9.]+)(ms|s|m|h)", text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"not a Go duration: {text!r}")
    return sum(float(number) * units[unit] for number, unit in parts)


def in_node(*args: str) -> dict:
    """Run bench/_node_probe.py inside the load balancer node; its JSON answer."""
    done = subprocess.run(
        ["docker", "exec", "-i", LB_NODE, "python3", "-", *args],
        input=PROBE.read_text(),
        capture_output=True,
        text=True,
        timeout=WAIT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{LB_NODE}: _node_probe.py {' '.join(args)}: {done.stderr.strip()[-2000:]}")
    answer = json.loads(done.stdout)
    if isinstance(answer, dict) and "error" in answer:
        raise RuntimeError(f"{LB_NODE}: _node_probe.py {' '.join(args)}: {answer['error']}")
    return answer


def node_text(command: str) -> str:
    done = subprocess.run(
        ["docker", "exec", LB_NODE, "/bin/sh", "-c", command], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


# --- 1. the render path -------------------------------------------------------------------------


def default_inventory() -> Path:
    """The default scenario's inventory as molecule wrote it for this checkout: the newest of its
    ephemeral directories (~/.ansible/tmp/molecule.XXXX.default) whose molecule.yml names this repo."""
    candidates = [
        directory
        for directory in (Path.home() / ".ansible" / "tmp").glob("molecule.*.default")
        if (directory / "molecule.yml").is_file()
        and str(REPO) in (directory / "molecule.yml").read_text(errors="replace")
    ]
    newest = max(candidates, key=lambda directory: directory.stat().st_mtime, default=None)
    return newest / "inventory" if newest else Path("(none: make lab first)")


def lab_services() -> list:
    """The lab's own load_balancer_services, from the default scenario (extra vars replace it)."""
    scenario = yaml.safe_load((REPO / "molecule" / "default" / "molecule.yml").read_text())
    return scenario["provisioner"]["inventory"]["group_vars"]["all"]["load_balancer_services"]


def bench_services() -> list:
    services = [{"name": ONE, "consul_services": [ONE], "listen": ONE_PORT}]
    services += [
        {"name": many_name(i), "consul_services": [many_name(i)], "listen": MANY_PORT + i} for i in range(MANY)
    ]
    return services


def converge_load_balancer(inventory: Path, services: list | None) -> float:
    """Run the load_balancer role on node1, with these load_balancer_services (None: the lab's own)."""
    command = ["ansible-playbook", "-i", str(inventory), str(PLAYBOOK)]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as extra:
        json.dump({"load_balancer_services": services}, extra)
    if services is not None:
        command += ["-e", f"@{extra.name}"]
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    finally:
        os.unlink(extra.name)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")
    return time.monotonic() - started


def wait_live(predicate, what: str, interval: float = 0.2) -> dict:
    """Poll node1's state until predicate(state) holds for an apply whose render is the live file."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    last = None
    while time.monotonic() < deadline:
        last = in_node("state", *predicate.args) if hasattr(predicate, "args") else in_node("state")
        status = last["status"]
        if len(status) >= 3 and status[1] == "applied" and status[2] == last["live_sha256"] and predicate(last):
            last["applied_at"] = float(status[0])
            return last
        time.sleep(interval)
    raise RuntimeError(f"{what}: not live within {WAIT_TIMEOUT} s (last state: {json.dumps(last)[:600]})")


class Listed:
    """A wait_live predicate: the section lists (or no longer lists) one endpoint."""

    def __init__(self, section: str, endpoint: str, present: bool):
        self.args = (section, endpoint)
        self.present = present

    def __call__(self, state: dict) -> bool:
        return state["listed"] == self.present


def counts(expected: dict):
    """A wait_live predicate: every named section has exactly this many servers."""
    return lambda state: all(state["servers"].get(name, -1) == count for name, count in expected.items())


def resources(before: dict, after: dict) -> dict:
    template = after["consul_template"]
    if template["pid"] != before["consul_template"]["pid"]:
        raise RuntimeError("consul-template restarted during the measurement")
    return {
        "ct_cpu": template["cpu_s"] - before["consul_template"]["cpu_s"],
        "ct_rss": template["rss_kib"] / 1024,
        "ct_hwm": template["hwm_kib"] / 1024,
    }


def nginx_costs() -> dict:
    tests = in_node("nginx-test", "3")["seconds"]
    reloads = in_node("reload", "3")
    return {
        "nginx_t": tests,
        "reload": reloads["seconds"],
        "nginx_rss": reloads["nginx"]["rss_kib"] / 1024,
        "workers": len(reloads["nginx"]["workers"]),
    }


def one_more(catalog: Catalog, service: str, number: int, trials: int) -> list:
    """Seconds from the write of one more instance to its apply, trials times (removed after each)."""
    endpoint = catalog.endpoint(service, number)
    samples = []
    for _trial in range(trials):
        sent = catalog.add(service, [number])
        live = wait_live(Listed(service, endpoint, True), f"one more {service} instance")
        mtimes = live["mtimes"]
        samples.append(
            {
                "to_live": live["applied_at"] - sent,
                "to_rendered": mtimes["rendered"] - sent,
                "rendered_to_test": mtimes["check"] - mtimes["rendered"],
                "test_to_live": mtimes["live"] - mtimes["check"],
                "live_to_status": live["applied_at"] - mtimes["live"],
            }
        )
        catalog.remove(service, [number])
        wait_live(Listed(service, endpoint, False), f"{service} back to its size")
    return samples


def measure_render(catalog: Catalog, trials: int) -> tuple:
    """[(label, size, measurements)], wait.min in seconds."""
    wait_min = go_duration(json.loads(node_text(f"cat {CT_CONFIG}"))["wait"]["min"])
    results = []
    have = 0
    for size in ONE_SIZES:
        before = in_node("procs")
        sent = catalog.add(ONE, range(have, size))
        live = wait_live(counts({ONE: size}), f"{size} instances of {ONE}")
        have = size
        measured = {"to_live": live["applied_at"] - sent, **resources(before, in_node("procs")), **nginx_costs()}
        if size == ONE_SIZES[-1]:
            measured["one_more"] = one_more(catalog, ONE, size, trials)
        results.append((f"1 upstream x {size}", size, measured))
    catalog.remove(ONE, range(have))
    wait_live(counts({ONE: 0}), f"{ONE} emptied")

    before = in_node("procs")
    names = [many_name(i) for i in range(MANY)]
    # One write for all 50 services: the transactions go out back to back.
    sent = time.time()
    for name in names:
        catalog.add(name, range(MANY_SIZE))
    live = wait_live(counts(dict.fromkeys(names, MANY_SIZE)), f"{MANY} x {MANY_SIZE} instances")
    measured = {"to_live": live["applied_at"] - sent, **resources(before, in_node("procs")), **nginx_costs()}
    measured["one_more"] = one_more(catalog, names[0], MANY_SIZE, trials)
    results.append((f"{MANY} upstreams x {MANY_SIZE}", MANY * MANY_SIZE, measured))
    return results, wait_min


def render_rows(results: list, wait_min: float) -> list:
    rows = []
    for label, _size, m in results:
        rows.append((f"{label}: catalog write -> live in nginx", f"{m['to_live']:.2f} s", "", "", ""))
        rows.append(
            (
                f"{label}: nginx -t (live config)",
                f"{median(m['nginx_t']) * 1000:.0f} ms",
                spread(m["nginx_t"], "ms", 1000, 0),
                "",
                "",
            )
        )
        rows.append(
            (
                f"{label}: nginx reload (to old workers gone)",
                f"{median(m['reload']) * 1000:.0f} ms",
                spread(m["reload"], "ms", 1000, 0),
                "",
                "",
            )
        )
        rows.append(
            (
                f"{label}: nginx RSS after reload",
                f"{m['nginx_rss']:.1f} MiB",
                f"master + {m['workers']} workers",
                "",
                "",
            )
        )
        rows.append((f"{label}: consul-template CPU for the change", f"{m['ct_cpu']:.2f} s", "utime + stime", "", ""))
        rows.append(
            (
                f"{label}: consul-template RSS",
                f"{m['ct_rss']:.1f} MiB",
                f"peak since start {m['ct_hwm']:.1f} MiB",
                "",
                "",
            )
        )
        if "one_more" in m:
            above = [sample["to_live"] - wait_min for sample in m["one_more"]]
            value = median(above)
            target = f"<= {TARGET_ABOVE_WAIT_MIN} s above wait.min" if label.startswith("1 upstream") else ""
            result = ("PASS" if value <= TARGET_ABOVE_WAIT_MIN else "MISS") if target else ""
            rows.append(
                (
                    f"{label}: one more instance live, above wait.min ({wait_min:g} s)",
                    f"{value:.3f} s",
                    spread(above),
                    target,
                    result,
                )
            )
            steps = (
                ("write -> rendered by consul-template, above wait.min", "to_rendered", wait_min),
                ("rendered -> nginx-apply's nginx -t starts", "rendered_to_test", 0),
                ("nginx -t starts -> live file written", "test_to_live", 0),
                ("live file written -> reloaded (status line)", "live_to_status", 0),
            )
            for text, key, less in steps:
                values = [sample[key] - less for sample in m["one_more"]]
                rows.append((f"{label}: one more: {text}", f"{median(values):.3f} s", spread(values), "", ""))
    return rows


# --- 2. lookups, service_info and the inventory plugin --------------------------------------------


def run_cli(command: list, env: dict) -> None:
    done = subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, timeout=CLI_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-2000:]}")


def measure_lookups(catalog: Catalog, host: str, port: int, rounds: int, cli_rounds: int) -> list:
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader, inventory_loader, lookup_loader

    init_plugin_loader([str(COLLECTIONS)])
    from ansible_collections.dockyard.discovery.plugins.plugin_utils import _consul_plugin

    service_lookup = lookup_loader.get("dockyard.discovery.service")
    connection = {"host": host, "port": port, "scheme": "http"}
    url = f"http://{host}:{port}/v1/health/service/{LOOKUP_SERVICE}?passing=1"
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    inventory_file = workdir / "bench.consul.yml"
    inventory_file.write_text(yaml.safe_dump({"plugin": "dockyard.discovery.consul", **connection}))
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS), "ANSIBLE_NOCOLOR": "1"}
    env["ANSIBLE_LOCALHOST_WARNING"] = env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "False"
    module_args = f"name={LOOKUP_SERVICE} host={host} port={port} scheme=http"

    def raw_get():
        with urllib.request.urlopen(url, timeout=60) as response:
            return len(response.read())

    def raw_gzip():
        """What the collection's transport asks for: gzip (Consul compresses, the client inflates)."""
        request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return len(zlib.decompress(response.read(), 16 + zlib.MAX_WBITS))

    def raw_json():
        """The least any Python client of this endpoint does: the GET and json.loads."""
        with urllib.request.urlopen(url, timeout=60) as response:
            return len(json.loads(response.read()))

    def lookup(**options):
        _consul_plugin._CLIENTS.clear()
        return service_lookup.run([LOOKUP_SERVICE], variables={}, **connection, **options)

    def inventory_hosts():
        _consul_plugin._CLIENTS.clear()
        inventory = InventoryData()
        inventory_loader.get("dockyard.discovery.consul").parse(
            inventory, DataLoader(), str(inventory_file), cache=False
        )
        return inventory.hosts

    rows = []
    have = 0
    for size in LOOKUP_SIZES:
        catalog.add(LOOKUP_SERVICE, range(have, size))
        have = size
        if len(lookup()) != size:
            raise RuntimeError(f"the lookup did not find {size} instances")
        hosts = inventory_hosts()
        if sum(name.startswith("bench-scale-node-") for name in hosts) != NODES:
            raise RuntimeError(f"the inventory plugin did not list the {NODES} simulated nodes")
        body = raw_get()
        samples = timed_together(
            [
                ("raw", raw_get),
                ("raw_gzip", raw_gzip),
                ("raw_json", raw_json),
                ("lookup", lookup),
                ("dict", lambda: lookup(format="dict")),
                ("inventory", inventory_hosts),
            ],
            rounds,
        )
        cli = timed_together(
            [
                ("cli_noop", lambda: run_cli(["ansible", "localhost", "-m", "ansible.builtin.ping"], env)),
                (
                    "cli_service_info",
                    lambda: run_cli(
                        ["ansible", "localhost", "-m", "dockyard.discovery.service_info", "-a", module_args], env
                    ),
                ),
                ("cli_inventory_empty", lambda: run_cli(["ansible-inventory", "-i", "localhost,", "--list"], env)),
                ("cli_inventory", lambda: run_cli(["ansible-inventory", "-i", str(inventory_file), "--list"], env)),
            ],
            cli_rounds,
        )
        raw = median(samples["raw"])
        ratio = median(samples["lookup"]) / raw
        target = f"<= {TARGET_LOOKUP_RATIO}x raw GET" if size == LOOKUP_SIZES[-1] else ""
        result = ("PASS" if ratio <= TARGET_LOOKUP_RATIO else "MISS") if target else ""
        label = f"{size} instances / {NODES} nodes"
        ms = 1000

        rows += [
            (
                f"{label}: raw GET (urllib, {body / 1e6:.1f} MB)",
                f"{raw * ms:.0f} ms",
                spread(samples["raw"], "ms", ms, 0),
                "",
                "",
            ),
            against_raw(label, samples, raw, "raw GET with gzip, inflated", "raw_gzip"),
            against_raw(label, samples, raw, "raw GET + json.loads", "raw_json"),
            against_raw(label, samples, raw, "service lookup, first in process", "lookup", target, result),
            against_raw(label, samples, raw, "service lookup, format=dict", "dict"),
            (
                f"{label}: inventory plugin, in-process parse",
                f"{median(samples['inventory']) * ms:.0f} ms",
                f"{len(hosts)} hosts; " + spread(samples["inventory"], "ms", ms, 0),
                "",
                "",
            ),
            (
                f"{label}: ansible -m service_info (CLI)",
                f"{median(cli['cli_service_info']):.2f} s",
                f"start-up (-m ping) {median(cli['cli_noop']):.2f} s; n={cli_rounds}",
                "",
                "",
            ),
            (
                f"{label}: ansible-inventory --list (CLI)",
                f"{median(cli['cli_inventory']):.2f} s",
                f"start-up (empty inventory) {median(cli['cli_inventory_empty']):.2f} s; n={cli_rounds}",
                "",
                "",
            ),
        ]
    catalog.remove(LOOKUP_SERVICE, range(have))
    return rows


# --- the table ------------------------------------------------------------------------------------


def print_table(rows: list) -> None:
    header = ("measure", "median", "detail", "target", "result")
    width = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    line = "+".join("-" * (w + 2) for w in width)
    print(f"+{line}+")
    for index, row in enumerate([header, *rows]):
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, width)) + " |")
        if index == 0:
            print(f"+{line}+")
    print(f"+{line}+")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="timed in-process lookups per case (default 10)")
    parser.add_argument("--cli-rounds", type=int, default=3, help="timed CLI runs per case (default 3)")
    parser.add_argument("--trials", type=int, default=5, help="one-more-instance trials (default 5)")
    parser.add_argument("--dev", action="store_true", help="lookups only, on a Consul dev agent on loopback")
    parser.add_argument("--skip-render", action="store_true", help="lookups only, on the lab's Consul")
    parser.add_argument("--skip-lookups", action="store_true", help="the render path only")
    parser.add_argument("--inventory", type=Path, default=default_inventory(), help="the default scenario's inventory")
    args = parser.parse_args()
    if min(args.rounds, args.cli_rounds, args.trials) < 1:
        parser.error("--rounds, --cli-rounds and --trials must be 1 or more")

    rows = []
    if args.dev:
        from consul_agent import ConsulAgent

        with ConsulAgent("dev") as agent:
            catalog = Catalog(agent.url, NODES)
            try:
                catalog.ensure_nodes()
                rows += measure_lookups(catalog, "127.0.0.1", agent.http_port, args.rounds, args.cli_rounds)
            finally:
                catalog.clean()
        where = f"Consul dev agent {agent.url}"
    else:
        catalog = Catalog(LAB_CONSUL, NODES)
        render_on = not args.skip_render
        if render_on and not args.inventory.is_dir():
            parser.error(f"no default scenario inventory at {args.inventory}: make lab first, or pass --inventory")
        try:
            catalog.ensure_nodes()
            if not args.skip_lookups:
                rows += measure_lookups(catalog, "172.20.20.10", 8500, args.rounds, args.cli_rounds)
            if render_on:
                print("configuring the bench upstreams on node1", file=sys.stderr)
                converge_load_balancer(args.inventory, lab_services() + bench_services())
                wait_live(counts({ONE: 0, many_name(MANY - 1): 0}), "the bench upstreams")
                results, wait_min = measure_render(catalog, args.trials)
                rows += render_rows(results, wait_min)
        finally:
            catalog.clean()
            if render_on:
                print("restoring the lab's load balancer configuration", file=sys.stderr)
                converge_load_balancer(args.inventory, None)
                wait_live(lambda state: ONE not in state["servers"], "the lab's own configuration")
        where = f"lab Consul {LAB_CONSUL}, load balancer {LB_NODE}"
    print_table(rows)
    print(f"\n{where}; Python {sys.version.split()[0]}; every number measured in this run")
    return 0 if all(row[-1] != "MISS" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
