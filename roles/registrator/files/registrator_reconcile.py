# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""registrator-reconcile: keep registrator's registrations on this Docker host's Consul agent in line
with the running containers, between registrator's own events.

registrator acts on Docker events only. When it or the host went down while containers stopped, or
someone deregistered a service behind its back, or the agent lost its local state, the agent stays
wrong until the next event. The registrator role runs this every registrator_reconcile_interval
seconds (dockyard-registrator-reconcile.timer) and after every start of the agent. The role installs
it as /usr/local/libexec/dockyard/registrator-reconcile with a #!/usr/bin/python3 line on top, which
this file cannot have: ansible-test's sanity check accepts no Python shebang here but
`#!/usr/bin/env python`, and Debian has no `python`.

    registrator-reconcile [--fix] [registrator's and the agent's settings]

One pass of the collection's registrator_reconcile module: the services registrator's rules give the
running containers (the same flags as the container: --hostname, --internal, --host-ip, --explicit,
--tag, --use-ip-from-label, --deregister) against the agent's; with --fix, stale ones are
deregistered and missing or outdated ones registered. It prints one line (the journal's), such as

    drift=2 stale=["node1:old:8080"] missing=["node1:web:8080"] outdated=[] fixed=yes containers=5

and writes the outcome to the state file as JSON (epoch, drift, the IDs, or the error), replaced
atomically. A failure (Docker or the agent unreachable, the ACL token denied) is one line on stderr,
exit status 1, and recorded in the state file too. The ACL token is CONSUL_HTTP_TOKEN, from the
unit's EnvironmentFile: never a flag, which every user could read in the process list.

    registrator-reconcile --status

The check "registrator registrations in sync" of the agent's service "registrator" (the agent runs
it as the consul user): reads the state file only, prints one short line and exits 0 (passing) when
the last pass found no drift, 1 (warning) when it found some (and says what, and whether it was
fixed), 2 (critical) when it failed, or when there is no state file or it is older than 3 intervals
+ 30 s: the timer stopped.

The code is the collection's plugins/module_utils, which the role copies into --library as one file,
dockyard_core.json ({module name: source}; one copy per converge rather than one per module), and
which this command imports as the package dockyard_core. Only a pass imports it, so --status stays
quick and needs neither the Docker nor the Consul library.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import importlib.abc
import importlib.util
import json
import os
import socket
import sys
import tempfile
import time
import traceback

LIBRARY = "/usr/local/lib/dockyard-discovery"
PACKAGE = "dockyard_core"
BUNDLE = f"{PACKAGE}.json"
STATE_FILE = "/var/lib/dockyard-registrator/last-reconcile.json"
TIMER = "dockyard-registrator-reconcile.timer"
DEFAULT_INTERVAL = 60
# Docker's API may be slow on a busy host, but a pass must end well within the check's staleness.
DOCKER_TIMEOUT = 30.0
CONSUL_TIMEOUT = 10.0
# How many IDs of each kind --status names: Consul keeps a check's output, short is better.
STATUS_IDS = 5

PASSING, WARNING, CRITICAL = 0, 1, 2
EXIT_FAILED = 1


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="registrator-reconcile",
        allow_abbrev=False,
        description="Compare (and with --fix repair) registrator's registrations on the local Consul "
        "agent with this host's running containers; --status is the agent's check of the last pass.",
        epilog="The ACL token is CONSUL_HTTP_TOKEN (the unit's EnvironmentFile); CONSUL_HTTP_ADDR, "
        "CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY and DOCKER_HOST fill what the flags leave out.",
    )
    mode = command.add_mutually_exclusive_group()
    mode.add_argument("--fix", action="store_true", help="apply the changes (without: report only)")
    mode.add_argument("--status", action="store_true", help="the Consul check: judge the last pass from the state file")
    command.add_argument("--state-file", default=STATE_FILE, help=f"outcome of the last pass (default {STATE_FILE})")
    command.add_argument(
        "--interval",
        type=_positive_int,
        default=DEFAULT_INTERVAL,
        help="seconds between the timer's passes, recorded for --status (default %(default)s)",
    )
    command.add_argument(
        "--library", default=LIBRARY, help=f"directory holding {BUNDLE}, the {PACKAGE} package (default {LIBRARY})"
    )

    consul = command.add_argument_group("the local Consul agent")
    consul.add_argument("--consul-address", help="agent address (default: CONSUL_HTTP_ADDR, then 127.0.0.1)")
    consul.add_argument("--consul-port", type=int, help="agent HTTP(S) port (default 8500)")
    consul.add_argument("--consul-scheme", choices=["http", "https"])
    consul.add_argument("--consul-ca-file", help="CA bundle of the agent's certificate (CONSUL_CACERT)")
    consul.add_argument("--consul-cert-file", help="client certificate (CONSUL_CLIENT_CERT)")
    consul.add_argument("--consul-key-file", help="client key (CONSUL_CLIENT_KEY)")

    registrator = command.add_argument_group("registrator's settings, as the container has them")
    registrator.add_argument("--hostname", help="registrator's hostname, the first part of its IDs (default: ours)")
    registrator.add_argument("--internal", action="store_true", help="-internal")
    registrator.add_argument("--host-ip", default="", help="-ip")
    registrator.add_argument("--explicit", action="store_true", help="-explicit")
    registrator.add_argument("--tag", dest="tags", action="append", default=[], help="one of -tags (repeat)")
    registrator.add_argument("--use-ip-from-label", default="", help="-useIpFromLabel")
    registrator.add_argument("--deregister", choices=["always", "on-success"], default="always", help="-deregister")
    registrator.add_argument("--docker-host", help="Docker API (default: DOCKER_HOST, then the local socket)")
    registrator.add_argument(
        "--container", default="", help="registrator's container: a pass runs only while it runs --container-args"
    )
    registrator.add_argument(
        "--container-args-sha256", default="", help="sha256 of the JSON list of the container's Args this timer follows"
    )
    return command


# --- the state file ------------------------------------------------------------------------------


def utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def one_line(text: str) -> str:
    """A message of several lines as one, so that it stays one journal entry and one check output."""
    return " | ".join(line.strip() for line in str(text).splitlines() if line.strip()) or "(no message)"


def read_state(path: str) -> dict | None:
    """The last pass's record; None when there is none. Raises ValueError (not JSON) or TypeError (not a
    record) for a file that is not one, OSError for one that cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            state = json.load(handle)
    except FileNotFoundError:
        return None
    if not isinstance(state, dict) or not isinstance(state.get("epoch"), (int, float)):
        raise TypeError("it holds no record of a pass")
    return state


def write_state(path: str, state: dict) -> None:
    """Replace the state file in one rename, so that --status never reads half a record. Mode 0644:
    the agent runs --status as its own user, and the record holds no secret."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".last-reconcile.", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def pass_record(found, args, hostname: str, now: float) -> dict:
    """The state file's record of a pass that ran (found: the library's RepairResult)."""
    return {
        "epoch": now,
        "time": utc(now),
        "interval": args.interval,
        "hostname": hostname,
        "fix": args.fix,
        "fixed": bool(found.changed),
        "drift": found.drift,
        "stale": list(found.stale),
        "missing": [service.id for service in found.missing],
        "outdated": [service.id for service in found.outdated],
        "kept": list(found.kept),
        "in_sync": len(found.in_sync),
        "containers": found.containers,
        "error": None,
    }


def failure_record(error: str, args, now: float, previous: dict | None) -> dict:
    """The record of a pass that failed; failing_since carries over from a previous failure."""
    since = now
    if previous and previous.get("error") and isinstance(previous.get("failing_since"), (int, float)):
        since = previous["failing_since"]
    return {
        "epoch": now,
        "time": utc(now),
        "interval": args.interval,
        "fix": args.fix,
        "error": error,
        "failing_since": since,
    }


def ids(values: list, limit: int | None = None) -> str:
    """IDs as a JSON list (an ID may hold any character), the first `limit` of them and a count."""
    shown = values if limit is None else values[:limit]
    text = json.dumps(list(shown), separators=(",", ":"))
    return text if len(shown) == len(values) else f"{text}+{len(values) - len(shown)} more"


def log_line(state: dict) -> str:
    """What a pass prints: drift=N stale=[...] missing=[...] outdated=[...] fixed=yes|no|n/a containers=N."""
    fixed = "yes" if state["fixed"] else ("no" if state["drift"] else "n/a")
    line = (
        f"drift={state['drift']} stale={ids(state['stale'])} missing={ids(state['missing'])} "
        f"outdated={ids(state['outdated'])} fixed={fixed} containers={state['containers']}"
    )
    if state.get("kept"):
        line += f" kept={ids(state['kept'])}"  # failed containers' entries, for -deregister on-success
    return line


# --- --status: the agent's check -----------------------------------------------------------------


def stale_after(interval: float) -> float:
    """A record older than this means the timer no longer runs passes (one may fail to, two may be late)."""
    return 3 * interval + 30


def status(state: dict | None, now: float, path: str = STATE_FILE) -> tuple:
    """(exit status, output) of the check, by Consul's script check convention."""
    if state is None:
        return CRITICAL, f"no reconcile pass recorded: {path} is missing (is {TIMER} running?)"
    when = utc(state["epoch"])
    interval = state.get("interval") or DEFAULT_INTERVAL
    age = now - state["epoch"]
    if age > stale_after(interval):
        return CRITICAL, (
            f"no reconcile pass since {when} ({age:.0f} s ago, more than 3 intervals of {interval} s + 30 s): "
            f"is {TIMER} running?"
        )
    if state.get("error"):
        since = state.get("failing_since") or state["epoch"]
        return CRITICAL, f"the reconcile pass at {when} failed (failing since {utc(since)}): {one_line(state['error'])}"
    drift = state.get("drift") or 0
    if not drift:
        return PASSING, (
            f"in sync at {when}: {state.get('in_sync', 0)} registrations for {state.get('containers', 0)} "
            "running containers"
        )
    outcome = "fixed" if state.get("fixed") else "not fixed (a pass without --fix)"
    return WARNING, (
        f"drift={drift} at {when}, {outcome}: stale={ids(state.get('stale') or [], STATUS_IDS)} "
        f"missing={ids(state.get('missing') or [], STATUS_IDS)} outdated={ids(state.get('outdated') or [], STATUS_IDS)}"
    )


def check(args, now: float) -> int:
    try:
        state = read_state(args.state_file)
    except (OSError, ValueError, TypeError) as error:
        code, text = CRITICAL, f"cannot read {args.state_file}: {one_line(error)}"
    else:
        code, text = status(state, now, args.state_file)
    print(text)
    return code


# --- a pass ---------------------------------------------------------------------------------------


class LibraryBundle(importlib.abc.MetaPathFinder, importlib.abc.InspectLoader):
    """Imports the package PACKAGE and its modules from the sources of the role's bundle file. The
    modules' imports of each other are relative, so they resolve inside the package."""

    def __init__(self, path: str, sources: dict[str, str]):
        self.path = path
        self.sources = sources

    def _module(self, fullname: str) -> str | None:
        package, _dot, name = fullname.rpartition(".")
        return name if package == PACKAGE and name in self.sources else None

    def find_spec(self, fullname, path=None, target=None):
        if fullname != PACKAGE and self._module(fullname) is None:
            return None
        spec = importlib.util.spec_from_loader(
            fullname, self, origin=self.filename(fullname), is_package=fullname == PACKAGE
        )
        spec.has_location = True  # __file__ names the bundle and the module, for tracebacks
        return spec

    def filename(self, fullname: str) -> str:
        return self.path if fullname == PACKAGE else f"{self.path}/{self._module(fullname)}.py"

    def is_package(self, fullname: str) -> bool:
        return fullname == PACKAGE

    def get_source(self, fullname: str) -> str:
        if fullname == PACKAGE:
            return ""
        name = self._module(fullname)
        if name is None:
            raise ImportError(f"{fullname} is not in {self.path}", name=fullname)
        return self.sources[name]

    def get_code(self, fullname: str):
        return compile(self.get_source(fullname), self.filename(fullname), "exec", dont_inherit=True)


def read_bundle(path: str) -> dict[str, str]:
    """The role's bundle: {module name: source}. ImportError for a file that is missing or is not one."""
    try:
        with open(path, encoding="utf-8") as handle:
            sources = json.load(handle)
    except (OSError, ValueError) as error:
        raise ImportError(f"cannot read {path}: {error}") from error
    if not isinstance(sources, dict) or not all(isinstance(v, str) for v in sources.values()):
        raise ImportError(f"{path} is not a bundle of module sources")
    return sources


def load_library(directory: str):
    """The collection's module_utils from the role's bundle directory/dockyard_core.json, by name
    without the underscore (docker_api, registrator_repair, ...)."""
    path = os.path.join(directory, BUNDLE)
    if not any(isinstance(finder, LibraryBundle) for finder in sys.meta_path):
        # First on the path: an installed package of the same name must not be imported instead.
        sys.meta_path.insert(0, LibraryBundle(path, read_bundle(path)))
    names = ("_consul_client", "_consul_errors", "_consul_options", "_docker_api", "_registrator_repair")
    names += ("_registrator_rules",)
    return argparse.Namespace(**{name[1:]: importlib.import_module(f"{PACKAGE}.{name}") for name in names})


class FlagsChanged(Exception):
    """registrator's container runs other flags than this timer was set up with."""


def container_args_sha256(args_list) -> str:
    return hashlib.sha256(json.dumps(list(args_list)).encode("utf-8")).hexdigest()


def check_container_flags(args, api) -> None:
    """Raise FlagsChanged unless registrator's container runs the flags this timer repairs with.

    The role updates the container first and the timer after it: in between, a pass with the old
    flags would put registrator's fresh registrations back to the old ones."""
    if not args.container:
        return
    inspect = api.inspect_container(args.container)
    if inspect is None:
        raise FlagsChanged(f"registrator's container {args.container} does not exist")
    if args.container_args_sha256 and container_args_sha256(inspect.get("Args") or []) != args.container_args_sha256:
        raise FlagsChanged(f"container {args.container} runs other flags than this timer's (the role is changing them)")


def reconcile_pass(args, environ, library):
    """(the hostname, the library's RepairResult) of one pass. Raises the library's errors."""
    hostname = args.hostname or socket.gethostname()
    options = library.registrator_rules.RegistratorOptions(
        hostname=hostname,
        internal=args.internal,
        host_ip=args.host_ip,
        explicit=args.explicit,
        force_tags=tuple(args.tags),
        use_ip_from_label=args.use_ip_from_label,
    )
    connection = library.consul_options.resolve_connection(
        {
            "host": args.consul_address,
            "port": args.consul_port,
            "scheme": args.consul_scheme,
            "ca_path": args.consul_ca_file,
            "client_cert": args.consul_cert_file,
            "client_key": args.consul_key_file,
            "timeout": CONSUL_TIMEOUT,
        },
        environ,
    )
    client = library.consul_client.ConsulClient(connection)
    try:
        api = library.registrator_repair.docker_api(
            library.docker_api.default_docker_host(args.docker_host, environ), DOCKER_TIMEOUT
        )
        check_container_flags(args, api)
        found = library.registrator_repair.repair(
            client, api, options, fix=args.fix, keep_failed=args.deregister == "on-success"
        )
    finally:
        client.close()
    return hostname, found


def fail(args, now: float, message: str) -> int:
    print(f"registrator-reconcile: {message}", file=sys.stderr, flush=True)
    try:
        previous = read_state(args.state_file)
    except (OSError, ValueError, TypeError):
        previous = None
    try:
        write_state(args.state_file, failure_record(message, args, now, previous))
    except OSError as error:
        print(f"registrator-reconcile: cannot record it in {args.state_file}: {error}", file=sys.stderr)
    return EXIT_FAILED


def run(args, environ, now: float) -> int:
    try:
        library = load_library(args.library)
    except ImportError as error:
        return fail(args, now, f"cannot load the collection's library from {args.library}/{BUNDLE}: {error}")
    known = (library.consul_errors.ConsulError, library.docker_api.DockerUnavailable)
    try:
        hostname, found = reconcile_pass(args, environ, library)
    except FlagsChanged as error:
        # Not a failure: the role's run that changes the flags restarts the timer with the new ones.
        print(f"registrator-reconcile: pass skipped: {error}", flush=True)
        return 0
    except Exception as error:  # noqa: BLE001 - recorded, so that the check says the pass failed
        # The library's own errors (known only once it is loaded) say what failed in one line.
        if isinstance(error, known):
            return fail(args, now, f"{error.kind}: {one_line(error.message)}")
        traceback.print_exc()
        return fail(args, now, f"unexpected error: {type(error).__name__}: {one_line(error)}")
    state = pass_record(found, args, hostname, now)
    print(log_line(state), flush=True)
    try:
        write_state(args.state_file, state)
    except OSError as error:
        print(f"registrator-reconcile: cannot write {args.state_file}: {error}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def main(argv=None, environ=None, clock=time.time) -> int:
    args = parser().parse_args(argv)
    if args.status:
        return check(args, clock())
    return run(args, os.environ if environ is None else environ, clock())


if __name__ == "__main__":
    sys.exit(main())
