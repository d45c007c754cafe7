# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: registrator_wait
short_description: Wait until a registrator container has reached its backend, or fail with registrator's own error
version_added: 0.1.0
description:
  - Runs on a Docker host, right after a gliderlabs/registrator container was started. Watches the
    container through the Docker API until it has reached its backend (it logged
    C(Listening for Docker events), which follows a successful ping of the backend) and has been up
    O(stable_for) seconds without a restart.
  - Fails as soon as the container exits, is restarting or restarted, for example on an image
    without the wanted backend (C(unrecognized adapter)) or flag (C(flag provided but not defined)),
    with registrator's last log lines in the message and in RV(log).
  - Fails when the container has not reached its backend within O(timeout) seconds; its log shows
    the C(Connecting to backend) retries then.
  - Only log lines of the container's current run count, so the output of an earlier run never passes for this one.
  - A container that was up and connected before returns at once, so the module costs one inspection
    and one log read on a re-run.
author: dockyard.discovery contributors (@dockyard)
options:
  name:
    description: Name or ID of the registrator container.
    type: str
    default: registrator
  timeout:
    description: Seconds to wait for the container to reach its backend.
    type: int
    default: 30
  stable_for:
    description:
      - Seconds the container must have been up, without a restart, once it reached its backend.
      - Catches a registrator that crashes a moment after it started. V(0) accepts it as soon as it reached its backend.
    type: int
    default: 3
  log_lines:
    description:
      - How many of the container's last log lines to return in RV(log).
      - A failure message carries the last few of them (at most five) inline.
    type: int
    default: 20
  stop_on_failure:
    description:
      - Stop a container that exited and is being restarted, or restarted while the module waited,
        so that C(restart_policy=always) does not keep it in a restart loop. The failure result then has RV(ignore:changed=true).
      - A container that is still running and retrying its backend is left alone; it may connect later.
    type: bool
    default: true
extends_documentation_fragment:
  - dockyard.discovery.docker
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Never stops a container in check mode; RV(ignore:changed) tells whether it would have.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The uptime is measured on the clock of the host the module runs on, so run it on the Docker host itself.
  - Logs are read through the Docker API, so the container needs a logging driver that supports reading (the default C(json-file), C(local) or C(journald)).
seealso:
  - module: community.docker.docker_container
"""

EXAMPLES = r"""
- name: Run registrator
  community.docker.docker_container:
    name: registrator
    image: gliderlabs/registrator:master
    command: ["consul://{{ ansible_facts['default_ipv4']['address'] }}:8500"]
    volumes: ["/var/run/docker.sock:/tmp/docker.sock"]
    restart_policy: always
    state: started

- name: Fail now, with registrator's own message, when it cannot reach Consul
  dockyard.discovery.registrator_wait:
    name: registrator
    timeout: 60
  register: registrator

- name: Show the Consul leader registrator found
  ansible.builtin.debug:
    msg: "registrator is up {{ registrator.uptime }} s, Consul leader {{ registrator.leader }}"
"""

RETURN = r"""
container:
  description: Name of the container.
  returned: when the container exists
  type: str
  sample: registrator
image:
  description: Image the container runs, as it was given to Docker.
  returned: when the container exists
  type: str
  sample: gliderlabs/registrator:v7
started_at:
  description: When Docker started the container's current (or last) run, as Docker reports it.
  returned: when the container exists
  type: str
  sample: "2026-12-01T09:13:14.08364917Z"
restart_count:
  description: How many times Docker restarted the container.
  returned: when the container exists
  type: int
  sample: 0
uptime:
  description: Seconds the container's current run has been up (for a container that exited, how long its last run was up).
  returned: when the container exists
  type: float
  sample: 3.512
leader:
  description: >-
    Address of the Consul leader in registrator's C(consul: current leader) log line of the current run;
    empty when there is none (other backends, or Consul had no leader).
  returned: when the container exists
  type: str
  sample: "172.20.20.10:8300"
log:
  description: The container's last O(log_lines) log lines of its current run (on failure, since the wait began), without Docker's timestamps.
  returned: when the container exists
  type: list
  elements: str
  sample:
    - "2026/12/01 09:13:14 Starting registrator v7.4.0 ..."
    - "2026/12/01 09:13:14 unrecognized adapter: consul-tls://172.20.20.30:8501"
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.dockyard.discovery.plugins.module_utils._docker_api import (
    DOCKER_IMPORT_ERROR,
    DockerUnavailable,
    connect,
    default_docker_host,
)
from ansible_collections.dockyard.discovery.plugins.module_utils._registrator_health import (
    FAILED,
    WAITING,
    Observation,
    WaitSettings,
    assess,
    describe,
    gave_up,
    logs_since,
    max_polls,
)

POLL_INTERVAL = 0.5
# Extra polls (of POLL_INTERVAL) for the log lines of a run Docker has already seen exit.
LATE_LOG_POLLS = 4
# registrator exits on SIGTERM at once; this only bounds a wedged one.
STOP_TIMEOUT = 10


def watch(api, settings: WaitSettings, sleep=time.sleep, monotonic=time.monotonic, time_ns=time.time_ns) -> tuple:
    """Poll the container until the verdict is not `waiting`. Returns (verdict, last inspection)."""
    begin = monotonic()
    first = current = api.inspect_container(settings.name)
    verdict = None
    silent_failures = 0
    for poll in range(max_polls(settings, POLL_INTERVAL) + LATE_LOG_POLLS):
        if poll:
            sleep(POLL_INTERVAL)
            current = api.inspect_container(settings.name)
        log_text = api.logs(settings.name, since=logs_since(first)) if first and current else ""
        observation = Observation(first, current, log_text, now=time_ns(), elapsed=monotonic() - begin)
        verdict = assess(settings, observation)
        # Docker copies a run's output into the container log after it has noted the exit; on a
        # busy host the exit can be seen first. A failure with no line yet gets a few more polls
        # for registrator's own message.
        if verdict.state == FAILED and current and not verdict.logged and silent_failures < LATE_LOG_POLLS:
            silent_failures += 1
            continue
        if verdict.state != WAITING:
            return verdict, current
    return gave_up(settings, verdict), current


def wait_for_registrator(api, settings: WaitSettings, stop_on_failure: bool, check_mode: bool, **clock) -> dict:
    """The module's result: the container facts, changed, and failed with msg when it is not ready."""
    verdict, inspect = watch(api, settings, **clock)
    result = {"changed": False, "msg": verdict.message()}
    if inspect:
        result.update(describe(inspect), uptime=verdict.uptime, leader=verdict.leader, log=list(verdict.log))
    if verdict.state != FAILED:
        return result

    note = ""
    if verdict.stop and stop_on_failure:
        if check_mode:
            result["changed"] = True
            note = "; check mode: it was not stopped"
        else:
            try:
                result["changed"] = api.stop(settings.name, timeout=STOP_TIMEOUT)
                note = "; stopped it so that its restart policy does not keep it looping" if result["changed"] else ""
            except DockerUnavailable as error:
                note = f"; stopping it failed: {error.message}"
    result.update(failed=True, msg=verdict.message(note))
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "default": "registrator"},
            "timeout": {"type": "int", "default": 30},
            "stable_for": {"type": "int", "default": 3},
            "log_lines": {"type": "int", "default": 20},
            "stop_on_failure": {"type": "bool", "default": True},
            "docker_host": {"type": "str"},
        },
        supports_check_mode=True,
    )
    if DOCKER_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("docker"), exception=DOCKER_IMPORT_ERROR)
    params = module.params
    negative = [option for option in ("timeout", "stable_for", "log_lines") if params[option] < 0]
    if negative:
        module.fail_json(msg=f"{', '.join(negative)} must be 0 or more.")

    settings = WaitSettings(
        name=params["name"],
        timeout=params["timeout"],
        stable_for=params["stable_for"],
        log_lines=params["log_lines"],
    )
    docker_host = default_docker_host(params["docker_host"], os.environ)
    try:
        api = connect(docker_host)
        result = wait_for_registrator(api, settings, params["stop_on_failure"], module.check_mode)
    except DockerUnavailable as error:
        # failed outside the except block, so that Ansible does not attach this handled error as a traceback
        result = {"failed": True, "msg": f"waiting for registrator container {settings.name} failed: {error.message}."}
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
