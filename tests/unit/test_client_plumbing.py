# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client's error translation and its guard against the consul package's own env handling.

No agent here: these construct clients and exceptions only (the integration tests cover the wire).
"""

import http.client
import ssl

import consul
import pytest
import requests

from ansible_collections.dockyard.discovery.plugins.module_utils import _consul_errors as errors
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_client import ConsulClient
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_options import ConnectionOptions


@pytest.fixture
def client():
    return ConsulClient(ConnectionOptions(host="127.0.0.1", port=8599, token="explicit"))


def test_explicit_options_beat_the_library_reading_the_environment(monkeypatch):
    monkeypatch.setenv("CONSUL_HTTP_TOKEN", "from-env")
    monkeypatch.setenv("CONSUL_HTTP_ADDR", "not a valid address at all")
    client = ConsulClient(ConnectionOptions(host="10.9.9.9", port=8599, token="explicit"))
    api = client._api
    assert api.token == "explicit"
    assert api.http.base_uri == "http://10.9.9.9:8599"
    assert api.http.default_headers["X-Consul-Token"] == "explicit"
    # and the environment is left as it was
    import os

    assert os.environ["CONSUL_HTTP_TOKEN"] == "from-env"


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (
            requests.exceptions.ConnectionError("[Errno 111] Connection refused"),
            errors.ConsulConnectionError,
            "connection refused",
        ),
        (requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED"), errors.ConsulTLSError, "TLS handshake"),
        (requests.exceptions.ReadTimeout("read timed out"), errors.ConsulConnectionError, "did not answer within 10s"),
        (ConnectionRefusedError(111, "Connection refused"), errors.ConsulConnectionError, "connection refused"),
        (ssl.SSLCertVerificationError("certificate verify failed"), errors.ConsulTLSError, "TLS handshake"),
        (TimeoutError("timed out"), errors.ConsulConnectionError, "did not answer within 10s"),
        (http.client.RemoteDisconnected("closed"), errors.ConsulConnectionError, "cannot reach"),
        (consul.ACLPermissionDenied("Permission denied"), errors.ConsulACLDenied, "403"),
        (consul.NotFound("no such thing"), errors.ConsulNotFound, "404"),
        (consul.ConsulException("500 No cluster leader"), errors.ConsulNoLeader, "no cluster leader"),
        (consul.ConsulException("502 bad gateway"), errors.ConsulServerError, "502"),
        (ValueError("Expecting value"), errors.ConsulError, "not JSON"),
    ],
)
def test_translation(client, exc, kind, words):
    translated = client._translate(exc, "doing x")
    assert translated.__class__ is kind  # the exact class, not a parent
    assert words in translated.message and translated.message.startswith("doing x failed")


def test_a_proxy_in_the_environment_keeps_the_library_requests_client(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    api = ConsulClient(ConnectionOptions(host="consul.invalid", port=8500, token="explicit"))._api
    assert api.http.session.proxies["http"] == "http://proxy.invalid:3128"
    assert api.http.session.headers["X-Consul-Token"] == "explicit"
    monkeypatch.setenv("NO_PROXY", "consul.invalid")
    api = ConsulClient(ConnectionOptions(host="consul.invalid", port=8500))._api
    assert not hasattr(api.http, "session")


def test_an_unreadable_ca_file_fails_as_tls_with_the_path():
    client = ConsulClient(ConnectionOptions(host="127.0.0.1", port=9, scheme="https", ca_path="/nonexistent/ca.pem"))
    with pytest.raises(errors.ConsulTLSError) as failed:
        client.datacenters()
    assert "cannot load the TLS files for Consul at https://127.0.0.1:9: CA file /nonexistent/ca.pem: no such file" in (
        failed.value.message
    )


def test_unknown_exceptions_pass_through(client):
    exc = KeyError("bug")
    assert client._translate(exc, "doing x") is exc


def test_blocking_arguments(client):
    assert client._blocking(None, "30s") == ({}, None)
    assert client._blocking(7, "30s") == ({"index": 7, "wait": "30s"}, 30)
    assert client._blocking(7, "500ms") == ({"index": 7, "wait": "500ms"}, 0.5)
    assert client._blocking(7, None) == ({"index": 7, "wait": "5m"}, 300)
    with pytest.raises(errors.ConsulInvalidArgument):
        client._blocking("x", "1s")
