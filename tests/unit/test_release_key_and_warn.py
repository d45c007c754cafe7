# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The openpgp_key filter (fingerprint and keyring of the release key _hashicorp_release ships) and the
warn module (a real warning, not output)."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dockyard.discovery.plugins.filter.openpgp_key import crc24, openpgp_key
from ansible_collections.dockyard.discovery.plugins.modules import warn

COLLECTIONS = Path(__file__).resolve().parents[2] / "build" / "collections"
SHIPPED = Path(__file__).resolve().parents[2] / "roles" / "_hashicorp_release" / "files" / "hashicorp-release.asc"
HASHICORP = "C874011F0AB405110D02105534365D9472D7468F"


def test_the_shipped_key_is_hashicorps_release_key():
    key = openpgp_key(SHIPPED.read_text())
    assert key["fingerprint"] == HASHICORP
    # The keyring is the armored body, dearmored: it starts with the public key packet (old format, tag 6).
    packets = base64.b64decode(key["keyring_b64"])
    assert packets[0] & 0xBC == 0x98


def test_armor_headers_and_surrounding_text_are_skipped():
    text = SHIPPED.read_text()
    noisy = "some text before\n" + text.replace("Comment:", "Version: x\nComment:", 1) + "\nand after\n"
    assert openpgp_key(noisy)["fingerprint"] == HASHICORP


def test_a_damaged_key_is_refused_by_its_checksum():
    lines = SHIPPED.read_text().splitlines()
    body = next(i for i, line in enumerate(lines) if line.startswith("mQIN"))
    lines[body + 3] = lines[body + 3][:10] + ("A" if lines[body + 3][10] != "A" else "B") + lines[body + 3][11:]
    with pytest.raises(AnsibleFilterError, match="checksum does not match"):
        openpgp_key("\n".join(lines))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not a key", "no '-----BEGIN PGP PUBLIC KEY BLOCK-----'"),
        ("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n%%%%\n-----END PGP PUBLIC KEY BLOCK-----\n", "not valid base64"),
        (
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"
            + base64.b64encode(b"\xc2\x01\x04").decode()
            + "\n-----END PGP PUBLIC KEY BLOCK-----\n",
            "tag 2, not a public key",
        ),
        (
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"
            + base64.b64encode(b"\x99\x01\x00\x04").decode()
            + "\n-----END PGP PUBLIC KEY BLOCK-----\n",
            "truncated",
        ),
    ],
)
def test_what_is_not_a_public_key_is_refused(text, message):
    with pytest.raises(AnsibleFilterError, match=message):
        openpgp_key(text)


def test_crc24_of_rfc4880():
    # The initial value alone, and the shipped key's own armor checksum (=wtp+).
    assert crc24(b"") == 0xB704CE
    packets = base64.b64decode(openpgp_key(SHIPPED.read_text())["keyring_b64"])
    assert crc24(packets) == int.from_bytes(base64.b64decode("wtp+"), "big")


def test_the_warn_module_returns_a_warning_and_changes_nothing(tmp_path):
    # Run as Ansible runs it, in its own process: the warning must reach the module's JSON result.
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"msg": "signatures are off", "_ansible_check_mode": True}}))
    done = subprocess.run(
        [sys.executable, warn.__file__, str(args)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(COLLECTIONS)},
    )
    result = json.loads(done.stdout)
    assert result["changed"] is False, done.stdout
    # ansible-core 2.19 returns warnings as structured summaries; older ones as strings.
    assert "signatures are off" in json.dumps(result["warnings"]), done.stdout
