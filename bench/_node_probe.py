# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs inside the load balancer node (docker exec -i node1 python3 - COMMAND ...; stdin is this
file) for bench/scale.py and prints one JSON document. The node's own clock and /proc, so that no
docker exec start-up lands inside a measured interval.

Commands:
  state [SECTION ENDPOINT]  nginx-apply's status line, the live file's sha256, the server lines of
                            every section of the live file; with ENDPOINT, whether SECTION lists it
  procs                     consul-template's CPU seconds, RSS and peak RSS (VmHWM); nginx's master
                            and workers and the sum of their RSS
  nginx-test N              N runs of `nginx -t -q` on the live configuration, seconds each
  reload N                  N reloads as nginx-apply does them (systemctl try-reload-or-restart
                            nginx), each timed until no worker of the old generation is left and
                            new workers run; then nginx's RSS
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import time

STATUS = "/var/lib/dockyard-load-balancer/last-apply"
LIVE = "/etc/nginx/dockyard/live/services.conf"
# consul-template writes the render here; nginx-apply writes it to check/ just before each nginx -t
# and to live/ just before the reload: their mtimes split an apply into its steps.
RENDERED = "/etc/nginx/dockyard/rendered/services.conf"
CHECK = "/etc/nginx/dockyard/check/services.conf"
NGINX_PID = "/run/nginx.pid"
RELOAD = ["systemctl", "try-reload-or-restart", "nginx"]
RELOAD_TIMEOUT = 30
TICK = os.sysconf("SC_CLK_TCK")
SECTION = re.compile(r"# dockyard-upstream-begin (\S+)\n(.*?)# dockyard-upstream-end \1\n", re.DOTALL)
SERVER = re.compile(r"^\s+server (\S+) max_fails=", re.MULTILINE)


def read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def status_of(pid):
    fields = {}
    for line in read(f"/proc/{pid}/status").splitlines():
        key, _colon, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def kib(fields, key):
    return int(fields.get(key, "0 kB").split()[0])


def cpu_seconds(pid):
    stat = read(f"/proc/{pid}/stat")
    after_name = stat.rpartition(")")[2].split()
    return (int(after_name[11]) + int(after_name[12])) / TICK  # utime, stime


def children(parent):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read(f"/proc/{entry}/stat")
            if stat and int(stat.rpartition(")")[2].split()[1]) == parent:
                found.append(int(entry))
    return sorted(found)


def nginx_procs():
    master = int(read(NGINX_PID).strip() or 0)
    workers = children(master) if master else []
    rss = sum(kib(status_of(pid), "VmRSS") for pid in [master, *workers] if pid)
    return {"master": master, "workers": workers, "rss_kib": rss}


def main_pid(unit):
    done = subprocess.run(
        ["systemctl", "show", "-p", "MainPID", "--value", unit], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip() or 0)


def state(section=None, endpoint=None):
    live = read(LIVE)
    sections = {name: SERVER.findall(body) for name, body in SECTION.findall(live)}
    result = {
        "status": read(STATUS).split(),
        "live_sha256": hashlib.sha256(live.encode("utf-8")).hexdigest(),
        "servers": {name: len(servers) for name, servers in sections.items()},
        "mtimes": {
            name: os.stat(path).st_mtime_ns / 1e9
            for name, path in (("rendered", RENDERED), ("check", CHECK), ("live", LIVE))
            if os.path.exists(path)
        },
    }
    if endpoint:
        result["listed"] = endpoint in sections.get(section, [])
    return result


def procs():
    pid = main_pid("consul-template")
    fields = status_of(pid)
    return {
        "consul_template": {
            "pid": pid,
            "cpu_s": cpu_seconds(pid),
            "rss_kib": kib(fields, "VmRSS"),
            "hwm_kib": kib(fields, "VmHWM"),
        },
        "nginx": nginx_procs(),
    }


def nginx_test(runs):
    times = []
    for _run in range(runs):
        started = time.monotonic()
        done = subprocess.run(["nginx", "-t", "-q"], capture_output=True, text=True, check=False)
        times.append(time.monotonic() - started)
        if done.returncode != 0:
            return {"error": done.stderr.strip()}
    return {"seconds": times}


def reload(runs):
    times = []
    for _run in range(runs):
        old = set(nginx_procs()["workers"])
        started = time.monotonic()
        subprocess.run(RELOAD, check=True)
        deadline = started + RELOAD_TIMEOUT
        while time.monotonic() < deadline:
            workers = set(nginx_procs()["workers"])
            if workers and not workers & old:
                break
            time.sleep(0.005)
        else:
            return {"error": f"old nginx workers still running {RELOAD_TIMEOUT} s after the reload"}
        times.append(time.monotonic() - started)
    return {"seconds": times, "nginx": nginx_procs()}


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "state":
        result = state(*args)
    elif command == "procs":
        result = procs()
    elif command == "nginx-test":
        result = nginx_test(int(args[0]))
    elif command == "reload":
        result = reload(int(args[0]))
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
