# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the Python package: the wheel and sdist built from this checkout, fresh virtual
environments (no Ansible in them) with the wheel installed, and a real Consul dev agent."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "support"))

from consul_agent import ConsulAgent, consul_binary

# The interpreters the package test runs: the oldest Python pyproject.toml claims (3.11, Debian 12's,
# also the lab's default) and the newest (3.13, Debian 13's). pyenv provides 3.13 on the lab
# machines; a missing one fails the run rather than passing with less.
PYTHONS = ("3.11", "3.13")
# The same consul package as the rest of the suite (constraints.txt).
CONSUL_PACKAGE = "python-consul2==0.1.5"


def interpreter(version: str) -> str:
    pyenv = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))
    found = [str(path) for path in pyenv] or [shutil.which(f"python{version}") or ""]
    if not found[-1]:
        pytest.fail(
            f"python{version} not found: the package test runs on {', '.join(PYTHONS)} (pyenv install {version})"
        )
    return found[-1]


def run(argv, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("timeout", 300)
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)


# Where make package leaves what it built.
DIST = REPO / "build" / "dist"


@pytest.fixture(scope="session")
def dist() -> dict:
    """The sdist, then the wheel built from that sdist (python -m build's default), as pip would."""
    shutil.rmtree(DIST, ignore_errors=True)
    out = DIST
    built = run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)])
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    [wheel] = out.glob("*.whl")
    [sdist] = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


class Venv:
    """A fresh virtual environment: python and the console scripts it installs."""

    def __init__(self, root: Path, python: str):
        self.root = root
        made = run([python, "-m", "venv", str(root)])
        assert made.returncode == 0, made.stderr
        self.python = str(root / "bin" / "python")

    def pip_install(self, *requirements: str) -> None:
        installed = run([self.python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements])
        assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]

    def env(self, **extra: str) -> dict:
        # Nothing from the test's own environment leaks in: no PYTHONPATH (the checkout), no CONSUL_*.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSUL_", "PYTHON", "ANSIBLE_"))}
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra)
        return env

    def run(self, argv, **extra) -> subprocess.CompletedProcess:
        return run(argv, env=self.env(**extra), cwd=self.root, timeout=120)


@pytest.fixture(scope="session", params=PYTHONS, ids=lambda version: f"py{version}")
def installed(request, dist, tmp_path_factory) -> Venv:
    """The wheel and python-consul2 in a fresh venv of each Python."""
    venv = Venv(tmp_path_factory.mktemp(f"venv{request.param}"), interpreter(request.param))
    venv.pip_install(str(dist["wheel"]), CONSUL_PACKAGE)
    return venv


@pytest.fixture(scope="session")
def bare(dist, tmp_path_factory) -> Venv:
    """The wheel alone: no consul package."""
    venv = Venv(tmp_path_factory.mktemp("bare"), sys.executable)
    venv.pip_install(str(dist["wheel"]))
    return venv


@pytest.fixture(scope="session")
def agent():
    try:
        consul_binary()
    except RuntimeError as error:
        pytest.exit(str(error), returncode=2)
    with ConsulAgent("dev") as running:
        yield running
