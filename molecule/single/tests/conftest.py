"""Seed 1's lab: single1 on 172.20.21.0/24, with the default scenario's helpers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "default" / "tests"))

from labkit import Containers, Node

SINGLE = Node("single1", "172.20.21.10")


@pytest.fixture(scope="session")
def single():
    return SINGLE


@pytest.fixture
def containers():
    started = Containers()
    yield started
    started.remove_all()
