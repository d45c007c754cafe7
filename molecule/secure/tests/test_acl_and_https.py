"""Negative tests through the HTTP API, each next to its positive control: the same call succeeds
with the right credential, so the refusal is the credential's and not a broken call."""

from __future__ import annotations

import pytest
import requests
from labkit.secure import CA, management_token, token_secret

DENIED = "Permission denied"
ANONYMOUS = "anonymous token lacks permission"
KEY = "dockyard/secure-lab/greeting"
NODE = {"Node": "intruder", "Address": "10.99.0.1", "Service": {"Service": "intruder", "Port": 80}}
SERVICE = {"ID": "acl-probe", "Name": "acl-probe", "Port": 9}


@pytest.fixture(scope="module")
def kv_value(api):
    response = api.call("PUT", f"/v1/kv/{KEY}", management_token(), data="hello from the secure lab")
    assert response.status_code == 200 and response.json() is True
    yield "hello from the secure lab"
    api.call("DELETE", f"/v1/kv/{KEY}", management_token())


@pytest.fixture(scope="module")
def registrator_token(api):
    return token_secret(api, "registrator on secure1 (dockyard.discovery)")


@pytest.fixture(scope="module")
def consul_template_token(api):
    return token_secret(api, "consul-template on secure1 (dockyard.discovery)")


def test_anonymous_catalog_write_is_denied(api):
    response = api.call("PUT", "/v1/catalog/register", json=NODE)
    print(f"anonymous PUT /v1/catalog/register -> {response.status_code} {response.text.strip()}")
    assert response.status_code == 403
    assert f"{DENIED}: {ANONYMOUS} 'service:write' on \"intruder\"" in response.text
    assert "intruder" not in api.get("/v1/catalog/services")


def test_catalog_write_with_a_write_token_works(api):
    response = api.call("PUT", "/v1/catalog/register", management_token(), json=NODE)
    try:
        assert (response.status_code, response.json()) == (200, True)
        assert "intruder" in api.get("/v1/catalog/services")
    finally:
        api.call("PUT", "/v1/catalog/deregister", management_token(), json={"Node": "intruder"})


def test_anonymous_kv_read_is_denied(api, kv_value):
    response = api.call("GET", f"/v1/kv/{KEY}?raw")
    print(f"anonymous GET /v1/kv/{KEY} -> {response.status_code} {response.text.strip()}")
    assert response.status_code == 403
    assert f"{DENIED}: {ANONYMOUS} 'key:read' on \"{KEY}\"" in response.text


def test_kv_read_with_a_read_token_works(api, kv_value):
    response = api.call("GET", f"/v1/kv/{KEY}?raw", management_token())
    assert (response.status_code, response.text) == (200, kv_value)


def test_registrator_token_cannot_write_kv(api, registrator_token, kv_value):
    response = api.call("PUT", f"/v1/kv/{KEY}", registrator_token, data="overwritten")
    print(f"registrator token PUT /v1/kv/{KEY} -> {response.status_code} {response.text.strip()}")
    assert response.status_code == 403
    assert DENIED in response.text and f"lacks permission 'key:write' on \"{KEY}\"" in response.text
    assert api.call("GET", f"/v1/kv/{KEY}?raw", management_token()).text == kv_value


def test_registrator_token_registers_services(api, registrator_token):
    response = api.call("PUT", "/v1/agent/service/register", registrator_token, json=SERVICE)
    try:
        assert response.status_code == 200, response.text
        assert "acl-probe" in api.get("/v1/agent/services", registrator_token)
    finally:
        api.call("PUT", "/v1/agent/service/deregister/acl-probe", management_token())


def test_consul_template_token_cannot_register_a_service(api, consul_template_token):
    response = api.call("PUT", "/v1/agent/service/register", consul_template_token, json=SERVICE)
    print(f"consul-template token PUT /v1/agent/service/register -> {response.status_code} {response.text.strip()}")
    assert response.status_code == 403
    assert DENIED in response.text and "lacks permission 'service:write' on \"acl-probe\"" in response.text
    assert "acl-probe" not in api.get("/v1/agent/services")


def test_consul_template_token_reads_services_and_nodes(api, consul_template_token):
    entries = api.get("/v1/health/service/consul", consul_template_token)
    assert sorted(e["Node"]["Node"] for e in entries) == ["secure1", "secure2", "secure3"]


def test_plain_http_gets_no_answer_when_https_only(nodes):
    with pytest.raises(requests.ConnectionError) as refused:
        requests.get(f"http://{nodes['secure1'].address}:8500/v1/status/leader", timeout=5)
    print(f"http://...:8500 -> {refused.value}")
    assert "Connection refused" in str(refused.value)
    response = requests.get(f"http://{nodes['secure1'].address}:8501/v1/status/leader", timeout=5)
    print(f"http://...:8501 -> {response.status_code} {response.text.strip()}")
    assert (response.status_code, response.text.strip()) == (400, "Client sent an HTTP request to an HTTPS server.")


def test_https_with_the_lab_ca_answers(nodes):
    response = requests.get(f"https://{nodes['secure1'].address}:8501/v1/status/leader", verify=str(CA), timeout=5)
    assert response.status_code == 200
    assert response.json() in {f"{n.address}:8300" for n in nodes.values()}


def test_https_refuses_a_client_that_does_not_trust_the_lab_ca(nodes):
    with pytest.raises(requests.exceptions.SSLError) as untrusted:
        requests.get(f"https://{nodes['secure1'].address}:8501/v1/status/leader", timeout=5)
    assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted.value)
