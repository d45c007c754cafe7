# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP transport under the `consul` package's API: one keep-alive connection on http.client.

python-consul2 and py-consul talk HTTP through a swappable client object (`api.http`, the seam
their asyncio and tornado variants use). Their own is built on requests, whose per-request work
costs more than Consul takes to answer a catalog read on a nearby agent. This one keeps a single
connection per client, asks for gzip, and raises OSError, ssl.SSLError or http.client's errors,
which _consul_client turns into typed errors. Connections through an HTTP(S) proxy stay on the
library's requests client (see `proxy_for`).
"""

from __future__ import annotations

import http.client
import os
import select
import ssl
import urllib.parse
import urllib.request
import zlib

try:
    from consul import base as consul_base
except ImportError:
    consul_base = None

_DROPPED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


_PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def proxy_for(scheme: str, host: str) -> str | None:
    """The proxy the environment (HTTP(S)_PROXY, NO_PROXY) sets for scheme://host, if any."""
    if not any(name in os.environ for name in _PROXY_VARIABLES):
        return None  # the common case, without urllib's walk over the whole environment
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy


class TLSFilesError(ssl.SSLError):
    """A CA, certificate or key file that cannot be read; reported like a failed handshake."""

    def __str__(self):
        return self.args[0]


def tls_file_problems(verify, cert) -> list:
    """'<role> <path>: <problem>' for each configured CA, certificate or key file that cannot be read.

    Shared by both transports, so that a missing file reads the same whichever one is used
    (requests words it differently, and the tuple of cert and key must not leak into a message).
    """
    files = []
    if isinstance(verify, str):
        files.append(("CA file", verify))
    if cert:
        certfile, keyfile = cert if isinstance(cert, (tuple, list)) else (cert, None)
        files.append(("client certificate", certfile))
        if keyfile:
            files.append(("client key", keyfile))
    problems = []
    for role, path in files:
        if not os.path.exists(path):
            problems.append(f"{role} {path}: no such file or directory")
        elif not os.access(path, os.R_OK):
            problems.append(f"{role} {path}: permission denied")
    return problems


# Consul sets X-Consul-Default-Acl-Policy on every answer of every API endpoint, whatever the status
# (checked on 1.21 and 1.22: 200, 403, 404, 429 and 500 alike); blocking reads add X-Consul-Index,
# -Knownleader and the like. Any X-Consul-* header counts, so that one header renamed or dropped in a
# later release does not make a real agent look foreign. Content-Type is no help: a missing KV key
# has none, autopilot's 429 is text/plain.
_CONSUL_HEADER_PREFIX = "x-consul-"


def consul_answered(headers) -> bool:
    """Whether an answer's headers (http.client's or requests') carry Consul's X-Consul-* headers."""
    return any(name.lower().startswith(_CONSUL_HEADER_PREFIX) for name in (headers or {}))


def non_http_answer(exc: BaseException) -> str | None:
    """The first bytes of the answer when `exc` says the peer answered with something that is not
    HTTP (an SSH banner, a database greeting); None for every other failure.

    Walks the exception's context and arguments: requests wraps http.client's BadStatusLine in
    urllib3's ProtocolError in its ConnectionError.
    """
    seen, pending = set(), [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        # RemoteDisconnected is a BadStatusLine too, but there the peer sent nothing at all.
        if isinstance(current, http.client.BadStatusLine) and not isinstance(current, http.client.RemoteDisconnected):
            line = str(current.line if hasattr(current, "line") else current).strip()
            return line[:60] if line and line != "''" else None
        if isinstance(current, (http.client.LineTooLong, http.client.UnknownProtocol)):
            return str(current)[:60]
        pending.extend([current.__cause__, current.__context__])
        pending.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
    return None


def tls_context(verify, cert) -> ssl.SSLContext:
    """verify: True, False or a CA bundle file or directory (as requests takes it); cert: a path
    to a certificate with its key, or a (certificate, key) pair."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str) and os.path.isdir(verify):
        context = ssl.create_default_context(capath=verify)
    elif isinstance(verify, str):
        context = ssl.create_default_context(cafile=verify)
    else:
        context = ssl.create_default_context()
    if cert:
        certfile, keyfile = cert if isinstance(cert, (tuple, list)) else (cert, None)
        context.load_cert_chain(certfile, keyfile)
    return context


class KeepAliveHTTP:
    """Stands in for the `consul` package's HTTPClient (get/put/delete/post/close, callback style)."""

    def __init__(self, host, port, scheme="http", verify=True, cert=None, timeout=None, headers=None):
        self.host, self.port, self.scheme = host, int(port), scheme
        self.verify, self.cert = verify, cert
        # A number, as in python-consul2: _consul_client lengthens it for a blocking query.
        self.timeout = timeout
        self.base_uri = f"{scheme}://{host}:{port}"
        self.default_headers = {"Accept-Encoding": "gzip", **(headers or {})}
        self._context = None  # made at the first HTTPS connection, where a bad file is reported
        self._connection = None

    @staticmethod
    def _target(path, params=None):
        quoted = urllib.parse.quote(path, safe="/:")
        return f"{quoted}?{urllib.parse.urlencode(params)}" if params else quoted

    def uri(self, path, params=None):
        return self.base_uri + self._target(path, params)

    def _connect(self):
        if self.scheme == "https":
            if self._context is None:
                try:
                    self._context = tls_context(self.verify, self.cert)
                except OSError as exc:  # a missing or unreadable CA, certificate or key file
                    problems = tls_file_problems(self.verify, self.cert) or [str(exc.strerror or exc)]
                    raise TLSFilesError("cannot load the TLS files: " + "; ".join(problems)) from None
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self._context)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _idle_connection(self):
        """The kept connection, unless the agent closed it while it was idle."""
        connection = self._connection
        if connection is None or connection.sock is None:
            return None
        readable, _writable, _failed = select.select([connection.sock], [], [], 0)
        if readable:  # an idle keep-alive socket is readable only once the peer has closed it
            self.close()
            return None
        connection.sock.settimeout(self.timeout)
        return connection

    def request(self, method, path, params=None, data=None, headers=None, raw=False):
        target = self._target(path, params)
        body = data.encode() if isinstance(data, str) else data
        sent_headers = {**self.default_headers, **(headers or {})}
        reused = self._idle_connection()
        connection = reused or self._connect()
        try:
            try:
                connection.request(method, target, body=body or None, headers=sent_headers)
                response = connection.getresponse()
            except _DROPPED:
                if reused is None:
                    raise
                # The agent closed the kept connection as the request went out: once more, afresh.
                connection.close()
                connection = self._connect()
                connection.request(method, target, body=body or None, headers=sent_headers)
                response = connection.getresponse()
            content = response.read()
        except BaseException:
            connection.close()
            self._connection = None
            raise
        self._connection = None if response.will_close else connection
        if response.getheader("Content-Encoding") == "gzip":
            content = zlib.decompress(content, 16 + zlib.MAX_WBITS)
        text = content if raw else content.decode("utf-8", errors="replace")
        values = {"code": response.status, "headers": response.headers, "body": text, "content": content}
        return consul_base.Response(*(values[name] for name in consul_base.Response._fields))

    def get(self, callback, path, params=None, headers=None, raw=False):
        return callback(self.request("GET", path, params, headers=headers, raw=raw))

    def put(self, callback, path, params=None, data="", headers=None):
        return callback(self.request("PUT", path, params, data, headers))

    def delete(self, callback, path, params=None, data="", headers=None):
        return callback(self.request("DELETE", path, params, data, headers))

    def post(self, callback, path, params=None, headers=None, data=""):
        return callback(self.request("POST", path, params, data, headers))

    def close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None
