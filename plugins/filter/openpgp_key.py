# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: openpgp_key
short_description: Fingerprint and binary keyring of an armored OpenPGP public key
version_added: 0.2.0
description:
  - Reads an ASCII-armored OpenPGP public key block (C(gpg --export --armor)) on the controller and
    returns the primary key's fingerprint and the key's packets, base64-encoded.
  - The packets are what C(gpg --dearmor) writes, a keyring that C(gpgv) reads. Debian 12's
    gpgv 2.2 refuses an armored keyring, and the host then needs no gpg to make one.
  - Checks the armor's CRC24 when the block has one. Fingerprints are computed for key versions 4, 5 and 6.
author: dockyard.discovery contributors (@dockyard)
options:
  _input:
    description: The armored key block.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The fingerprint of the key a release must be signed with
  ansible.builtin.debug:
    msg: "{{ (lookup('ansible.builtin.file', 'release.asc') | dockyard.discovery.openpgp_key).fingerprint }}"
"""

RETURN = r"""
_value:
  description: The key's primary fingerprint and packets.
  type: dict
  contains:
    fingerprint:
      description: Primary key fingerprint, upper-case hex without spaces.
      type: str
    keyring_b64:
      description: The dearmored key block (every packet), base64-encoded.
      type: str
"""

import base64
import binascii
import hashlib

from ansible.errors import AnsibleFilterError

BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
END = "-----END PGP PUBLIC KEY BLOCK-----"
PUBLIC_KEY_TAG = 6


def crc24(data: bytes) -> int:
    """The armor checksum of RFC 4880, section 6.1."""
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _bit in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def dearmor(text: str) -> bytes:
    """The packets of the first public key block in text."""
    lines = [line.strip() for line in str(text).splitlines()]
    try:
        start = lines.index(BEGIN)
        end = lines.index(END, start)
    except ValueError:
        raise AnsibleFilterError(f"openpgp_key: no '{BEGIN}' ... '{END}' block in the key text") from None
    body = lines[start + 1 : end]
    # Armor headers (Comment:, Version:) end at the first empty line.
    if "" in body:
        body = body[body.index("") + 1 :]
    checksum = None
    if body and body[-1].startswith("="):
        checksum = body.pop()[1:]
    try:
        data = base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError) as error:
        raise AnsibleFilterError(f"openpgp_key: the key block is not valid base64: {error}") from None
    if checksum is not None:
        try:
            expected = int.from_bytes(base64.b64decode(checksum, validate=True), "big")
        except (binascii.Error, ValueError):
            raise AnsibleFilterError(f"openpgp_key: the armor checksum '={checksum}' is not base64") from None
        if crc24(data) != expected:
            raise AnsibleFilterError("openpgp_key: the armor checksum does not match: the key text is damaged")
    return data


def first_packet(data: bytes) -> tuple:
    """(tag, body) of the first packet (RFC 4880, section 4.2; new and old formats)."""
    if not data or not data[0] & 0x80:
        raise AnsibleFilterError("openpgp_key: the key block does not start with an OpenPGP packet")
    header = data[0]
    if header & 0x40:
        tag = header & 0x3F
        first = data[1]
        if first < 192:
            length, offset = first, 2
        elif first < 224:
            length, offset = ((first - 192) << 8) + data[2] + 192, 3
        elif first == 255:
            length, offset = int.from_bytes(data[2:6], "big"), 6
        else:
            raise AnsibleFilterError("openpgp_key: a partial-length public key packet is not valid")
    else:
        tag = (header >> 2) & 0x0F
        size = {0: 1, 1: 2, 2: 4}.get(header & 0x03)
        if size is None:
            raise AnsibleFilterError("openpgp_key: an indeterminate-length public key packet is not supported")
        length, offset = int.from_bytes(data[1 : 1 + size], "big"), 1 + size
    body = data[offset : offset + length]
    if len(body) != length:
        raise AnsibleFilterError("openpgp_key: the key block is truncated")
    return tag, body


def fingerprint(body: bytes) -> str:
    """The fingerprint of a public key packet's body (RFC 4880 12.2 for v4, RFC 9580 5.5.4 for v5/v6)."""
    version = body[0]
    if version == 4:
        return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    if version in (5, 6):
        prefix = b"\x9a" if version == 5 else b"\x9b"
        return hashlib.sha256(prefix + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    raise AnsibleFilterError(f"openpgp_key: public key version {version} is not supported")


def openpgp_key(text: str) -> dict:
    data = dearmor(text)
    tag, body = first_packet(data)
    if tag != PUBLIC_KEY_TAG or not body:
        raise AnsibleFilterError(f"openpgp_key: the block's first packet is tag {tag}, not a public key (tag 6)")
    return {"fingerprint": fingerprint(body), "keyring_b64": base64.b64encode(data).decode("ascii")}


class FilterModule:
    def filters(self):
        return {"openpgp_key": openpgp_key}
