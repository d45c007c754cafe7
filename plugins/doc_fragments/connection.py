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
  - "One precedence order for every connection option: a value set through Ansible (for a module the task argument or
    C(module_defaults); for a lookup or the inventory plugin the keyword or inventory source option, then the variable,
    then the C([dockyard_discovery]) section of C(ansible.cfg)) wins over the Consul CLI environment variable named in
    the option's description, which wins over the built-in default."
  - Each option falls back on its own, so O(host) may come from the task and the port from E(CONSUL_HTTP_ADDR).
  - A module reads the environment variables on the managed host, a lookup or the inventory plugin on the controller.
"""

    # Extra sources for lookups and the inventory plugin, which run on the controller. No `env:`
    # entries: Ansible's config would let them beat the ini, while resolve_connection reads the
    # Consul CLI variables below every Ansible source (_consul_options, one order for all options).
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
    ini:
      - section: dockyard_discovery
        key: token
    vars:
      - name: dockyard_consul_token
  ca_path:
    ini:
      - section: dockyard_discovery
        key: ca_path
    vars:
      - name: dockyard_consul_ca_path
  client_cert:
    ini:
      - section: dockyard_discovery
        key: client_cert
    vars:
      - name: dockyard_consul_client_cert
  client_key:
    ini:
      - section: dockyard_discovery
        key: client_key
    vars:
      - name: dockyard_consul_client_key
  validate_certs:
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
