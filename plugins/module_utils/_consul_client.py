# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Consul client every module, lookup and the inventory plugin go through.

It wraps the `consul` package (python-consul2, or its maintained fork py-consul, which installs
the same module), turns every failure into a typed error from _consul_errors, and returns the
typed results of _consul_results. No Ansible imports: a plain script can use it.

    from ansible_collections.dockyard.discovery.plugins.module_utils._consul_client import ConsulClient
    client = ConsulClient.from_environment()
    index, instances = client.service_instances("web")
"""

from __future__ import annotations

import functools
import http.client
import inspect
import json
import os
import ssl
import traceback
import warnings
from contextlib import contextmanager

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import (
    ConsulConnectionError,
    ConsulError,
    ConsulInvalidArgument,
    ConsulMissingLibrary,
    ConsulTLSError,
    error_for_status,
    split_status,
)
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_options import (
    ConnectionOptions,
    resolve_connection,
)
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_results import (
    AutopilotHealth,
    Check,
    Indexed,
    KVEntry,
    Member,
    Node,
    RaftServer,
    ServiceInstance,
    parse_index,
)
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_transport import (
    KeepAliveHTTP,
    proxy_for,
)
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_validate import (
    check_index,
    check_kv_key,
    check_name,
    wait_seconds,
)

try:
    import consul
    import requests

    CONSUL_IMPORT_ERROR = None
except ImportError:
    consul = None
    requests = None
    CONSUL_IMPORT_ERROR = traceback.format_exc()

REQUIREMENT = "python-consul2 or py-consul"

# Both client libraries read these in their constructor, and let CONSUL_HTTP_TOKEN override an
# explicit token; hiding them there keeps _consul_options' precedence the only one.
_LIBRARY_ENV = ("CONSUL_HTTP_ADDR", "CONSUL_HTTP_TOKEN", "CONSUL_HTTP_SSL", "CONSUL_HTTP_SSL_VERIFY")
# Consul holds a blocking query without an explicit wait for five minutes.
DEFAULT_WAIT = "5m"


@contextmanager
def _library_env_hidden():
    saved = {name: os.environ.pop(name) for name in _LIBRARY_ENV if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


_TIMEOUT_KEYWORD = []


def _timeout_keyword() -> str | None:
    # python-consul2 forwards `timeout` to its HTTP client; py-consul 1.6+ calls it
    # connections_timeout; py-consul 1.5 (Debian 13's python3-consul) takes none.
    if not _TIMEOUT_KEYWORD:
        parameters = inspect.signature(consul.Consul.__init__).parameters
        keyword = next((name for name in ("connections_timeout", "timeout") if name in parameters), None)
        _TIMEOUT_KEYWORD.append(keyword)
    return _TIMEOUT_KEYWORD[0]


def _new_api(options: ConnectionOptions):
    verify = _ca_bundle(options.validate_certs and (options.ca_path or True))
    cert = None
    if options.client_cert:
        cert = (options.client_cert, options.client_key) if options.client_key else options.client_cert
    kwargs = {
        "host": options.host,
        "port": options.port,
        "scheme": options.scheme,
        "token": options.token,
        "dc": options.datacenter,
        "verify": verify,
        "cert": cert,
    }
    if _timeout_keyword():
        kwargs[_timeout_keyword()] = options.timeout
    direct = proxy_for(options.scheme, options.host) is None
    # python-consul2 warns about Consul features older than 1.6 each time a client is made.
    with _library_env_hidden(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        api = (_consul_on_keep_alive() if direct else consul.Consul)(**kwargs)
    if direct:
        api.http.timeout = options.timeout
        if options.token:
            # py-consul sends no token on some calls (agent members and self, raft configuration).
            api.http.default_headers["X-Consul-Token"] = options.token
        return api
    # A proxy applies: the library's requests client goes through it. requests re-reads the proxy
    # variables (and ~/.netrc) on every request; reading them once per client is enough, and
    # Consul authenticates with tokens, so netrc is not needed.
    session = api.http.session
    if options.token:
        session.headers["X-Consul-Token"] = options.token
    session.proxies.update(requests.utils.get_environ_proxies(options.base_url))
    session.trust_env = False
    if not _timeout_keyword():
        # This package's requests client sends no timeout at all: give every request ours.
        session.request = functools.partial(session.request, timeout=options.timeout)
    return api


_KEEP_ALIVE_API = []


def _consul_on_keep_alive():
    """The consul package's API class with KeepAliveHTTP as its HTTP client."""
    if not _KEEP_ALIVE_API:

        class KeepAliveConsul(consul.Consul):
            # python-consul2 passes a timeout after cert, py-consul does not: set afterwards.
            def http_connect(self, host, port, scheme, verify=True, cert=None, *_args, **_timeout):
                return KeepAliveHTTP(host, port, scheme, verify=verify, cert=cert)

        _KEEP_ALIVE_API.append(KeepAliveConsul)
    return _KEEP_ALIVE_API[0]


def _ca_bundle(verify):
    """requests' trust_env honoured REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE when no CA is given; so do we."""
    if verify is True:
        return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return verify


def _root_cause(exc: BaseException) -> str:
    seen = exc
    while seen.__context__ is not None and seen.__context__ is not seen and not seen.__suppress_context__:
        seen = seen.__context__
    text = str(seen) or str(exc)
    if "refused" in text.lower() or "refused" in str(exc).lower():
        return "connection refused"
    return text


class ConsulClient:
    """Typed, error-translated access to one Consul agent's HTTP API."""

    def __init__(self, options: ConnectionOptions | None = None):
        if consul is None:
            raise ConsulMissingLibrary(
                f"the Python library {REQUIREMENT} is required (pip install python-consul2).\n{CONSUL_IMPORT_ERROR}"
            )
        self.options = options or ConnectionOptions()
        self._api = _new_api(self.options)

    @classmethod
    def from_environment(cls, environ=None, **params) -> ConsulClient:
        """A client configured like the Consul CLI: CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, ... plus `params`."""
        return cls(resolve_connection(params, os.environ if environ is None else environ))

    @property
    def base_url(self) -> str:
        return self.options.base_url

    # --- plumbing ------------------------------------------------------------------------

    def _translate(self, exc: BaseException, action: str) -> BaseException:
        base = self.base_url
        if isinstance(exc, ConsulError):
            return exc
        # requests' exceptions are OSErrors too.
        if isinstance(exc, (OSError, http.client.HTTPException)):
            if isinstance(exc, (ssl.SSLError, requests.exceptions.SSLError)):
                return ConsulTLSError(
                    f"{action} failed: the TLS handshake with Consul at {base} failed ({_root_cause(exc)}). "
                    "Check scheme, ca_path (CONSUL_CACERT), client_cert/client_key and validate_certs."
                )
            if isinstance(exc, (TimeoutError, requests.exceptions.Timeout)):
                return ConsulConnectionError(
                    f"{action} failed: Consul at {base} did not answer within {self.options.timeout:g}s."
                )
            return ConsulConnectionError(
                f"{action} failed: cannot reach the Consul agent at {base} ({_root_cause(exc)}). "
                "Check that the agent runs and the host/port options (or CONSUL_HTTP_ADDR)."
            )
        if isinstance(exc, consul.ACLPermissionDenied):
            return error_for_status(403, str(exc), action, base)
        if isinstance(exc, consul.ACLDisabled):
            return error_for_status(401, str(exc), action, base)
        if isinstance(exc, consul.NotFound):
            return error_for_status(404, str(exc), action, base)
        if isinstance(exc, consul.ConsulException):
            status, body = split_status(str(exc))
            if status:
                return error_for_status(status, body, action, base)
            return ConsulError(f"{action} failed: {body}")
        if isinstance(exc, ValueError):
            return ConsulError(f"{action} failed: Consul at {base} sent an answer that is not JSON ({exc}).")
        return exc

    @contextmanager
    def _calling(self, action: str, wait: float | None = None):
        http = self._api.http
        # python-consul2 applies one fixed timeout, which a blocking query must outlast;
        # py-consul's timeout is a method that already adds the wait.
        adjust = wait is not None and not callable(getattr(http, "timeout", None))
        previous = getattr(http, "timeout", None)
        if adjust:
            http.timeout = self.options.timeout + wait + wait / 16
        try:
            yield
        except Exception as exc:
            translated = self._translate(exc, action)
            if translated is exc:
                raise
            raise translated from None
        finally:
            if adjust:
                http.timeout = previous

    @staticmethod
    def _blocking(index, wait):
        """index/wait arguments for the consul package, and the wait in seconds (None if not blocking)."""
        if index is None:
            return {}, None
        index = check_index(index)
        wait = DEFAULT_WAIT if wait is None else wait
        seconds = wait_seconds(wait)
        wait_text = f"{int(seconds * 1000)}ms" if seconds < 1 else f"{int(seconds)}s"
        return {"index": index, "wait": wait_text}, seconds

    def _raw(self, method: str, path: str, action: str, params=None, body=None, ok_statuses=()):
        """A request for endpoints the two consul packages do not share, through their HTTP client."""

        def callback(response):
            if response.code >= 400 and response.code not in ok_statuses:
                raise error_for_status(response.code, response.body, action, self.base_url)
            data = json.loads(response.body) if response.body else None
            return parse_index(response.headers.get("X-Consul-Index")), data

        headers = {"X-Consul-Token": self.options.token} if self.options.token else {}
        call = getattr(self._api.http, method)
        with self._calling(action):
            if body is None:
                return call(callback, path, params=params or [], headers=headers)
            return call(callback, path, params=params or [], data=json.dumps(body), headers=headers)

    @staticmethod
    def _node_meta(node_meta):
        return dict(node_meta) if node_meta else None

    # --- catalog and health --------------------------------------------------------------

    def service_instances(
        self,
        service: str,
        passing: bool = True,
        catalog: bool = False,
        tag: str | None = None,
        node_meta: dict | None = None,
        datacenter: str | None = None,
        near: str | None = None,
        index=None,
        wait=None,
    ) -> Indexed:
        """Instances of a service. By default only those whose checks all pass (the health view).

        `catalog=True` reads the catalog instead: every registration, whatever its health,
        including those of dead nodes the catalog keeps for up to 72 hours; no check data.
        An unknown service gives an empty list.
        """
        check_name("service", service)
        blocking, seconds = self._blocking(index, wait)
        common = {"tag": tag, "dc": datacenter, "near": near, "node_meta": self._node_meta(node_meta), **blocking}
        if catalog:
            with self._calling(f"reading the catalog entries of service {service!r}", seconds):
                raw_index, entries = self._api.catalog.service(service, **common)
            instances = [ServiceInstance.from_catalog(e) for e in entries or []]
        else:
            with self._calling(f"reading the healthy instances of service {service!r}", seconds):
                raw_index, entries = self._api.health.service(service, passing=passing, **common)
            instances = [ServiceInstance.from_health(e) for e in entries or []]
        return Indexed(parse_index(raw_index), instances)

    def services(self, datacenter=None, node_meta=None, index=None, wait=None) -> Indexed:
        """Service names with their tags: {name: [tags]}; tags sorted, as Consul's order varies between calls."""
        blocking, seconds = self._blocking(index, wait)
        with self._calling("listing services", seconds):
            raw_index, services = self._api.catalog.services(
                dc=datacenter, node_meta=self._node_meta(node_meta), **blocking
            )
        return Indexed(parse_index(raw_index), {name: sorted(tags or []) for name, tags in (services or {}).items()})

    def nodes(self, datacenter=None, node_meta=None, near=None, index=None, wait=None) -> Indexed:
        blocking, seconds = self._blocking(index, wait)
        with self._calling("listing nodes", seconds):
            raw_index, nodes = self._api.catalog.nodes(
                dc=datacenter, near=near, node_meta=self._node_meta(node_meta), **blocking
            )
        return Indexed(parse_index(raw_index), [Node.from_api(n) for n in nodes or []])

    def node_services(self, node: str, datacenter=None) -> list:
        """The services registered on one catalog node, as ServiceInstance (no health); [] if unknown."""
        check_name("node", node)
        with self._calling(f"reading node {node!r}"):
            _index, data = self._api.catalog.node(node, dc=datacenter)
        if not data:
            return []
        node_data = dict(data.get("Node") or {})
        instances = []
        for service in (data.get("Services") or {}).values():
            entry = {
                "Node": node_data.get("Node"),
                "Address": node_data.get("Address"),
                "Datacenter": node_data.get("Datacenter"),
                "NodeMeta": node_data.get("Meta"),
                "ServiceID": service.get("ID"),
                "ServiceName": service.get("Service"),
                "ServiceAddress": service.get("Address"),
                "ServicePort": service.get("Port"),
                "ServiceTags": service.get("Tags"),
                "ServiceMeta": service.get("Meta"),
            }
            instances.append(ServiceInstance.from_catalog(entry))
        return sorted(instances, key=lambda i: i.service_id)

    def datacenters(self) -> list:
        with self._calling("listing datacenters"):
            return list(self._api.catalog.datacenters() or [])

    def checks(self, state: str = "any", datacenter=None, index=None, wait=None) -> Indexed:
        """Every check in a datacenter in the given state (any, passing, warning, critical)."""
        if state not in ("any", "passing", "warning", "critical"):
            raise ConsulInvalidArgument(f"check state {state!r} is not one of any, passing, warning, critical.")
        blocking, seconds = self._blocking(index, wait)
        with self._calling(f"listing {state} checks", seconds):
            raw_index, checks = self._api.health.state(state, dc=datacenter, **blocking)
        return Indexed(parse_index(raw_index), [Check.from_api(c) for c in checks or []])

    # --- cluster -------------------------------------------------------------------------

    def members(self, wan: bool = False) -> list:
        with self._calling("listing cluster members"):
            return [Member.from_api(m) for m in self._api.agent.members(wan=wan) or []]

    def leader(self) -> str:
        """The leader's RPC address, or '' when the cluster has none."""
        with self._calling("asking for the raft leader"):
            return self._api.status.leader() or ""

    def peers(self) -> list:
        with self._calling("listing raft peers"):
            return list(self._api.status.peers() or [])

    def raft_servers(self) -> list:
        with self._calling("reading the raft configuration"):
            config = self._api.operator.raft_config() or {}
        return [RaftServer.from_api(s) for s in config.get("Servers") or []]

    def autopilot_health(self) -> AutopilotHealth:
        # Consul answers 429, with the same body, while the cluster is unhealthy.
        _index, data = self._raw("get", "/v1/operator/autopilot/health", "reading autopilot health", ok_statuses=(429,))
        return AutopilotHealth.from_api(data or {})

    # --- local agent ---------------------------------------------------------------------

    def agent_self(self) -> dict:
        with self._calling("reading the agent's configuration"):
            return self._api.agent.self() or {}

    def agent_services(self) -> dict:
        """The services registered on this agent, {service ID: the agent's JSON for it}."""
        with self._calling("listing the agent's services"):
            return dict(self._api.agent.services() or {})

    def agent_checks(self) -> dict:
        with self._calling("listing the agent's checks"):
            return dict(self._api.agent.checks() or {})

    def register_service(self, registration: dict, replace_existing_checks: bool = False) -> None:
        """PUT /v1/agent/service/register with a complete registration body (ID, Name, Check(s), ...).

        With replace_existing_checks, checks of the service missing from the body are removed.
        """
        check_name("service", registration.get("Name"))
        action = f"registering service {registration.get('ID') or registration.get('Name')!r}"
        params = [("replace-existing-checks", "true")] if replace_existing_checks else []
        self._raw("put", "/v1/agent/service/register", action, params=params, body=registration)

    def deregister_service(self, service_id: str) -> None:
        """Raises ConsulNotFound when the agent has no service with this ID."""
        check_name("service ID", service_id)
        action = f"deregistering service {service_id!r}"
        with self._calling(action):
            # Both consul packages answer a 404 here with False instead of raising.
            found = self._api.agent.service.deregister(service_id)
        if not found:
            raise error_for_status(404, f"no service with ID {service_id!r} on this agent", action, self.base_url)

    # --- key/value -----------------------------------------------------------------------

    def kv_get(self, key: str, recurse: bool = False, datacenter=None, index=None, wait=None) -> Indexed:
        """One entry (KVEntry or None when absent) or, with recurse, the list of entries under a prefix."""
        check_kv_key(key, allow_empty=recurse)
        blocking, seconds = self._blocking(index, wait)
        with self._calling(f"reading key {key!r}", seconds):
            raw_index, data = self._api.kv.get(key, recurse=recurse, dc=datacenter, **blocking)
        if recurse:
            return Indexed(parse_index(raw_index), [KVEntry.from_api(e) for e in data or []])
        return Indexed(parse_index(raw_index), KVEntry.from_api(data) if data else None)

    def kv_put(self, key: str, value: str, cas: int | None = None, flags: int | None = None, datacenter=None) -> bool:
        """Write a key. With `cas`, only if its ModifyIndex still equals cas (0: only if absent).

        Returns False when the cas check failed, True otherwise.
        """
        check_kv_key(key)
        if cas is not None:
            cas = check_index(cas)
        with self._calling(f"writing key {key!r}"):
            return bool(self._api.kv.put(key, value, cas=cas, flags=flags, dc=datacenter))

    def kv_delete(self, key: str, recurse: bool = False, cas: int | None = None, datacenter=None) -> bool:
        check_kv_key(key)
        if cas is not None:
            cas = check_index(cas)
        with self._calling(f"deleting key {key!r}" + (" and everything under it" if recurse else "")):
            return bool(self._api.kv.delete(key, recurse=recurse or None, cas=cas, dc=datacenter))
