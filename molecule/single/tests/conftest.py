"""Seed 1's lab: single1 on 172.20.21.0/24, with the shared verifier helpers (labkit)."""

from __future__ import annotations

import pytest
from labkit.nodes import Node

# The shared fixtures (containers, ...) come from labkit as a plugin, so nothing here imports them unused.
pytest_plugins = ["labkit.fixtures"]

SINGLE = Node("single1", "172.20.21.10")


@pytest.fixture(scope="session")
def single():
    return SINGLE
