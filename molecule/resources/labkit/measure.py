"""Measurements the verifiers take (failover time, requests lost...) for `make bench`: each one is
printed, and appended as a JSON line to $DOCKYARD_MEASUREMENTS when that is set (bench/resilience.py
sets it and prints the table)."""

from __future__ import annotations

import json
import os


def record(what: str, value: float, unit: str, detail: str = "") -> None:
    print(f"measured: {what} = {value:g} {unit}" + (f" ({detail})" if detail else ""))
    path = os.environ.get("DOCKYARD_MEASUREMENTS")
    if path:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps({"what": what, "value": value, "unit": unit, "detail": detail}) + "\n")
