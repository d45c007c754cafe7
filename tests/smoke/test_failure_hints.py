"""Each way the toolchain commonly fails stops with the cause and the next thing to do."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

LAB = Path(__file__).parents[2] / "lab"


def run(script, env_changes, user=None):
    env = {**os.environ, **env_changes}
    command = [str(LAB / script)]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    return subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=120)


def assert_hint(result, cause, next_step):
    assert result.returncode != 0
    assert cause in result.stderr, result.stderr
    assert "[lab] next:" in result.stderr and next_step in result.stderr, result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_not_root(tmp_path):
    tmp_path.chmod(0o777)
    result = run(
        "ensure-docker.sh",
        {"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock", "DOCKYARD_CACHE": str(tmp_path), "HOME": str(tmp_path)},
        user=65534,
    )
    assert_hint(result, "needs root", "sudo make toolchain")


def test_no_go_toolchain(tmp_path):
    go = shutil.which("go")
    path = ":".join(p for p in os.environ["PATH"].split(":") if not go or Path(p) != Path(go).parent)
    result = run("build-binaries.sh", {"PATH": path, "DOCKYARD_CACHE": str(tmp_path)})
    assert_hint(result, "no Go toolchain", "install Go")


def test_go_proxy_unreachable_names_the_module(tmp_path):
    result = run(
        "build-binaries.sh",
        {"DOCKYARD_CACHE": str(tmp_path), "GOPROXY": "http://127.0.0.1:9", "GOMODCACHE": str(tmp_path / "mod")},
    )
    assert_hint(result, "the Go proxy did not serve github.com/hashicorp/consul@v", "is reachable")
    assert "connection refused" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_no_free_space(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(small)], check=True)
    try:
        result = run("build-binaries.sh", {"DOCKYARD_CACHE": str(small)})
    finally:
        subprocess.run(["umount", str(small)], check=True)
    assert_hint(result, "MiB free under", "free space")
