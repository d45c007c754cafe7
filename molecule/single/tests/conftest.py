"""Seed 1's lab: single1 on 172.20.21.0/24, with the shared verifier helpers (labkit)."""

from __future__ import annotations

import pytest
from labkit.fixtures import containers  # noqa: F401 (a fixture: pytest finds it in this namespace)
from labkit.nodes import Node

SINGLE = Node("single1", "172.20.21.10")


@pytest.fixture(scope="session")
def single():
    return SINGLE
