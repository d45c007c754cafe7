# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options, declared once, and how they merge with the Consul CLI's environment.

One precedence order, for every option and for modules, lookups and the inventory plugin alike:

1. a value set through Ansible: the task argument (or module_defaults) for a module; for a lookup
   or the inventory plugin whatever Ansible's get_option returns (lookup keyword or inventory
   source option > variable > ansible.cfg [dockyard_discovery]);
2. the Consul CLI environment variables of the option's row in CONNECTION_OPTIONS, in that order
   (on the managed host for a module, on the controller for a plugin);
3. the built-in default.

Only resolve_connection reads these environment variables: the plugins' doc fragment declares
no `env:` for them, since Ansible would then let them beat ansible.cfg, a second order. (The
same split as community.hashi_vault, whose VAULT_ADDR and VAULT_TOKEN bind late, under every
Ansible source.) No Ansible imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._consul_errors import ConsulInvalidArgument

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8500
DEFAULT_SCHEME = "http"
DEFAULT_TIMEOUT = 10.0

# name -> (argument spec type, the Consul CLI environment variables that fill it when no value is
# set through Ansible, first one first). The module adapter builds its argument spec from this
# table, the plugin adapter reads these names, resolve_connection reads these variables, and a
# unit test holds the doc fragment to it.
CONNECTION_OPTIONS = {
    "host": ("str", ("CONSUL_HTTP_ADDR",)),
    "port": ("int", ("CONSUL_HTTP_ADDR",)),
    "scheme": ("str", ("CONSUL_HTTP_ADDR", "CONSUL_HTTP_SSL")),
    "token": ("str", ("CONSUL_HTTP_TOKEN",)),
    "ca_path": ("path", ("CONSUL_CACERT",)),
    "client_cert": ("path", ("CONSUL_CLIENT_CERT",)),
    "client_key": ("path", ("CONSUL_CLIENT_KEY",)),
    "validate_certs": ("bool", ("CONSUL_HTTP_SSL_VERIFY",)),
    "datacenter": ("str", ()),
    "timeout": ("float", ()),
}

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


def _read_addr(name: str, value: str) -> dict:
    scheme, host, port = parse_http_addr(value)
    return {"scheme": scheme, "host": host, "port": port}


def _read_ssl(name: str, value: str) -> dict:
    # CONSUL_HTTP_SSL=false says nothing about the scheme: the default (http) stays.
    return {"scheme": "https" if _env_bool({name: value}, name) else None}


def _read_verify(name: str, value: str) -> dict:
    return {"validate_certs": _env_bool({name: value}, name)}


def _read_plain(option: str):
    return lambda name, value: {option: value}


# How each variable of the table reads: what it gives each option it fills.
_ENV_READERS = {
    "CONSUL_HTTP_ADDR": _read_addr,
    "CONSUL_HTTP_SSL": _read_ssl,
    "CONSUL_HTTP_SSL_VERIFY": _read_verify,
    "CONSUL_HTTP_TOKEN": _read_plain("token"),
    "CONSUL_CACERT": _read_plain("ca_path"),
    "CONSUL_CLIENT_CERT": _read_plain("client_cert"),
    "CONSUL_CLIENT_KEY": _read_plain("client_key"),
}


def from_environment(option: str, environ):
    """The value of `option` from the Consul CLI environment (its CONNECTION_OPTIONS row), or None.

    A variable is parsed only when it is consulted: a malformed CONSUL_HTTP_ADDR does not matter
    when host, port and scheme are all set.
    """
    for env_name in CONNECTION_OPTIONS[option][1]:
        raw = environ.get(env_name)
        if _blank(raw):
            continue
        value = _ENV_READERS[env_name](env_name, raw.strip()).get(option)
        if value is not None:
            return value
    return None


def resolve_connection(params: dict, environ) -> ConnectionOptions:
    """Merge options set through Ansible with the Consul CLI environment; validate the result.

    `params` may hold any subset of CONNECTION_OPTIONS, None or blank meaning not given. Each
    option on its own: given > its environment variables > default (see the module docstring).
    """
    given = {name: params.get(name) for name in CONNECTION_OPTIONS if not _blank(params.get(name))}

    def pick(name):
        return given[name] if name in given else from_environment(name, environ)

    scheme = str(pick("scheme") or DEFAULT_SCHEME).lower()
    if scheme not in ("http", "https"):
        raise ConsulInvalidArgument(f"option scheme={scheme!r} must be http or https.")

    host = str(pick("host") or DEFAULT_HOST).strip()
    port = pick("port")
    port = DEFAULT_PORT if port is None else _to_int("port", port)
    if not 0 < port < 65536:
        raise ConsulInvalidArgument(f"option port={port} is out of range (1-65535).")

    client_cert, client_key = pick("client_cert"), pick("client_key")
    if client_key and not client_cert:
        raise ConsulInvalidArgument(
            "client_key (or CONSUL_CLIENT_KEY) is set without client_cert (CONSUL_CLIENT_CERT)."
        )

    validate_certs = pick("validate_certs")
    validate_certs = True if validate_certs is None else _to_bool("validate_certs", validate_certs)

    timeout = pick("timeout")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    else:
        try:
            timeout = float(timeout)
        except (TypeError, ValueError):
            raise ConsulInvalidArgument(f"option timeout={timeout!r} is not a number of seconds.") from None
        if timeout <= 0:
            raise ConsulInvalidArgument(f"option timeout={timeout} must be greater than 0.")

    return ConnectionOptions(
        host=host,
        port=port,
        scheme=scheme,
        token=pick("token"),
        ca_path=pick("ca_path"),
        client_cert=client_cert,
        client_key=client_key,
        validate_certs=validate_certs,
        datacenter=pick("datacenter"),
        timeout=timeout,
    )
