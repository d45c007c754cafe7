# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option merging: explicit value > Consul CLI environment > default."""

import pytest

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulInvalidArgument
from ansible_collections.dockyard.discovery.plugins.module_utils._consul_options import (
    ConnectionOptions,
    parse_http_addr,
    resolve_connection,
)


def test_defaults_without_options_or_environment():
    assert resolve_connection({}, {}) == ConnectionOptions(host="127.0.0.1", port=8500, scheme="http")


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("consul.local:8501", (None, "consul.local", 8501)),
        ("https://10.0.0.1:8501", ("https", "10.0.0.1", 8501)),
        ("HTTP://host", ("http", "host", None)),
        ("[::1]:8500", (None, "::1", 8500)),
        ("https://[fd00::1]:8501/", ("https", "fd00::1", 8501)),
        ("host", (None, "host", None)),
    ],
)
def test_parse_http_addr(addr, expected):
    assert parse_http_addr(addr) == expected


@pytest.mark.parametrize("addr", ["unix:///run/consul.sock", "host:port", "http://", ":8500"])
def test_parse_http_addr_rejects(addr):
    with pytest.raises(ConsulInvalidArgument, match="CONSUL_HTTP_ADDR"):
        parse_http_addr(addr)


def test_environment_fills_what_is_not_given():
    env = {
        "CONSUL_HTTP_ADDR": "https://consul.example:8501",
        "CONSUL_HTTP_TOKEN": "env-token",
        "CONSUL_CACERT": "/ca.pem",
        "CONSUL_CLIENT_CERT": "/cert.pem",
        "CONSUL_CLIENT_KEY": "/key.pem",
    }
    options = resolve_connection({}, env)
    assert (options.scheme, options.host, options.port) == ("https", "consul.example", 8501)
    assert (options.token, options.ca_path, options.client_cert, options.client_key) == (
        "env-token",
        "/ca.pem",
        "/cert.pem",
        "/key.pem",
    )


def test_explicit_values_win_part_by_part():
    env = {"CONSUL_HTTP_ADDR": "https://consul.example:8501", "CONSUL_HTTP_TOKEN": "env-token"}
    options = resolve_connection({"host": "10.1.1.1", "token": "task-token"}, env)
    # host and token from the task; scheme and port still from CONSUL_HTTP_ADDR
    assert (options.scheme, options.host, options.port, options.token) == ("https", "10.1.1.1", 8501, "task-token")


def test_blank_values_count_as_not_given():
    options = resolve_connection({"host": "", "token": "  ", "port": None}, {"CONSUL_HTTP_TOKEN": "t"})
    assert (options.host, options.token) == ("127.0.0.1", "t")


def test_consul_http_ssl_and_verify():
    options = resolve_connection({}, {"CONSUL_HTTP_SSL": "true", "CONSUL_HTTP_SSL_VERIFY": "false"})
    assert (options.scheme, options.validate_certs) == ("https", False)
    assert resolve_connection({"validate_certs": True}, {"CONSUL_HTTP_SSL_VERIFY": "false"}).validate_certs is True


@pytest.mark.parametrize(
    ("params", "env", "message"),
    [
        ({"port": 70000}, {}, "out of range"),
        ({"port": "abc"}, {}, "not an integer"),
        ({"scheme": "ftp"}, {}, "http or https"),
        ({"client_key": "/key.pem"}, {}, "without client_cert"),
        ({}, {"CONSUL_HTTP_SSL_VERIFY": "maybe"}, "not a boolean"),
        ({"timeout": 0}, {}, "greater than 0"),
        ({}, {"CONSUL_HTTP_ADDR": "unix://consul.sock"}, "only http and https"),
    ],
)
def test_invalid_options(params, env, message):
    with pytest.raises(ConsulInvalidArgument, match=message):
        resolve_connection(params, env)


def test_repr_hides_the_token_and_base_url_brackets_ipv6():
    options = resolve_connection({"host": "::1", "token": "secret"}, {})
    assert "secret" not in repr(options)
    assert options.base_url == "http://[::1]:8500"
