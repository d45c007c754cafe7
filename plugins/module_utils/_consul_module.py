# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module adapter: the connection argument spec, a ConsulClient per module run, errors as fail_json."""

from __future__ import annotations

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ._consul_client import (
    CONSUL_IMPORT_ERROR,
    REQUIREMENT,
    ConsulClient,
)
from ._consul_errors import ConsulError
from ._consul_options import (
    CONNECTION_OPTIONS,
    DEFAULT_TIMEOUT,
    resolve_connection,
)


def connection_argument_spec() -> dict:
    """The argument spec of the dockyard.discovery.connection doc fragment.

    host, port, scheme and validate_certs have no default here, so that an unset option can
    fall back to the Consul CLI environment in resolve_connection.
    """
    spec = {name: {"type": type_name} for name, (type_name, _env) in CONNECTION_OPTIONS.items()}
    spec["scheme"]["choices"] = ["http", "https"]
    spec["token"]["no_log"] = True
    spec["timeout"]["default"] = DEFAULT_TIMEOUT
    return spec


class ConsulModule:
    """An AnsibleModule with the connection options, and the client and failure handling on top."""

    def __init__(self, argument_spec: dict, **kwargs):
        spec = connection_argument_spec()
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        if CONSUL_IMPORT_ERROR is not None:
            self.module.fail_json(msg=missing_required_lib(REQUIREMENT), exception=CONSUL_IMPORT_ERROR)
        self._client = None

    @property
    def params(self) -> dict:
        return self.module.params

    @property
    def check_mode(self) -> bool:
        return self.module.check_mode

    @property
    def diff_mode(self) -> bool:
        return self.module._diff

    @property
    def client(self) -> ConsulClient:
        if self._client is None:
            params = {name: self.module.params.get(name) for name in CONNECTION_OPTIONS}
            self._client = ConsulClient(resolve_connection(params, os.environ))
        return self._client

    def fail(self, error: ConsulError, **result):
        self.module.fail_json(msg=error.message, error=error.kind, status=error.status, **result)

    def run(self, action, errors: tuple = ()) -> None:
        """Call action(self) -> result dict and exit with it; a ConsulError becomes fail_json.

        `errors`: other typed errors (message, kind and status like ConsulError's, e.g. the Docker
        API's) failed the same way under their own kind, rather than passed off as Consul's.
        """
        try:
            result = action(self)
        except (ConsulError, *errors) as error:
            self.fail(error)
        self.module.exit_json(**result)
