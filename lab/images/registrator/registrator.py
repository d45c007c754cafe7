"""registrator-compat: the lab's stand-in for gliderlabs/registrator.

The Go module proxy reachable from the lab serves no build of gliderlabs/registrator's master
branch (every pseudo-version answers 403, see lab/build-binaries.sh), and Docker Hub is out of
reach. This daemon accepts registrator's command line and registers the same services the same
way: the rules come from the collection's _registrator_rules.py, the Consul calls are the
agent endpoints registrator uses (/v1/agent/service/register and /deregister), and it follows
Docker's start and die events. Supported flags: -internal -ip -explicit -tags (plain list, no
Go templates) -resync -cleanup -deregister -retry-attempts -retry-interval -useIpFromLabel.
"""

import argparse
import json
import logging
import os
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import docker

from _registrator_rules import RegistratorOptions, registered_by, services_for_container

log = logging.getLogger("registrator")


BOOL_FLAGS = ("internal", "explicit", "cleanup")


def normalize_bool_flags(argv):
    """Go's flag package reads `-cleanup` and `-cleanup=false`, and a bool flag never takes the
    next argument; turn the `=value` forms into what argparse's store_true understands."""
    normalized = []
    for arg in argv:
        name, sep, value = arg.lstrip("-").partition("=")
        if arg.startswith("-") and name in BOOL_FLAGS and sep:
            if value.lower() in ("1", "t", "true"):
                normalized.append("-" + name)
            continue
        normalized.append(arg)
    return normalized


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="registrator", usage="registrator [options] <registry URI>")
    for name in BOOL_FLAGS:
        parser.add_argument("-" + name, action="store_true")
    parser.add_argument("-ip", default="")
    parser.add_argument("-tags", default="")
    parser.add_argument("-useIpFromLabel", default="")
    parser.add_argument("-resync", type=int, default=0)
    parser.add_argument("-deregister", choices=("always", "on-success"), default="always")
    parser.add_argument("-retry-attempts", dest="retry_attempts", type=int, default=0)
    parser.add_argument("-retry-interval", dest="retry_interval", type=int, default=2000)
    parser.add_argument("uri")
    args = parser.parse_args(normalize_bool_flags(argv))
    if args.retry_interval <= 0:
        parser.error("-retry-interval must be greater than 0")
    return args


class ConsulAgent:
    """The three agent calls registrator makes, over consul://, consul-tls:// or consul-unix://."""

    def __init__(self, uri):
        parsed = urllib.parse.urlparse(uri)
        if parsed.scheme not in ("consul", "consul-tls"):
            raise SystemExit(f"unrecognized adapter: {uri}")
        scheme = "https" if parsed.scheme == "consul-tls" else "http"
        self.base = f"{scheme}://{parsed.netloc or '127.0.0.1:8500'}"
        self.token = os.environ.get("CONSUL_HTTP_TOKEN", "")
        self.context = None
        if scheme == "https":
            self.context = ssl.create_default_context(cafile=os.environ.get("CONSUL_CACERT") or None)
            if os.environ.get("CONSUL_CLIENT_CERT"):
                self.context.load_cert_chain(os.environ["CONSUL_CLIENT_CERT"], os.environ.get("CONSUL_CLIENT_KEY"))

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if self.token:
            request.add_header("X-Consul-Token", self.token)
        with urllib.request.urlopen(request, timeout=10, context=self.context) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def ping(self):
        leader = self._call("GET", "/v1/status/leader")
        log.info("consul: current leader %s", leader)

    def register(self, service):
        self._call("PUT", "/v1/agent/service/register", service.registration())

    def deregister(self, service_id):
        self._call("PUT", "/v1/agent/service/deregister/" + urllib.parse.quote(service_id, safe=""))

    def services(self):
        return self._call("GET", "/v1/agent/services") or {}


class Bridge:
    def __init__(self, client, agent, options, args):
        self.docker = client
        self.agent = agent
        self.options = options
        self.args = args
        self.services = {}
        self.lock = threading.Lock()

    def add(self, container_id, quiet=False):
        if container_id in self.services:
            return
        try:
            inspect = self.docker.api.inspect_container(container_id)
        except docker.errors.NotFound:
            return
        registered = []
        for service in services_for_container(inspect, self.options):
            try:
                self.agent.register(service)
            except (urllib.error.URLError, OSError) as exc:
                log.warning("register failed: %s %s", service.id, exc)
                continue
            registered.append(service)
            log.info("added: %s %s", container_id[:12], service.id)
        if registered:
            self.services[container_id] = registered
        elif not quiet:
            log.info("ignored: %s no published ports or no service", container_id[:12])

    def remove(self, container_id):
        services = self.services.pop(container_id, [])
        if services and self.args.deregister == "on-success":
            try:
                exit_code = self.docker.api.inspect_container(container_id)["State"]["ExitCode"]
            except docker.errors.NotFound:
                exit_code = 0
            if exit_code != 0:
                log.info("kept: %s exited with %s (-deregister on-success)", container_id[:12], exit_code)
                return
        for service in services:
            try:
                self.agent.deregister(service.id)
                log.info("removed: %s %s", container_id[:12], service.id)
            except (urllib.error.URLError, OSError) as exc:
                log.warning("deregister failed: %s %s", service.id, exc)

    def sync(self, quiet):
        with self.lock:
            running = {c["Id"] for c in self.docker.api.containers()}
            for container_id in running:
                if container_id in self.services:
                    for service in self.services[container_id]:
                        self.agent.register(service)
                else:
                    self.add(container_id, quiet)
            if self.args.cleanup:
                self.cleanup(running)

    def cleanup(self, running):
        for container_id in [c for c in self.services if c not in running]:
            self.remove(container_id)
        known = {(s.name, s.container_name) for services in self.services.values() for s in services}
        for service_id, service in self.agent.services().items():
            if not registered_by(service_id, self.options.hostname):
                continue
            container_name = service_id.split(":")[1]
            if (service.get("Service"), container_name) in known:
                continue
            log.info("dangling: %s", service_id)
            self.agent.deregister(service_id)

    def handle(self, event):
        with self.lock:
            if event.get("status") == "start":
                self.add(event["id"])
            elif event.get("status") == "die":
                self.remove(event["id"])


def connect(agent, args):
    attempt = 0
    while True:
        try:
            agent.ping()
            return
        except (urllib.error.URLError, OSError) as exc:
            if args.retry_attempts != -1 and attempt >= args.retry_attempts:
                raise SystemExit(f"registrator: cannot reach the backend at {agent.base}: {exc}") from exc
            attempt += 1
            log.info("Connecting to backend (%s/%s): %s", attempt, args.retry_attempts, exc)
            time.sleep(args.retry_interval / 1000)


def main(argv):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    args = parse_args(argv)
    options = RegistratorOptions(
        hostname=socket.gethostname(),
        internal=args.internal,
        host_ip=args.ip,
        explicit=args.explicit,
        force_tags=tuple(t for t in args.tags.split(",") if t),
        use_ip_from_label=args.useIpFromLabel,
    )
    if options.host_ip:
        log.info("Forcing host IP to %s", options.host_ip)
    client = docker.DockerClient(base_url=os.environ.get("DOCKER_HOST", "unix:///tmp/docker.sock"))
    agent = ConsulAgent(args.uri)
    connect(agent, args)
    bridge = Bridge(client, agent, options, args)
    events = client.events(decode=True, filters={"type": "container", "event": ["start", "die"]})
    bridge.sync(quiet=False)
    if args.resync > 0:

        def resync():
            while True:
                time.sleep(args.resync)
                bridge.sync(quiet=True)

        threading.Thread(target=resync, daemon=True).start()
    log.info("Listening for Docker events ...")
    for event in events:
        bridge.handle(event)
    raise SystemExit("registrator: docker event loop closed")


if __name__ == "__main__":
    main(sys.argv[1:])
