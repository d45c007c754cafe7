# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The Docker API option of the modules that talk to the Docker engine (module_utils/_docker_api.py).
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - Docker API address, for example V(unix:///var/run/docker.sock) or V(tcp://127.0.0.1:2375).
      - When not set, E(DOCKER_HOST) is used, then V(unix:///var/run/docker.sock).
    type: str
requirements:
  - docker (the Docker SDK for Python)
"""
