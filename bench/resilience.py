# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resilience benchmark on three servers; prints a table.

Runs the secure scenario (molecule test -s secure: the previous Consul release, upgraded by
playbooks/upgrade.yml, then every fault test of molecule/secure/tests) with DOCKYARD_MEASUREMENTS
set, and tabulates what the verifier measured: leader failover time, time to heal after losing two
of three servers, requests lost per fault through nginx, the upgrade's wall time, and more. The
same code measures in `make test` and here: the numbers are the verifier's.

Usage: lab/run.sh python bench/resilience.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_scenario(measurements: Path) -> None:
    env = {**os.environ, "DOCKYARD_MEASUREMENTS": str(measurements)}
    result = subprocess.run([str(REPO / "lab" / "molecule-scenarios.sh"), "secure"], env=env, timeout=3600, check=False)
    if result.returncode != 0:
        sys.exit(f"the secure scenario failed (exit {result.returncode}): see build/logs/molecule-secure.log")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="scenario runs (each about 20 minutes)")
    args = parser.parse_args()
    samples: dict[tuple[str, str], list] = {}
    with tempfile.TemporaryDirectory() as directory:
        for run in range(args.runs):
            measurements = Path(directory) / f"run-{run}.jsonl"
            run_scenario(measurements)
            for line in measurements.read_text().splitlines():
                item = json.loads(line)
                samples.setdefault((item["what"], item["unit"]), []).append((item["value"], item["detail"]))
    width = max(len(what) for what, _unit in samples) + 2
    print(f"\n{'measurement (secure scenario, 3 servers)'.ljust(width)}{'median':>10}  {'max':>8}  unit / detail")
    for (what, unit), values in samples.items():
        numbers = [value for value, _detail in values]
        detail = values[-1][1]
        print(
            f"{what.ljust(width)}{statistics.median(numbers):>10g}  {max(numbers):>8g}  {unit}"
            + (f" ({detail})" if detail else "")
        )


if __name__ == "__main__":
    main()
