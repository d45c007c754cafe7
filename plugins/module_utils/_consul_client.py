# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Consul client every module, lookup and the inventory plugin go through.

It wraps the `consul` package (python-consul2, or its maintained fork py-consul, which installs
the same module), turns every failure into a typed error from _consul_errors, and returns the
typed results of _consul_results. No Ansible imports: a plain script can use it, through the
Python package (pip install dockyard-discovery), where this directory is dockyard_discovery._core:

    from dockyard_discovery import ConsulClient
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

from ._consul_acl import ACLEndpoints
from ._consul_agent_admin import AgentAdminEndpoints
from ._consul_errors import (
    ConsulBadRequest,
    ConsulConnectionError,
    ConsulError,
    ConsulInvalidArgument,
    ConsulMissingLibrary,
    ConsulNotConsul,
    ConsulTLSError,
    error_for_status,
    split_status,
)
from ._consul_options import (
    ConnectionOptions,
    resolve_connection,
)
from ._consul_results import (
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
from ._consul_transport import (
    KeepAliveHTTP,
    consul_answered,
    non_http_answer,
    proxy_for,
    tls_file_problems,
)
from ._consul_validate import (
    check_index,
    check_kv_flags,
    check_kv_key,
    check_name,
    wait_duration,
)

try:
    import consul
    import requests

    CONSUL_IMPORT_ERROR = None
    CONSUL_IMPORT_REASON = ""
except ImportError as _import_error:
    consul = None
    requests = None
    # The traceback is for Ansible's missing_required_lib report; a script gets the one-line reason.
    CONSUL_IMPORT_ERROR = traceback.format_exc()
    CONSUL_IMPORT_REASON = str(_import_error)

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
    _check_answers(api.http)
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


class _NotConsulAnswer(Exception):
    """Raised inside an answer's callback; ConsulClient._translate adds the action and the address."""

    def __init__(self, detail: str, status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        self.status = status


# Go's TLS listener answers a plain HTTP request with this 400, without any Consul header.
_HTTP_TO_HTTPS = "HTTP request to an HTTPS server"


def _checked(response):
    """The answer, if Consul sent it. The one place where a foreign server is told from an agent."""
    if consul_answered(response.headers):
        return response
    body = (response.body or "").strip() if isinstance(response.body, str) else ""
    if response.code == 400 and _HTTP_TO_HTTPS in body:
        raise _NotConsulAnswer(body, 400)
    server = response.headers.get("Server") if response.headers is not None else None
    by = f" from {server!r}" if server else ""
    raise _NotConsulAnswer(f"it answered HTTP {response.code}{by} without any of Consul's X-Consul-* headers")


def _check_answers(http) -> None:
    """Route every answer of this HTTP client (KeepAliveHTTP or the library's requests client, for
    the library's calls and _raw alike) through _checked before its callback parses it.

    The library's callbacks index the JSON as Consul shapes it; a body of another shape fails there
    with KeyError, IndexError, TypeError or AttributeError, which says the server is not Consul.
    """
    for method in ("get", "put", "delete", "post"):
        original = getattr(http, method)

        def checked_call(callback, *args, _original=original, **kwargs):
            def checked_callback(response):
                response = _checked(response)
                try:
                    return callback(response)
                except (KeyError, IndexError, TypeError, AttributeError) as exc:
                    raise _NotConsulAnswer(
                        f"its answer has a shape Consul never sends ({type(exc).__name__}: {exc})"
                    ) from None

            return _original(checked_callback, *args, **kwargs)

        setattr(http, method, checked_call)


_SHAPE_NAMES = {dict: "a JSON object", list: "a JSON array", str: "a JSON string"}


def _shaped(value, expected: type, action: str, base_url: str, elements: type | None = None, optional=False):
    """`value` if it has the JSON shape Consul gives this endpoint; ConsulNotConsul otherwise.

    Catches a server that carries X-Consul-* headers (a mock, a misrouted proxy) but answers
    something else, e.g. null or a list where Consul sends an object.
    """
    if value is None and optional:
        return value
    wrong = not isinstance(value, expected)
    if not wrong and elements is not None:
        items = value.values() if isinstance(value, dict) else value
        wrong = not all(isinstance(item, elements) for item in items)
    if wrong:
        what = "null" if value is None else type(value).__name__
        inside = f" of {_SHAPE_NAMES.get(elements, elements)}s" if elements else ""
        raise ConsulNotConsul(
            f"{action} failed: the server at {base_url} is not a Consul agent: it answered {what} "
            f"where Consul sends {_SHAPE_NAMES.get(expected, expected)}{inside}."
        )
    return value


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


class ConsulClient(ACLEndpoints, AgentAdminEndpoints):
    """Typed, error-translated access to one Consul agent's HTTP API.

    The ACL, agent-token, keyring, session and check endpoints come from the mixins.
    """

    def __init__(self, options: ConnectionOptions | None = None):
        if consul is None:
            raise ConsulMissingLibrary(
                f"the Python library {REQUIREMENT} is missing ({CONSUL_IMPORT_REASON}): "
                'pip install "dockyard-discovery[python-consul2]" or "dockyard-discovery[py-consul]"'
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
        if isinstance(exc, _NotConsulAnswer) and exc.status == 400:
            # Most likely Consul itself, on its HTTPS port: not "not Consul", the wrong scheme.
            return ConsulBadRequest(
                f"{action} failed: the server at {base} answered HTTP 400 ({exc.detail}): it speaks HTTPS. "
                "Set scheme to https (or https:// in CONSUL_HTTP_ADDR, or CONSUL_HTTP_SSL=true).",
                400,
            )
        if isinstance(exc, _NotConsulAnswer):
            return ConsulNotConsul(
                f"{action} failed: the server at {base} is not a Consul agent: {exc.detail}. "
                "Check the host and port options (or CONSUL_HTTP_ADDR).",
                exc.status,
            )
        # requests' exceptions are OSErrors too.
        if isinstance(exc, (OSError, http.client.HTTPException)):
            banner = non_http_answer(exc)
            if banner is not None:
                return ConsulNotConsul(
                    f"{action} failed: the server at {base} answered, but it does not speak HTTP, so it is not "
                    f"a Consul agent's HTTP API (it sent {banner!r}). Check the host and port options "
                    "(or CONSUL_HTTP_ADDR)."
                )
            problems = self._tls_file_problems()
            if problems and not isinstance(exc, TimeoutError):
                # requests reports these as a plain OSError, KeepAliveHTTP as TLSFilesError: one wording.
                return ConsulTLSError(
                    f"{action} failed: cannot load the TLS files for Consul at {base}: {'; '.join(problems)}. "
                    "Check ca_path (CONSUL_CACERT), client_cert (CONSUL_CLIENT_CERT) and client_key (CONSUL_CLIENT_KEY)."
                )
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

    def _tls_file_problems(self) -> list:
        if self.options.scheme != "https":
            return []
        options = self.options
        cert = (options.client_cert, options.client_key) if options.client_key else options.client_cert
        return tls_file_problems(options.validate_certs and options.ca_path, cert)

    def _shaped(self, value, expected: type, action: str, **kwargs):
        return _shaped(value, expected, action, self.base_url, **kwargs)

    def close(self) -> None:
        """Close the kept-alive connection (or the requests session's pool). The client stays usable:
        the next request opens a new connection."""
        close = getattr(self._api.http, "close", None)
        if close is not None:
            close()
        session = getattr(self._api.http, "session", None)
        if session is not None:
            session.close()

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
        wait_text, seconds = wait_duration(DEFAULT_WAIT if wait is None else wait)
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
            action = f"reading the catalog entries of service {service!r}"
            with self._calling(action, seconds):
                raw_index, entries = self._api.catalog.service(service, **common)
            instances = [ServiceInstance.from_catalog(e) for e in self._shaped(entries, list, action, elements=dict)]
        else:
            action = f"reading the healthy instances of service {service!r}"
            with self._calling(action, seconds):
                raw_index, entries = self._api.health.service(service, passing=passing, **common)
            instances = [ServiceInstance.from_health(e) for e in self._shaped(entries, list, action, elements=dict)]
        return Indexed(parse_index(raw_index), instances)

    def services(self, datacenter=None, node_meta=None, index=None, wait=None) -> Indexed:
        """Service names with their tags: {name: [tags]}; tags sorted, as Consul's order varies between calls."""
        blocking, seconds = self._blocking(index, wait)
        with self._calling("listing services", seconds):
            raw_index, services = self._api.catalog.services(
                dc=datacenter, node_meta=self._node_meta(node_meta), **blocking
            )
        services = self._shaped(services, dict, "listing services")
        return Indexed(parse_index(raw_index), {name: sorted(tags or []) for name, tags in services.items()})

    def nodes(self, datacenter=None, node_meta=None, near=None, index=None, wait=None) -> Indexed:
        blocking, seconds = self._blocking(index, wait)
        with self._calling("listing nodes", seconds):
            raw_index, nodes = self._api.catalog.nodes(
                dc=datacenter, near=near, node_meta=self._node_meta(node_meta), **blocking
            )
        return Indexed(
            parse_index(raw_index),
            [Node.from_api(n) for n in self._shaped(nodes, list, "listing nodes", elements=dict)],
        )

    def datacenters(self) -> list:
        with self._calling("listing datacenters"):
            datacenters = self._api.catalog.datacenters()
        return list(self._shaped(datacenters, list, "listing datacenters", elements=str))

    def checks(self, state: str = "any", datacenter=None, index=None, wait=None) -> Indexed:
        """Every check in a datacenter in the given state (any, passing, warning, critical)."""
        if state not in ("any", "passing", "warning", "critical"):
            raise ConsulInvalidArgument(f"check state {state!r} is not one of any, passing, warning, critical.")
        blocking, seconds = self._blocking(index, wait)
        action = f"listing {state} checks"
        with self._calling(action, seconds):
            raw_index, checks = self._api.health.state(state, dc=datacenter, **blocking)
        return Indexed(
            parse_index(raw_index), [Check.from_api(c) for c in self._shaped(checks, list, action, elements=dict)]
        )

    # --- cluster -------------------------------------------------------------------------

    def members(self, wan: bool = False) -> list:
        with self._calling("listing cluster members"):
            members = self._api.agent.members(wan=wan)
        return [Member.from_api(m) for m in self._shaped(members, list, "listing cluster members", elements=dict)]

    def leader(self) -> str:
        """The leader's RPC address, or '' when the cluster has none."""
        with self._calling("asking for the raft leader"):
            leader = self._api.status.leader()
        return self._shaped(leader, str, "asking for the raft leader")

    def peers(self) -> list:
        with self._calling("listing raft peers"):
            peers = self._api.status.peers()
        return list(self._shaped(peers, list, "listing raft peers", elements=str))

    def raft_servers(self) -> list:
        with self._calling("reading the raft configuration"):
            config = self._api.operator.raft_config()
        config = self._shaped(config, dict, "reading the raft configuration")
        servers = self._shaped(config.get("Servers") or [], list, "reading the raft configuration", elements=dict)
        return [RaftServer.from_api(s) for s in servers]

    def autopilot_health(self) -> AutopilotHealth:
        # Consul answers 429, with the same body, while the cluster is unhealthy.
        action = "reading autopilot health"
        _index, data = self._raw("get", "/v1/operator/autopilot/health", action, ok_statuses=(429,))
        return AutopilotHealth.from_api(self._shaped(data, dict, action))

    # --- local agent ---------------------------------------------------------------------

    def agent_services(self) -> dict:
        """The services registered on this agent, {service ID: the agent's JSON for it}."""
        with self._calling("listing the agent's services"):
            services = self._api.agent.services()
        return dict(self._shaped(services, dict, "listing the agent's services", elements=dict))

    def agent_checks(self) -> dict:
        with self._calling("listing the agent's checks"):
            checks = self._api.agent.checks()
        return dict(self._shaped(checks, dict, "listing the agent's checks", elements=dict))

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
        action = f"reading key {key!r}"
        with self._calling(action, seconds):
            raw_index, data = self._api.kv.get(key, recurse=recurse, dc=datacenter, **blocking)
        # None: the key or prefix does not exist (Consul's 404, which the library turns into None).
        if recurse:
            entries = self._shaped(data, list, action, elements=dict, optional=True)
            return Indexed(parse_index(raw_index), [KVEntry.from_api(e) for e in entries or []])
        entry = self._shaped(data, dict, action, optional=True)
        return Indexed(parse_index(raw_index), KVEntry.from_api(entry) if entry else None)

    def kv_put(
        self,
        key: str,
        value: str,
        cas: int | None = None,
        flags: int | None = None,
        datacenter=None,
        acquire: str | None = None,
        release: str | None = None,
    ) -> bool:
        """Write a key. With `cas`, only if its ModifyIndex still equals cas (0: only if absent);
        with `acquire` or `release`, take or give back the key's lock for that session.

        Returns False when the cas check or the lock acquisition failed, True otherwise.
        """
        check_kv_key(key)
        if cas is not None:
            cas = check_index(cas)
        if flags is not None:
            flags = check_kv_flags(flags)
        lock = {"acquire": acquire} if acquire else {"release": release} if release else {}
        with self._calling(f"writing key {key!r}"):
            return bool(self._api.kv.put(key, value, cas=cas, flags=flags, dc=datacenter, **lock))

    def kv_delete(self, key: str, recurse: bool = False, cas: int | None = None, datacenter=None) -> bool:
        # An empty key is refused with recurse too: that would delete every key of the datacenter.
        check_kv_key(key)
        if cas is not None:
            cas = check_index(cas)
        with self._calling(f"deleting key {key!r}" + (" and everything under it" if recurse else "")):
            return bool(self._api.kv.delete(key, recurse=recurse or None, cas=cas, dc=datacenter))
