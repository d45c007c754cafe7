# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""registrator's rules, case by case against bridge/bridge.go and bridge/util.go (gliderlabs/registrator master)."""

import pytest

from ansible_collections.dockyard.discovery.plugins.module_utils._registrator_rules import (
    ExpectedService,
    RegistratorOptions,
    container_ports,
    parse_escaped_commas,
    registered_by,
    service_metadata,
    services_for_container,
)

HOST = RegistratorOptions(hostname="docker1")


def resolve(hostname):
    return {"docker1": "10.0.0.5"}.get(hostname, "0.0.0.0")


def inspect(
    name="web",
    image="nginx:1.25",
    env=(),
    labels=None,
    published=None,
    exposed=(),
    network_mode="default",
    ip="172.17.0.2",
    networks=None,
):
    """A minimal `docker inspect` document. published: {"80/tcp": "32768"} (None value: exposed, unpublished)."""
    ports = {}
    for port, host_port in (published or {}).items():
        ports[port] = [{"HostIp": "0.0.0.0", "HostPort": host_port}] if host_port else None
    return {
        "Id": f"{name}-id",
        "Name": f"/{name}",
        "Config": {"Image": image, "Env": list(env), "Labels": labels or {}, "ExposedPorts": {p: {} for p in exposed}},
        "HostConfig": {"NetworkMode": network_mode},
        "NetworkSettings": {"IPAddress": ip, "Ports": ports, "Networks": networks or {}},
    }


def services(container, options=HOST):
    return services_for_container(container, options, resolve=resolve)


# --- serviceMetaData -----------------------------------------------------------------------


def test_metadata_reads_only_service_variables_with_a_value():
    meta, from_port = service_metadata(["SERVICE_NAME=web", "PATH=/bin", "SERVICE_TAGS", "SERVICE_X="], {}, "80")
    assert meta == {"name": "web", "x": ""}
    assert from_port == set()


def test_metadata_label_wins_over_env():
    meta, _ports = service_metadata(["SERVICE_NAME=from-env"], {"SERVICE_NAME": "from-label"}, "80")
    assert meta["name"] == "from-label"


@pytest.mark.parametrize(
    "env",
    [["SERVICE_80_NAME=port", "SERVICE_NAME=generic"], ["SERVICE_NAME=generic", "SERVICE_80_NAME=port"]],
)
def test_metadata_port_specific_key_wins_in_any_order(env):
    meta, from_port = service_metadata(env, {}, "80")
    assert meta["name"] == "port"
    assert from_port == {"name"}


def test_metadata_ignores_other_ports_and_lowercases_keys():
    meta, _ports = service_metadata(["SERVICE_443_NAME=tls", "SERVICE_CHECK_HTTP=/health"], {}, "80")
    assert meta == {"check_http": "/health"}


# --- recParseEscapedComma / combineTags: registrator's own test cases (order-insensitive there) -----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("foobar", ["foobar"]),
        ("foo,bar", ["foo", "bar"]),
        ("foo\\,bar", ["foo,bar"]),
        ("foo,bar\\,baz", ["foo", "bar,baz"]),
        ("\\,foobar\\,", [",foobar,"]),
        (",,,,foo,,,bar,,,", ["foo", "bar"]),
        (",,,,", []),
        (",,\\,,", [","]),
    ],
)
def test_escaped_commas_match_registrator_util_test(text, expected):
    assert sorted(parse_escaped_commas(text)) == sorted(expected)


def test_escaped_commas_keep_registrator_order_and_spaces():
    # recParseEscapedComma returns the last item first and does not trim.
    assert parse_escaped_commas("a, b,c") == ["c", " b", "a"]


# --- ports -----------------------------------------------------------------------------------


def test_ports_published_override_exposed():
    ports = container_ports(inspect(exposed=["80/tcp", "9000/tcp"], published={"80/tcp": "32768", "9000/tcp": None}))
    assert ports == {"80/tcp": ("0.0.0.0", "32768"), "9000/tcp": ("0.0.0.0", "")}


def test_ports_exposed_only_use_the_exposed_port_as_host_port():
    # --net=host: registrator takes Config.ExposedPorts with HostPort = the port itself.
    assert container_ports(inspect(exposed=["8080/tcp"], network_mode="host")) == {"8080/tcp": ("0.0.0.0", "8080")}


def test_ports_on_a_user_network_use_the_container_ip_there():
    container = inspect(
        published={"80/tcp": "32768"}, network_mode="appnet", ip="", networks={"appnet": {"IPAddress": "10.9.0.4"}}
    )
    assert container_ports(container) == {"80/tcp": ("10.9.0.4", "32768")}


# --- newService ------------------------------------------------------------------------------


def test_single_port_service_named_after_the_image():
    [service] = services(inspect(image="registry.local:5000/team/web-app:2.1", published={"80/tcp": "32768"}))
    assert service == ExpectedService(
        id="docker1:web:80",
        name="web-app",
        address="10.0.0.5",
        port=32768,
        container_id="web-id",
        container_name="web",
    )


def test_several_ports_get_the_port_suffix_unless_named_per_port():
    container = inspect(
        env=["SERVICE_NAME=app", "SERVICE_443_NAME=app-tls"],
        published={"80/tcp": "32768", "443/tcp": "32769"},
    )
    by_id = {s.id: s for s in services(container)}
    assert by_id["docker1:web:80"].name == "app-80"
    assert by_id["docker1:web:443"].name == "app-tls"


def test_unpublished_ports_are_skipped_and_do_not_make_a_group():
    [service] = services(inspect(env=["SERVICE_NAME=app"], published={"80/tcp": "32768", "9000/tcp": None}))
    assert (service.name, service.port) == ("app", 32768)


def test_udp_port_gets_id_suffix_and_tag():
    [service] = services(inspect(env=["SERVICE_NAME=dns", "SERVICE_TAGS=a,b"], published={"53/udp": "5353"}))
    assert service.id == "docker1:web:53:udp"
    assert service.tags == ("b", "a", "udp")


def test_internal_registers_container_ip_and_exposed_port_even_unpublished():
    options = RegistratorOptions(hostname="docker1", internal=True)
    [service] = services(inspect(env=["SERVICE_NAME=app"], published={"8080/tcp": None}), options)
    assert (service.address, service.port) == ("172.17.0.2", 8080)


def test_explicit_skips_containers_without_a_name():
    options = RegistratorOptions(hostname="docker1", explicit=True)
    assert services(inspect(published={"80/tcp": "32768"}), options) == []
    assert len(services(inspect(env=["SERVICE_NAME=x"], published={"80/tcp": "32768"}), options)) == 1


def test_ignore_skips_the_port():
    container = inspect(
        env=["SERVICE_NAME=app", "SERVICE_9000_IGNORE=true"], published={"80/tcp": "1", "9000/tcp": "2"}
    )
    assert [s.id for s in services(container)] == ["docker1:web:80"]


def test_service_id_override_and_meta_keep_other_keys():
    container = inspect(
        env=["SERVICE_ID=custom", "SERVICE_NAME=app", "SERVICE_TAGS=v1", "SERVICE_OWNER=team"],
        published={"80/tcp": "1"},
    )
    [service] = services(container)
    assert service.id == "custom"
    assert service.meta == {"owner": "team"}


def test_host_ip_flag_and_force_tags():
    options = RegistratorOptions(hostname="docker1", host_ip="192.0.2.10", force_tags=("prod", "dc1"))
    [service] = services(inspect(env=["SERVICE_NAME=app", "SERVICE_TAGS=v1"], published={"80/tcp": "32768"}), options)
    assert service.address == "192.0.2.10"
    # combineTags(metadata tags, ForceTags): each part split as registrator splits it
    assert service.tags == ("v1", "dc1", "prod")


def test_unresolvable_hostname_keeps_0_0_0_0():
    options = RegistratorOptions(hostname="nowhere")
    [service] = services(inspect(env=["SERVICE_NAME=app"], published={"80/tcp": "32768"}), options)
    assert service.address == "0.0.0.0"


def test_ip_from_label_drops_the_prefix_length():
    options = RegistratorOptions(hostname="docker1", use_ip_from_label="ip")
    container = inspect(env=["SERVICE_NAME=app"], labels={"ip": "10.1.2.3/24"}, published={"80/tcp": "32768"})
    [service] = services(container, options)
    assert service.address == "10.1.2.3"


# --- checks (consul/consul.go buildCheck) ------------------------------------------------------


def check_for(env):
    [service] = services(inspect(env=["SERVICE_NAME=app", *env], published={"80/tcp": "32768"}))
    return service.registration().get("Check")


def test_http_check_with_defaults_and_options():
    assert check_for(["SERVICE_CHECK_HTTP=/health"]) == {"HTTP": "http://10.0.0.5:32768/health", "Interval": "10s"}
    assert check_for(
        [
            "SERVICE_CHECK_HTTPS=/h",
            "SERVICE_CHECK_HTTPS_METHOD=HEAD",
            "SERVICE_CHECK_TIMEOUT=2s",
            "SERVICE_CHECK_INTERVAL=5s",
            "SERVICE_CHECK_INITIAL_STATUS=passing",
            "SERVICE_CHECK_DEREGISTER_AFTER=90m",
        ]
    ) == {
        "HTTP": "https://10.0.0.5:32768/h",
        "Method": "HEAD",
        "Timeout": "2s",
        "Interval": "5s",
        "Status": "passing",
        "DeregisterCriticalServiceAfter": "90m",
    }


def test_ttl_tcp_grpc_checks():
    assert check_for(["SERVICE_CHECK_TTL=30s", "SERVICE_CHECK_TIMEOUT=2s"]) == {"TTL": "30s"}
    assert check_for(["SERVICE_CHECK_TCP=true"]) == {"TCP": "10.0.0.5:32768", "Interval": "10s"}
    assert check_for(["SERVICE_CHECK_GRPC=true", "SERVICE_CHECK_GRPC_USE_TLS=1"]) == {
        "GRPC": "10.0.0.5:32768",
        "GRPCUseTLS": True,
        "Interval": "10s",
    }


def test_no_check_without_check_keys():
    assert check_for([]) is None


def test_registration_body():
    [service] = services(
        inspect(env=["SERVICE_NAME=app", "SERVICE_TAGS=v1", "SERVICE_OWNER=t"], published={"80/tcp": "32768"})
    )
    assert service.registration() == {
        "ID": "docker1:web:80",
        "Name": "app",
        "Address": "10.0.0.5",
        "Port": 32768,
        "Tags": ["v1"],
        "Meta": {"owner": "t"},
    }


@pytest.mark.parametrize(
    ("service_id", "hostname", "expected"),
    [
        ("docker1:web:80", "docker1", True),
        ("docker1:web:53:udp", "docker1", True),
        ("docker2:web:80", "docker1", False),
        ("web", "docker1", False),
        ("docker1:web:http", "docker1", False),
    ],
)
def test_registered_by(service_id, hostname, expected):
    assert registered_by(service_id, hostname) is expected
