# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the lab's pinned binaries live: the same cache `make toolchain` fills."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def lab_versions() -> dict:
    """The pinned versions from lab/versions.env."""
    values = {}
    for line in (REPO / "lab" / "versions.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dockyard"
    return Path(os.environ.get("DOCKYARD_CACHE") or default)


def cached_binary(name: str, version_key: str, env_name: str) -> str:
    """$<env_name> if set, else <cache>/bin/<name>-<version>/<name>; a clear error when missing."""
    candidate = os.environ.get(env_name)
    if not candidate:
        version = lab_versions()[version_key]
        candidate = str(cache_dir() / "bin" / f"{name}-{version}" / name)
    if not os.access(candidate, os.X_OK):
        raise RuntimeError(f"no {name} binary at {candidate}; run `make toolchain` first (or set {env_name}).")
    return candidate
