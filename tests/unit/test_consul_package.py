# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run really uses the consul distribution it claims to (make unit runs once per package)."""

import os
from importlib import metadata
from pathlib import Path

import consul


def test_consul_module_comes_from_the_expected_distribution():
    expected = os.environ.get("DOCKYARD_CONSUL_PACKAGE", "python-consul2")
    location = Path(metadata.distribution(expected).locate_file("consul/__init__.py")).resolve()
    assert Path(consul.__file__).resolve() == location
    if os.environ.get("DOCKYARD_CONSUL_VERSION"):
        assert metadata.distribution(expected).version == os.environ["DOCKYARD_CONSUL_VERSION"]
