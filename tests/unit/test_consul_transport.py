# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keep-alive transport against a small HTTP/1.1 server on loopback: connection reuse, an
idle connection the server closed, gzip, bodies and headers as the consul package expects them.
(The integration tests run it against a real Consul agent, over HTTP and HTTPS.)"""

import gzip
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import consul.base
import pytest

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_transport import KeepAliveHTTP, proxy_for


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.seen.append(("GET", self.path, self.client_address[1], dict(self.headers)))
        payload = json.dumps({"path": self.path}).encode()
        if self.path.startswith("/gzip"):
            payload = gzip.compress(payload)
        self.send_response(200)
        self.send_header("X-Consul-Index", "42")
        self.send_header("Content-Length", str(len(payload)))
        if self.path.startswith("/gzip"):
            self.send_header("Content-Encoding", "gzip")
        if self.path.startswith("/close"):
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)

    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append(("PUT", self.path, self.client_address[1], body))
        self.send_response(200)
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"true")


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def transport(server, **kwargs):
    return KeepAliveHTTP("127.0.0.1", server.server_address[1], timeout=5, **kwargs)


def test_requests_share_one_connection(server):
    http = transport(server, headers={"X-Consul-Token": "t"})
    first = http.get(lambda r: r, "/v1/kv/a b", params=[("recurse", 1)])
    second = http.get(lambda r: r, "/v1/kv/c")
    assert (first.code, json.loads(first.body)) == (200, {"path": "/v1/kv/a%20b?recurse=1"})
    assert first.headers["x-consul-index"] == "42"
    assert isinstance(second.body, str)
    ports = [port for _method, _path, port, _headers in server.seen]
    assert ports[0] == ports[1]
    assert server.seen[0][3]["X-Consul-Token"] == "t"
    assert first._fields == consul.base.Response._fields


def test_a_connection_the_server_closed_is_replaced(server):
    http = transport(server)
    http.get(lambda r: r, "/close")
    assert http.get(lambda r: r.code, "/after") == 200
    first_port, second_port = (port for _method, _path, port, _headers in server.seen)
    assert first_port != second_port


def test_gzip_bodies_are_decoded_and_raw_keeps_bytes(server):
    http = transport(server)
    assert json.loads(http.get(lambda r: r.body, "/gzip/x")) == {"path": "/gzip/x"}
    assert server.seen[0][3]["Accept-Encoding"] == "gzip"
    assert http.get(lambda r: r.body, "/raw", raw=True) == b'{"path": "/raw"}'


def test_put_sends_the_body(server):
    http = transport(server)
    assert http.put(lambda r: r.body, "/v1/kv/k", data="value") == "true"
    assert server.seen[0][3] == b"value"


def test_refused_connection_raises_oserror():
    http = KeepAliveHTTP("127.0.0.1", 9, timeout=2)  # discard port: nothing listens here
    with pytest.raises(ConnectionRefusedError):
        http.get(lambda r: r, "/v1/status/leader")


def test_an_unreadable_ca_file_is_a_tls_error_naming_the_file():
    http = KeepAliveHTTP("127.0.0.1", 9, scheme="https", verify="/nonexistent/ca.pem", timeout=2)
    with pytest.raises(ssl.SSLError, match="cannot load the TLS files: CA file /nonexistent/ca.pem: no such file"):
        http.get(lambda r: r, "/v1/status/leader")


def test_proxy_for_honours_no_proxy(monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert proxy_for("http", "consul.example") is None
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    assert proxy_for("http", "consul.example") == "http://proxy.example:3128"
    monkeypatch.setenv("NO_PROXY", ".example")
    assert proxy_for("http", "consul.example") is None
