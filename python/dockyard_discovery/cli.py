# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dockyard-discovery: a few catalog, KV and cluster reads (and KV writes) from a shell.

Connection options work as in the collection's modules: a flag wins over its Consul CLI environment
variable (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CONSUL_CACERT, ...), which wins over the default.
Every Consul failure is one line on stderr, "<kind>: <message>", and exit status 1; a usage error
is argparse's, with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Sequence

from . import ConsulClient, ConsulError, ConsulInvalidArgument, ConsulNotFound, __version__

EXIT_CONSUL_ERROR = 1


class ConsulCasFailed(ConsulError):
    """kv put --cas found another ModifyIndex: nothing was written."""

    kind = "cas_failed"


# Characters a terminal may act on (escape sequences, carriage returns) never reach it from a
# table cell: catalog names, tags and values come from whoever registered them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[_printable(cell) for cell in row] for row in rows]
    widths = [max([len(header)] + [len(row[column]) for row in cells]) for column, header in enumerate(headers)]
    lines = [headers] + cells
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dockyard-discovery",
        description="Read the Consul catalog, key/value store and members; write keys.",
        epilog="Flags win over CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CONSUL_HTTP_SSL, CONSUL_HTTP_SSL_VERIFY, "
        "CONSUL_CACERT, CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY, which win over http://127.0.0.1:8500.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    connection = parser.add_argument_group("connection")
    connection.add_argument("--host", help="agent address (default: CONSUL_HTTP_ADDR, then 127.0.0.1)")
    connection.add_argument("--port", type=int, help="agent HTTP(S) port (default 8500)")
    connection.add_argument("--scheme", choices=["http", "https"])
    connection.add_argument(
        "--token-file", type=argparse.FileType("r"), help="file holding the ACL token (default: CONSUL_HTTP_TOKEN)"
    )
    connection.add_argument("--ca-path", help="CA bundle that signs the agent's certificate (CONSUL_CACERT)")
    connection.add_argument("--client-cert", help="client certificate (CONSUL_CLIENT_CERT)")
    connection.add_argument("--client-key", help="client key (CONSUL_CLIENT_KEY)")
    connection.add_argument(
        "--insecure", action="store_true", help="do not verify the agent's certificate (CONSUL_HTTP_SSL_VERIFY=false)"
    )
    connection.add_argument("--datacenter", help="datacenter to ask (default: the agent's)")
    connection.add_argument("--timeout", type=float, help="seconds per request (default 10)")
    parser.add_argument("--output", "-o", choices=["table", "json"], default="table")

    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("services", help="every service in the catalog, with its tags")
    service = commands.add_parser("service", help="the instances of one service (healthy ones by default)")
    service.add_argument("name")
    service.add_argument("--tag", help="only instances with this tag")
    service.add_argument("--all", action="store_true", help="failing instances too")
    members = commands.add_parser("members", help="the agents of the LAN (or WAN) gossip pool")
    members.add_argument("--wan", action="store_true")

    kv = commands.add_parser("kv", help="the key/value store").add_subparsers(
        dest="kv_command", required=True, metavar="get|put"
    )
    get = kv.add_parser("get", help="a key's value (table output: the raw value)")
    get.add_argument("key")
    get.add_argument("--recurse", action="store_true", help="every key under this prefix")
    put = kv.add_parser("put", help="write a key")
    put.add_argument("key")
    put.add_argument("value", help="the value; - reads it from standard input")
    put.add_argument("--cas", type=int, help="write only if the key's ModifyIndex is this (0: only if absent)")
    put.add_argument("--flags", type=int)
    return parser


def _client(args: argparse.Namespace) -> ConsulClient:
    token = None
    if args.token_file is not None:
        with args.token_file:
            token = args.token_file.read().strip()
        if not token:
            raise ConsulInvalidArgument(f"the token file {args.token_file.name} is empty")
    return ConsulClient.from_environment(
        host=args.host,
        port=args.port,
        scheme=args.scheme,
        token=token,
        ca_path=args.ca_path,
        client_cert=args.client_cert,
        client_key=args.client_key,
        validate_certs=False if args.insecure else None,
        datacenter=args.datacenter,
        timeout=args.timeout,
    )


def _services(client: ConsulClient, args) -> tuple[object, str]:
    services = dict(sorted(client.services().value.items()))
    return services, _table(["NAME", "TAGS"], [[name, ",".join(tags)] for name, tags in services.items()])


def _service(client: ConsulClient, args) -> tuple[object, str]:
    instances = client.service_instances(args.name, passing=not args.all, tag=args.tag).value
    if not instances and args.name not in client.services().value:
        raise ConsulNotFound(f"service {args.name!r} is not in the catalog (dockyard-discovery services lists them)")
    rows = [[i.node, i.endpoint, i.status or "", ",".join(i.tags)] for i in instances]
    return [i.to_dict() for i in instances], _table(["NODE", "ENDPOINT", "STATUS", "TAGS"], rows)


def _members(client: ConsulClient, args) -> tuple[object, str]:
    members = client.members(wan=args.wan)
    rows = [[m.name, f"{m.address}:{m.port}", m.status, m.role, m.version, m.datacenter] for m in members]
    return [m.to_dict() for m in members], _table(["NAME", "ADDRESS", "STATUS", "ROLE", "VERSION", "DC"], rows)


def _kv_get(client: ConsulClient, args) -> tuple[object, str]:
    found = client.kv_get(args.key, recurse=args.recurse).value
    if not found:
        raise ConsulNotFound(f"no key {'under' if args.recurse else 'named'} {args.key!r} in the key/value store")
    if args.recurse:
        return [entry.to_dict() for entry in found], _table(["KEY", "VALUE"], [[e.key, e.value or ""] for e in found])
    # Like `consul kv get`: the value as stored, which a script can pipe on.
    return found.to_dict(), found.value or ""


def _kv_put(client: ConsulClient, args) -> tuple[object, str]:
    value = sys.stdin.read() if args.value == "-" else args.value
    if not client.kv_put(args.key, value, cas=args.cas, flags=args.flags):
        raise ConsulCasFailed(f"key {args.key!r} not written: its ModifyIndex is not {args.cas} (the cas check failed)")
    return {"key": args.key, "written": True}, f"written: {args.key}"


COMMANDS = {"services": _services, "service": _service, "members": _members, "get": _kv_get, "put": _kv_put}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = COMMANDS[args.kv_command if args.command == "kv" else args.command]
    try:
        client = _client(args)
        try:
            data, text = command(client, args)
        finally:
            client.close()
    except ConsulError as error:
        print(f"{error.kind}: {error.message}", file=sys.stderr)
        return EXIT_CONSUL_ERROR
    if args.output == "json":
        print(json.dumps(data, indent=2, sort_keys=True))
    elif text:
        print(text)
    return 0
