"""Each way the toolchain commonly fails stops with the cause and the next thing to do."""

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from toolchain import cache_dir, lab_versions

LAB = Path(__file__).parents[2] / "lab"
# The source tree handed to this project next to the checkout (lab/build-binaries.sh's default).
SHARED_REGISTRATOR = Path(__file__).resolve().parents[3] / "shared" / "third_party" / "gliderlabs-registrator"


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


def cache_with_consul(tmp_path):
    """A fresh DOCKYARD_CACHE holding the cached Consul and consul-template, so that only
    registrator is built (with REGISTRATOR_ONLY_ENV: the previous releases are not asked for)."""
    versions = lab_versions()
    real = cache_dir() / "bin"
    (tmp_path / "bin").mkdir(parents=True)
    for name in (f"consul-{versions['CONSUL_VERSION']}", f"consul-template-{versions['CONSUL_TEMPLATE_VERSION']}"):
        (tmp_path / "bin" / name).symlink_to(real / name)
    return tmp_path


# These tests are about registrator: a fresh cache must not rebuild the previous Consul releases too.
REGISTRATOR_ONLY_ENV = {"DOCKYARD_PREVIOUS_RELEASES": "0"}


def test_registrator_without_a_source_names_the_module_and_what_was_tried(tmp_path):
    result = run(
        "build-binaries.sh",
        {**REGISTRATOR_ONLY_ENV, "DOCKYARD_CACHE": str(cache_with_consul(tmp_path)), "REGISTRATOR_SRC": "/nonexistent"},
    )
    assert_hint(result, "cannot get the source of github.com/gliderlabs/registrator@v0.4.1-", "set REGISTRATOR_SRC")
    assert "the Go proxy:" in result.stderr and "REGISTRATOR_SRC=/nonexistent: no such directory" in result.stderr


def test_registrator_tree_that_does_not_match_the_commit_is_refused(tmp_path):
    tree = tmp_path / "registrator"
    shutil.copytree(SHARED_REGISTRATOR, tree)
    (tree / "registrator.go").chmod(0o644)
    with (tree / "registrator.go").open("a") as source:
        source.write("// changed\n")
    result = run(
        "build-binaries.sh",
        {
            **REGISTRATOR_ONLY_ENV,
            "DOCKYARD_CACHE": str(cache_with_consul(tmp_path / "cache")),
            "REGISTRATOR_SRC": str(tree),
        },
    )
    assert_hint(result, f"the registrator source tree {tree} does not match commit", "unmodified tree")
    assert not list((tmp_path / "cache" / "bin").glob("registrator-*/registrator"))


def module_proxy(root: Path, tree: Path, module: str, version: str) -> str:
    """A file:// Go module proxy that serves one module version made from a source tree."""
    versions = root / module / "@v"
    versions.mkdir(parents=True)
    (versions / "list").write_text(version + "\n")
    (versions / f"{version}.info").write_text(json.dumps({"Version": version, "Time": "2025-05-22T04:16:52Z"}))
    (versions / f"{version}.mod").write_bytes((tree / "go.mod").read_bytes())
    with zipfile.ZipFile(versions / f"{version}.zip", "w") as archive:
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            archive.write(path, f"{module}@{version}/{path.relative_to(tree)}")
    return f"file://{root}"


def test_registrator_comes_from_the_go_proxy_when_the_proxy_serves_it(tmp_path):
    versions = lab_versions()
    module = "github.com/gliderlabs/registrator"
    proxy = module_proxy(tmp_path / "proxy", SHARED_REGISTRATOR, module, versions["REGISTRATOR_PSEUDO_VERSION"])
    cache = cache_with_consul(tmp_path / "cache")
    env = {
        **REGISTRATOR_ONLY_ENV,
        "DOCKYARD_CACHE": str(cache),
        # The module from the file proxy, its dependencies from the usual one; a private module cache
        # so that the user's never holds a version the real proxy does not serve.
        "GOPROXY": f"{proxy},{os.environ.get('GOPROXY', 'https://proxy.golang.org')}",
        "GOMODCACHE": str(tmp_path / "mod"),
        "GOFLAGS": "-modcacherw",
        "GONOSUMDB": module,
        "REGISTRATOR_SRC": "/nonexistent",  # must not be needed
    }
    result = subprocess.run(
        [str(LAB / "build-binaries.sh")],
        check=False,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"registrator: {module}@{versions['REGISTRATOR_PSEUDO_VERSION']} from the Go proxy" in result.stderr
    binary = cache / "bin" / f"registrator-{versions['REGISTRATOR_COMMIT']}" / "registrator"
    # GL_DISABLE_VERSION_CHECK: no DNS query to usage.gliderlabs.io.
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=True, env={"GL_DISABLE_VERSION_CHECK": "1"}
    )
    assert version.stdout.split() == [versions["REGISTRATOR_VERSION"]]
