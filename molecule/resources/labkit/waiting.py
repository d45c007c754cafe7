"""Polling with a deadline."""

from __future__ import annotations

import time


def wait_for(probe, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Call probe() until it returns something truthy; return (value, seconds waited)."""
    start = time.monotonic()
    value = None
    for _attempt in range(int(timeout / max(interval, 0.05)) + 1):
        value = probe()
        if value:
            return value, time.monotonic() - start
        if time.monotonic() - start > timeout:
            break
        time.sleep(interval)
    raise AssertionError(f"{what}: not reached after {timeout}s (last value: {value!r})")
