# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The connection options every module, lookup and the inventory plugin share.
    DOCUMENTATION = r"""
options:
  host:
    description:
      - Host name or IP address of the Consul agent's HTTP API.
      - When not set, the host part of E(CONSUL_HTTP_ADDR) is used, then V(127.0.0.1).
    type: str
  port:
    description:
      - Port of the Consul agent's HTTP API.
      - When not set, the port part of E(CONSUL_HTTP_ADDR) is used, then V(8500).
    type: int
  scheme:
    description:
      - V(http) or V(https).
      - When not set, the scheme part of E(CONSUL_HTTP_ADDR) is used, then V(https) if E(CONSUL_HTTP_SSL=true), then V(http).
    type: str
    choices: [http, https]
  token:
    description:
      - ACL token sent with every request as C(X-Consul-Token).
      - When not set, E(CONSUL_HTTP_TOKEN) is used.
    type: str
  ca_path:
    description:
      - CA certificate (PEM) that verifies the agent's TLS certificate.
      - When not set, E(CONSUL_CACERT) is used, then the system trust store.
    type: path
  client_cert:
    description:
      - Client certificate (PEM) for agents that verify incoming TLS connections.
      - When not set, E(CONSUL_CLIENT_CERT) is used.
    type: path
  client_key:
    description:
      - Private key of O(client_cert), when it is not in the same file.
      - When not set, E(CONSUL_CLIENT_KEY) is used.
    type: path
  validate_certs:
    description:
      - Whether to verify the agent's TLS certificate.
      - When not set, V(false) if E(CONSUL_HTTP_SSL_VERIFY=false), else V(true).
    type: bool
  datacenter:
    description:
      - Datacenter to query. The agent's own datacenter when not set.
    type: str
  timeout:
    description:
      - Seconds to wait for the agent to connect and answer. A blocking query waits this long on top of its wait time.
    type: float
    default: 10
notes:
  - Explicit options win over the Consul CLI environment variables, which win over the built-in defaults.
"""

    # Extra sources for lookups and the inventory plugin, which run on the controller.
    PLUGINS = r"""
options:
  host:
    ini:
      - section: dockyard_discovery
        key: host
    vars:
      - name: dockyard_consul_host
  port:
    ini:
      - section: dockyard_discovery
        key: port
    vars:
      - name: dockyard_consul_port
  scheme:
    ini:
      - section: dockyard_discovery
        key: scheme
    vars:
      - name: dockyard_consul_scheme
  token:
    env:
      - name: CONSUL_HTTP_TOKEN
    ini:
      - section: dockyard_discovery
        key: token
    vars:
      - name: dockyard_consul_token
  ca_path:
    env:
      - name: CONSUL_CACERT
    ini:
      - section: dockyard_discovery
        key: ca_path
    vars:
      - name: dockyard_consul_ca_path
  client_cert:
    env:
      - name: CONSUL_CLIENT_CERT
    ini:
      - section: dockyard_discovery
        key: client_cert
    vars:
      - name: dockyard_consul_client_cert
  client_key:
    env:
      - name: CONSUL_CLIENT_KEY
    ini:
      - section: dockyard_discovery
        key: client_key
    vars:
      - name: dockyard_consul_client_key
  validate_certs:
    env:
      - name: CONSUL_HTTP_SSL_VERIFY
    ini:
      - section: dockyard_discovery
        key: validate_certs
    vars:
      - name: dockyard_consul_validate_certs
  datacenter:
    ini:
      - section: dockyard_discovery
        key: datacenter
    vars:
      - name: dockyard_consul_datacenter
  timeout:
    ini:
      - section: dockyard_discovery
        key: timeout
    vars:
      - name: dockyard_consul_timeout
"""
