# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The package's version is the collection's: galaxy.yml's `version:` line (pyproject.toml has the rest)."""

import pathlib
import re

from setuptools import setup


def galaxy_version() -> str:
    galaxy = pathlib.Path(__file__).resolve().parent / "galaxy.yml"
    match = re.search(r"^version:\s*[\"']?([0-9][0-9A-Za-z.+-]*)[\"']?\s*$", galaxy.read_text(), re.MULTILINE)
    if not match:
        raise SystemExit(f"{galaxy}: no `version: X.Y.Z` line")
    return match.group(1)


setup(version=galaxy_version())
