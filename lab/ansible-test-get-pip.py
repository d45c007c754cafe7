"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads from
ci-files.testing.ansible.com, which is out of reach here. It installs pip with the
interpreter's own ensurepip, then lets that pip install what ansible-test asked for
(from PyPI, which is reachable). `make sanity` copies it into ansible-test's cache."""

import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
# ensurepip leaves PIP_CONFIG_FILE=/dev/null behind, which would hide the site's pip.conf
# (index, certificates) from the install below.
os.environ.pop("PIP_CONFIG_FILE", None)
os.environ.pop("ENSUREPIP_OPTIONS", None)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade", *args]))
