# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options, declared once, and how they merge with the Consul CLI's environment.

Precedence, for modules, lookups and the inventory plugin alike:
explicit value (task argument, lookup keyword, plugin var/ini/config) > Consul CLI environment
variable > built-in default. No Ansible imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulInvalidArgument

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8500
DEFAULT_SCHEME = "http"
DEFAULT_TIMEOUT = 10.0

# name -> (argument spec type, Consul CLI environment variable or None). The module adapter
# builds its argument spec from this table and the plugin adapter reads these names.
CONNECTION_OPTIONS = {
    "host": ("str", "CONSUL_HTTP_ADDR"),
    "port": ("int", "CONSUL_HTTP_ADDR"),
    "scheme": ("str", "CONSUL_HTTP_ADDR"),
    "token": ("str", "CONSUL_HTTP_TOKEN"),
    "ca_path": ("path", "CONSUL_CACERT"),
    "client_cert": ("path", "CONSUL_CLIENT_CERT"),
    "client_key": ("path", "CONSUL_CLIENT_KEY"),
    "validate_certs": ("bool", "CONSUL_HTTP_SSL_VERIFY"),
    "datacenter": ("str", None),
    "timeout": ("float", None),
}

_SIMPLE_ENV = {"token": "CONSUL_HTTP_TOKEN", "ca_path": "CONSUL_CACERT", "client_cert": "CONSUL_CLIENT_CERT"}
_TRUE = ("1", "t", "true", "yes", "on")
_FALSE = ("0", "f", "false", "no", "off")


@dataclass(frozen=True)
class ConnectionOptions:
    """Where and how to reach one Consul agent."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    scheme: str = DEFAULT_SCHEME
    token: str | None = None
    ca_path: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    validate_certs: bool = True
    datacenter: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def __repr__(self) -> str:
        # Keeps the token out of logs and tracebacks.
        token = "<set>" if self.token else None
        return f"ConnectionOptions(base_url={self.base_url!r}, token={token}, datacenter={self.datacenter!r})"

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


_ADDR = re.compile(
    r"^(?:(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://)?(?P<host>\[[0-9a-fA-F:.]+\]|[^:/\[\]]+)(?::(?P<port>\d+))?/?$"
)


def parse_http_addr(value: str) -> tuple[str | None, str, int | None]:
    """CONSUL_HTTP_ADDR as the Consul CLI reads it: [scheme://]host[:port]. Returns (scheme, host, port)."""
    match = _ADDR.match((value or "").strip())
    if not match:
        raise ConsulInvalidArgument(
            f"CONSUL_HTTP_ADDR={value!r} is not an address; expected host:port or http(s)://host:port."
        )
    scheme = match.group("scheme")
    if scheme is not None:
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise ConsulInvalidArgument(
                f"CONSUL_HTTP_ADDR={value!r} uses scheme {scheme!r}; only http and https are supported."
            )
    port = int(match.group("port")) if match.group("port") else None
    return scheme, match.group("host").strip("[]"), port


def _env_bool(environ, name: str) -> bool | None:
    raw = (environ.get(name) or "").strip().lower()
    if not raw:
        return None
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConsulInvalidArgument(f"{name}={environ.get(name)!r} is not a boolean; use true or false.")


def _to_bool(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConsulInvalidArgument(f"option {name}={value!r} is not a boolean.")


def _to_int(name: str, value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConsulInvalidArgument(f"option {name}={value!r} is not an integer.") from None


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def resolve_connection(params: dict, environ) -> ConnectionOptions:
    """Merge explicit options with the Consul CLI environment; validate the result.

    `params` may hold any subset of CONNECTION_OPTIONS, None meaning not given.
    """
    given = {name: params.get(name) for name in CONNECTION_OPTIONS if not _blank(params.get(name))}

    addr_scheme, addr_host, addr_port = None, None, None
    if environ.get("CONSUL_HTTP_ADDR") and not {"host", "port", "scheme"} <= set(given):
        addr_scheme, addr_host, addr_port = parse_http_addr(environ["CONSUL_HTTP_ADDR"])

    scheme = given.get("scheme") or addr_scheme
    if scheme is None:
        scheme = "https" if _env_bool(environ, "CONSUL_HTTP_SSL") else DEFAULT_SCHEME
    scheme = str(scheme).lower()
    if scheme not in ("http", "https"):
        raise ConsulInvalidArgument(f"option scheme={scheme!r} must be http or https.")

    host = str(given.get("host") or addr_host or DEFAULT_HOST).strip()
    port = _to_int("port", given["port"]) if "port" in given else (addr_port or DEFAULT_PORT)
    if not 0 < port < 65536:
        raise ConsulInvalidArgument(f"option port={port} is out of range (1-65535).")

    resolved = {}
    for name, env_name in _SIMPLE_ENV.items():
        value = given.get(name) or environ.get(env_name) or None
        resolved[name] = value
    client_key = given.get("client_key") or environ.get("CONSUL_CLIENT_KEY") or None
    if client_key and not resolved["client_cert"]:
        raise ConsulInvalidArgument(
            "client_key (or CONSUL_CLIENT_KEY) is set without client_cert (CONSUL_CLIENT_CERT)."
        )

    if "validate_certs" in given:
        validate_certs = _to_bool("validate_certs", given["validate_certs"])
    else:
        from_env = _env_bool(environ, "CONSUL_HTTP_SSL_VERIFY")
        validate_certs = True if from_env is None else from_env

    timeout = DEFAULT_TIMEOUT
    if "timeout" in given:
        try:
            timeout = float(given["timeout"])
        except (TypeError, ValueError):
            raise ConsulInvalidArgument(f"option timeout={given['timeout']!r} is not a number of seconds.") from None
        if timeout <= 0:
            raise ConsulInvalidArgument(f"option timeout={timeout} must be greater than 0.")

    return ConnectionOptions(
        host=host,
        port=port,
        scheme=scheme,
        token=resolved["token"],
        ca_path=resolved["ca_path"],
        client_cert=resolved["client_cert"],
        client_key=client_key,
        validate_certs=validate_certs,
        datacenter=given.get("datacenter"),
        timeout=timeout,
    )
