# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests import the collection as ansible_collections.dockyard.discovery from build/collections."""

import sys
from pathlib import Path

import pytest

COLLECTIONS = Path(__file__).resolve().parents[2] / "build" / "collections"

if not (COLLECTIONS / "ansible_collections" / "dockyard" / "discovery").exists():
    pytest.exit(f"{COLLECTIONS} has no dockyard.discovery link; run `make venv` first.", returncode=2)
sys.path.insert(0, str(COLLECTIONS))
