# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lab benchmark of playbooks/site.yml and of the discovery path; prints a table.

1. Cold converge: fresh nodes (molecule destroy, create, prepare), then site.yml (target: none).
2. Idempotent re-run of site.yml on the converged lab (target: < 60 s).
3. Container start -> first request answered through nginx (target: p95 < 2 s). A container
   named bench-N joins the "probe" service on node2; the clock runs from its State.StartedAt to
   the first answer of nginx on node1:8090 that comes from bench-N.
4. docker kill -> gone from nginx (target: p95 < 2 s). From the killed container's
   State.FinishedAt to the end of the nginx reload whose configuration no longer lists it (the
   time nginx-apply records in its status file, next to the digest of that configuration).

The lab nodes are containers of this machine, so Docker's timestamps, nginx-apply's and this
script's share one clock. Playbook times come from the ansible.posix.timer callback.
Every trial is bounded in time; the trials run one after the other, never in parallel.

Usage: lab/run.sh python bench/lab_latency.py [--trials N] [--skip-converge]
With --skip-converge the lab must be converged already (make lab); the latencies and the
re-run are measured, not the cold converge.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
MOLECULE = [str(REPO / "lab" / "molecule.sh")]
PROBE_URL = "http://172.20.20.10:8090/"
PROBE_NODE = "node2"
PROBE_ADDRESS = "172.20.20.20:8089"
LB_NODE = "node1"
LIVE = "/etc/nginx/dockyard/live/services.conf"
STATUS = "/var/lib/dockyard-load-balancer/last-apply"
DEMO_IMAGE = os.environ["DOCKYARD_DEMO_IMAGE"]
TRIAL_TIMEOUT = 15
PLAYBOOK_TIME = re.compile(r"Playbook run took (\d+) days, (\d+) hours, (\d+) minutes, (\d+) seconds")


def molecule(*args: str) -> str:
    env = {**os.environ, "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.timer", "ANSIBLE_NOCOLOR": "1"}
    result = subprocess.run([*MOLECULE, *args, "-s", "default"], capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"molecule {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result.stdout + result.stderr


def playbook_seconds(output: str) -> int:
    days, hours, minutes, seconds = map(int, PLAYBOOK_TIME.findall(output)[-1])
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def in_node(node: str, command: str) -> str:
    result = subprocess.run(
        ["docker", "exec", node, "/bin/sh", "-c", command], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{node}: {command}: {result.stderr.strip()}")
    return result.stdout


def docker_time(node: str, container: str, field: str) -> float:
    """State.StartedAt or State.FinishedAt as an epoch (Docker gives RFC 3339 with nanoseconds)."""
    stamp = in_node(node, f"docker inspect -f '{{{{.State.{field}}}}}' {container}").strip()
    whole, _dot, fraction = stamp.rstrip("Z").partition(".")
    moment = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp() + float("0." + (fraction or "0"))


def probe_answer() -> str:
    try:
        return requests.get(PROBE_URL, timeout=2).text
    except requests.RequestException:
        return ""


def wait(predicate, what: str, interval: float = 0.01):
    deadline = time.monotonic() + TRIAL_TIMEOUT
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"{what}: not within {TRIAL_TIMEOUT} s")


def start_trial(name: str) -> float:
    in_node(PROBE_NODE, f"docker run -d --name {name} -e SERVICE_NAME=probe -p 8089:8080 {DEMO_IMAGE} {name}")
    wait(lambda: f"[{name}]" in probe_answer(), f"{name} answering through nginx")
    answered = time.time()
    return answered - docker_time(PROBE_NODE, name, "StartedAt")


def kill_trial(name: str) -> float:
    in_node(PROBE_NODE, f"docker kill {name}")
    killed = docker_time(PROBE_NODE, name, "FinishedAt")

    def applied_without_it():
        live = in_node(LB_NODE, f"cat {LIVE}")
        if PROBE_ADDRESS in live:
            return None
        stamp, result, digest = in_node(LB_NODE, f"cat {STATUS}").split()[:3]  # key=value fields may follow
        if result != "applied" or digest != hashlib.sha256(live.encode()).hexdigest():
            return None
        return float(stamp)

    reloaded = wait(applied_without_it, f"{name} gone from nginx", interval=0.05)
    in_node(PROBE_NODE, f"docker rm -f {name} >/dev/null")
    # The next trial starts from an empty pool again.
    wait(lambda: requests.get(PROBE_URL, timeout=2).status_code == 502, "the probe pool empty")
    return reloaded - killed


def percentiles(samples: list) -> str:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return f"p50 {cuts[49]:.2f} s, p95 {cuts[94]:.2f} s (min {min(samples):.2f}, max {max(samples):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--trials", type=int, default=20, help="latency trials of each kind (at least 20)")
    parser.add_argument("--skip-converge", action="store_true", help="measure on the converged lab only")
    args = parser.parse_args()
    if args.trials < 20:
        parser.error("--trials must be 20 or more")

    rows = []
    if not args.skip_converge:
        print("cold converge: recreating the lab nodes", file=sys.stderr)
        molecule("destroy")
        molecule("create")
        molecule("prepare")
        rows.append(("cold converge of site.yml (3 nodes)", f"{playbook_seconds(molecule('converge'))} s", "-"))
    print("idempotent re-run", file=sys.stderr)
    rerun = playbook_seconds(molecule("converge"))
    rows.append(("idempotent re-run of site.yml", f"{rerun} s", "< 60 s" + ("" if rerun < 60 else "  MISSED")))
    molecule("side-effect")

    in_node(PROBE_NODE, "docker ps -aq --filter name=^bench- | xargs -r docker rm -f >/dev/null")
    wait(lambda: requests.get(PROBE_URL, timeout=2).status_code == 502, "the probe pool empty")
    started, killed = [], []
    for trial in range(args.trials):
        name = f"bench-{trial}"
        started.append(start_trial(name))
        killed.append(kill_trial(name))
        print(f"trial {trial + 1}/{args.trials}: start {started[-1]:.2f} s, kill {killed[-1]:.2f} s", file=sys.stderr)

    for label, samples in (
        ("container start -> first answer through nginx", started),
        ("docker kill -> gone from nginx", killed),
    ):
        p95 = statistics.quantiles(samples, n=100, method="inclusive")[94]
        rows.append(
            (f"{label} (n={len(samples)})", percentiles(samples), "p95 < 2 s" + ("" if p95 < 2 else "  MISSED"))
        )

    width = [max(len(row[i]) for row in rows + [("measure", "result", "target")]) for i in range(3)]
    line = "+".join("-" * (w + 2) for w in width)
    print(f"+{line}+")
    for index, row in enumerate([("measure", "result", "target"), *rows]):
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, width)) + " |")
        if index == 0:
            print(f"+{line}+")
    print(f"+{line}+")


if __name__ == "__main__":
    main()
