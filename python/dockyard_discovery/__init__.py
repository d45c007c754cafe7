# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dockyard.discovery's Consul client as a Python package: `pip install dockyard-discovery`.

The names in __all__ are the public API; they follow the collection's version (semantic
versioning). Everything under dockyard_discovery._core is private: it is the collection's
plugins/module_utils, shipped unchanged so that modules, lookups and scripts run the same code.

    from dockyard_discovery import ConsulClient
    client = ConsulClient.from_environment()      # CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, ...
    index, instances = client.service_instances("web")
"""

from __future__ import annotations

from importlib import metadata as _metadata

from ._core._consul_client import ConsulClient
from ._core._consul_errors import (
    ConsulACLDenied,
    ConsulBadRequest,
    ConsulConnectionError,
    ConsulError,
    ConsulInvalidArgument,
    ConsulMissingLibrary,
    ConsulNoLeader,
    ConsulNotConsul,
    ConsulNotFound,
    ConsulServerError,
    ConsulTLSError,
)
from ._core._consul_options import CONNECTION_OPTIONS, ConnectionOptions, resolve_connection
from ._core._consul_results import (
    AutopilotHealth,
    Check,
    Indexed,
    KVEntry,
    Member,
    Node,
    RaftServer,
    ServiceInstance,
)

try:
    __version__ = _metadata.version("dockyard-discovery")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "CONNECTION_OPTIONS",
    "AutopilotHealth",
    "Check",
    "ConnectionOptions",
    "ConsulACLDenied",
    "ConsulBadRequest",
    "ConsulClient",
    "ConsulConnectionError",
    "ConsulError",
    "ConsulInvalidArgument",
    "ConsulMissingLibrary",
    "ConsulNoLeader",
    "ConsulNotConsul",
    "ConsulNotFound",
    "ConsulServerError",
    "ConsulTLSError",
    "Indexed",
    "KVEntry",
    "Member",
    "Node",
    "RaftServer",
    "ServiceInstance",
    "__version__",
    "resolve_connection",
]
