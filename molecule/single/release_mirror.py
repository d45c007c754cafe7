"""Lay out a releases.hashicorp.com-like mirror of one binary: <out>/<product>/<version>/ with the
release zip and <product>_<version>_SHA256SUMS, so the archive install method can run offline
(prepare.yml then signs SHA256SUMS with a test key: <product>_<version>_SHA256SUMS.sig).

usage: release_mirror.py OUT PRODUCT VERSION BINARY
"""

import hashlib
import sys
import zipfile
from pathlib import Path


def main(out: str, product: str, version: str, binary: str) -> None:
    release = Path(out) / product / version
    release.mkdir(parents=True, exist_ok=True)
    archive = release / f"{product}_{version}_linux_amd64.zip"
    # Stored, not deflated: a valid release zip in a fraction of the time.
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as bundle:
        info = zipfile.ZipInfo(product)
        info.external_attr = 0o100755 << 16
        with open(binary, "rb") as source, bundle.open(info, "w") as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (release / f"{product}_{version}_SHA256SUMS").write_text(f"{digest}  {archive.name}\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
