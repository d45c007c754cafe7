# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Timing shared by the benchmarks."""

from __future__ import annotations

import time


def timed_together(cases: list, rounds: int, warmup: int = 1) -> dict:
    """Time every (name, function) case `rounds` times, round-robin after `warmup` untimed rounds, so
    that load changes on the machine hit all cases alike. Returns {name: [seconds, ...]}."""
    for _round in range(warmup):
        for _name, function in cases:
            function()
    samples = {name: [] for name, _function in cases}
    for _round in range(rounds):
        for name, function in cases:
            started = time.perf_counter()
            function()
            samples[name].append(time.perf_counter() - started)
    return samples
