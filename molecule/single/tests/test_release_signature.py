"""_hashicorp_release's archive method trusts SHA256SUMS only with a valid signature: the converge
verified the mirror's signature (made with prepare.yml's test key), and a role run into a separate
install root (the converged consul is untouched) refuses a changed zip, a changed SHA256SUMS and a
key that did not sign it, installing nothing; with the check off it installs and warns."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from labkit.ansible_runner import ansible_playbook, flat

VERSION = os.environ.get("CONSUL_VERSION", "1.22.7")
RELEASE = f"/srv/mirror/consul/{VERSION}"
SUMS = f"consul_{VERSION}_SHA256SUMS"
ZIP = f"consul_{VERSION}_linux_amd64.zip"
ROOT = "/opt/release-test"
INSTALLED = f"{ROOT}/consul/{VERSION}/consul"
HASHICORP = "C874011F0AB405110D02105534365D9472D7468F"
TEST_KEY = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "release-test-key.asc"


def fingerprint(armored: Path) -> str:
    listing = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--show-keys", str(armored)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GNUPGHOME": str(armored.parent / "gnupg")},
    ).stdout
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def install(tmp_path: Path, *args: str, **role_vars):
    """_hashicorp_release for consul, from the node's mirror into ROOT (its own bin directory too)."""
    settings = {
        "_hashicorp_release_product": "consul",
        "_hashicorp_release_version": VERSION,
        "_hashicorp_release_install_method": "archive",
        "_hashicorp_release_base_url": "http://127.0.0.1:8999",
        "_hashicorp_release_install_root": ROOT,
        "_hashicorp_release_bin_dir": f"{ROOT}/bin",
        "_hashicorp_release_gpg_key": "{{ consul_release_gpg_key }}",
        **role_vars,
    }
    playbook = tmp_path / "release.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "single1",
                    "become": True,
                    "gather_subset": ["min"],
                    "tasks": [
                        {"file": {"path": f"{ROOT}/bin", "state": "directory", "mode": "0755"}},
                        {"include_role": {"name": "dockyard.discovery._hashicorp_release"}, "vars": settings},
                    ],
                }
            ]
        )
    )
    return ansible_playbook(playbook, "-v", *args)


@pytest.fixture
def mirror(single):
    """The node's copy of the consul release, restored (and ROOT removed) after the test."""
    single.check(f"rm -rf {ROOT} /srv/release-backup && mkdir -p {ROOT}/bin && cp -a {RELEASE} /srv/release-backup")
    yield single
    single.check(f"rm -rf {RELEASE} {ROOT} && mv /srv/release-backup {RELEASE}")


def assert_nothing_installed(node):
    assert not node.host.file(f"{ROOT}/consul/{VERSION}").exists
    assert node.run("ls -d /tmp/hashicorp-release.*").returncode != 0, "a staging directory was left behind"


def test_the_converge_fetched_and_verified_the_signature(mirror, tmp_path):
    # The converge asked the mirror for the signature of the consul it installed.
    requests_seen = mirror.check("journalctl -u lab-release-mirror --no-pager -o cat")
    assert f"GET /consul/{VERSION}/{SUMS}.sig" in requests_seen
    # The same install, into the test root, says which key verified it.
    result = install(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"The signature of {SUMS} verifies with key {fingerprint(TEST_KEY)}" in flat(result.stdout)
    assert mirror.host.file(INSTALLED).mode == 0o755
    assert mirror.check(f"{INSTALLED} -version").startswith(f"Consul v{VERSION}")
    assert "WARNING" not in result.stdout + result.stderr


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check-mode"])
def test_a_changed_zip_is_refused_against_the_signed_checksum(mirror, tmp_path, check_mode):
    mirror.check(f"printf tampered >> {RELEASE}/{ZIP}")
    result = install(tmp_path, *(["--check"] if check_mode else []))
    output = flat(result.stdout + result.stderr)
    assert result.returncode != 0, output
    assert f"{ZIP} has sha256" in output
    assert f"the signed {SUMS} lists for it" in output
    assert "Nothing was installed" in output
    assert_nothing_installed(mirror)


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check-mode"])
def test_a_changed_checksum_fails_the_signature(mirror, tmp_path, check_mode):
    # One digit of the zip's digest changed; the old signature kept.
    mirror.check(f"sed -i '1s/^0/1/;t;1s/^./0/' {RELEASE}/{SUMS}")
    result = install(tmp_path, *(["--check"] if check_mode else []))
    output = flat(result.stdout + result.stderr)
    assert result.returncode != 0, output
    assert f"The signature of http://127.0.0.1:8999/consul/{VERSION}/{SUMS} ({SUMS}.sig) does not verify" in output
    assert f"with key {fingerprint(TEST_KEY)}" in output
    assert "BAD signature" in output
    assert_nothing_installed(mirror)


def test_hashicorps_own_key_refuses_the_test_signed_checksums(mirror, tmp_path):
    # An empty key is the one the role ships: HashiCorp's, which did not sign this mirror.
    result = install(tmp_path, _hashicorp_release_gpg_key="")
    output = flat(result.stdout + result.stderr)
    assert result.returncode != 0, output
    assert f"does not verify with key {HASHICORP}" in output
    assert "No public key" in output
    assert_nothing_installed(mirror)


def test_without_the_signature_check_it_installs_and_warns(mirror, tmp_path):
    # HashiCorp's key would refuse this mirror (above); with the check off it is not asked.
    result = install(tmp_path, _hashicorp_release_gpg_key="", _hashicorp_release_verify_signature=False)
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = flat(result.stdout + result.stderr)
    assert "[WARNING]: Signature verification is off" in warnings
    assert f"{SUMS} from http://127.0.0.1:8999/consul/{VERSION} is trusted as the server sends it" in warnings
    assert "verifies with key" not in warnings
    assert mirror.host.file(INSTALLED).exists


def test_check_mode_verifies_a_good_release_and_installs_nothing(mirror, tmp_path):
    result = install(tmp_path, "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"The signature of {SUMS} verifies with key {fingerprint(TEST_KEY)}" in flat(result.stdout)
    assert_nothing_installed(mirror)
