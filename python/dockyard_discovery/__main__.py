# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""python -m dockyard_discovery: the dockyard-discovery command."""

import sys

from .cli import main

sys.exit(main())
