# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plugin adapter: a ConsulClient from a plugin's options, ConsulError raised as an AnsibleError.

Kept out of module_utils because it imports the controller-only ansible.errors.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from ansible.errors import AnsibleError

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_client import (
    CONSUL_IMPORT_ERROR,
    REQUIREMENT,
    ConsulClient,
)
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulError
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_options import (
    CONNECTION_OPTIONS,
    resolve_connection,
)


@contextmanager
def ansible_errors(error_class=AnsibleError):
    """Re-raise ConsulError as `error_class` with the same message: no traceback for the user."""
    try:
        yield
    except ConsulError as error:
        raise error_class(error.message) from None


# Clients by connection options, so that lookups repeated in one process (a loop, several
# lookups in one template) reuse one client and its keep-alive connection. Bounded.
_CLIENTS: dict = {}
_MAX_CLIENTS = 8


def client_for(plugin, error_class=AnsibleError) -> ConsulClient:
    """A client from the plugin's connection options: get_option (keyword or source option > variable
    > ansible.cfg) > the Consul CLI environment > default, as in _consul_options."""
    if CONSUL_IMPORT_ERROR is not None:
        raise error_class(
            f"{plugin.ansible_name or 'this plugin'} needs the Python library {REQUIREMENT} on the controller."
        )
    params = {name: plugin.get_option(name) for name in CONNECTION_OPTIONS}
    with ansible_errors(error_class):
        options = resolve_connection(params, os.environ)
        client = _CLIENTS.get(options)
        if client is None:
            if len(_CLIENTS) >= _MAX_CLIENTS:
                # Closed, not just dropped: its keep-alive socket would stay open until the process ends.
                _CLIENTS.pop(next(iter(_CLIENTS))).close()
            client = _CLIENTS[options] = ConsulClient(options)
        return client
