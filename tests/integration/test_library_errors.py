# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The library's typed errors from real agents (the documented example runs from the wheel: tests/package)."""


def test_library_errors_are_typed(agent, acl_agent):
    """The same typed errors a script sees, from a real agent: 404, 403 and invalid input."""
    from ansible_collections.dockyard.discovery.plugins.module_utils._consul_client import ConsulClient
    from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import (
        ConsulACLDenied,
        ConsulInvalidArgument,
        ConsulNotFound,
    )

    client = ConsulClient.from_environment(environ={}, **agent.connection())
    try:
        client.deregister_service("no-such-service-id")
    except ConsulNotFound as error:
        assert error.status == 404 and "deregistering service 'no-such-service-id' failed" in error.message
    else:
        raise AssertionError("deregistering an unknown service ID should raise ConsulNotFound")
    assert client.service_instances("no-such-service").value == []
    assert client.kv_get("no/such/key").value is None

    denied = ConsulClient.from_environment(
        environ={"CONSUL_HTTP_TOKEN": "00000000-0000-0000-0000-000000000001"}, port=acl_agent.http_port
    )
    for call in (lambda: denied.kv_get("x"), denied.members, denied.nodes):
        try:
            call()
        except ConsulACLDenied as error:
            assert error.status == 403
        else:
            raise AssertionError("a wrong token should raise ConsulACLDenied")
    try:
        client.kv_put("/abs", "x")
    except ConsulInvalidArgument as error:
        assert "starts with '/'" in error.message
    else:
        raise AssertionError("a leading slash should be refused")
