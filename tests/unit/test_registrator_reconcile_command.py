# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""registrator-reconcile (roles/registrator/files/registrator_reconcile.py), the registrator role's
timer command: its flags, the state file and the log line, the --status decisions (as the Consul
check runs it, in a subprocess), that the files the role copies are all it imports, and that the
role's unit gives it the container's settings as flags it accepts."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from local_playbook import role_play, run_local_playbook

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "registrator"
COMMAND = ROLE / "files" / "registrator_reconcile.py"
BIN = Path(sys.executable).parent


def load_command():
    """The command as a module, without a __pycache__ in the role's files/ (a build would ship it)."""
    spec = importlib.util.spec_from_file_location("registrator_reconcile_command", COMMAND)
    module = importlib.util.module_from_spec(spec)
    writes, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes
    return module


rr = load_command()
NOW = 1796116394.0  # 2026-12-01T09:13:14Z


def run_once_only():
    """make unit runs tests/unit once per consul package; the tests that do not use it run in the first only."""
    if os.environ.get("DOCKYARD_CONSUL_PACKAGE"):
        pytest.skip("does not use the consul package: checked in the first run only")


def record(**fields):
    """A state file record of a pass without drift at NOW, with fields changed."""
    state = {
        "epoch": NOW,
        "time": rr.utc(NOW),
        "interval": 60,
        "hostname": "node1",
        "fix": True,
        "fixed": False,
        "drift": 0,
        "stale": [],
        "missing": [],
        "outdated": [],
        "kept": [],
        "in_sync": 4,
        "containers": 3,
        "error": None,
    }
    state.update(fields)
    return state


# --- flags --------------------------------------------------------------------------------------


def test_flags_give_registrators_settings_and_the_defaults_are_the_roles_paths():
    args = rr.parser().parse_args(
        ["--fix", "--hostname=node1", "--host-ip=10.0.0.5", "--explicit", "--tag=a", "--tag=b"]
        + ["--use-ip-from-label=dockyard.address", "--deregister=on-success", "--interval=5"]
    )
    assert (args.fix, args.status, args.hostname, args.host_ip, args.internal) == (
        True,
        False,
        "node1",
        "10.0.0.5",
        False,
    )
    assert (args.explicit, args.tags, args.use_ip_from_label, args.deregister) == (
        True,
        ["a", "b"],
        "dockyard.address",
        "on-success",
    )
    assert args.interval == 5
    defaults = rr.parser().parse_args([])
    assert (defaults.fix, defaults.status, defaults.tags, defaults.deregister) == (False, False, [], "always")
    assert (defaults.state_file, defaults.library, defaults.interval) == (rr.STATE_FILE, rr.LIBRARY, 60)


@pytest.mark.parametrize(
    "argv",
    [["--fix", "--status"], ["--token=secret"], ["--interval=0"], ["--fi"], ["--deregister=never"]],
    ids=["fix-and-status", "no-token-flag", "zero-interval", "no-abbreviation", "bad-deregister"],
)
def test_flags_it_refuses(argv, capsys):
    with pytest.raises(SystemExit) as exit_status:
        rr.parser().parse_args(argv)
    assert exit_status.value.code == 2
    assert "registrator-reconcile: error:" in capsys.readouterr().err


def test_the_roles_paths_are_the_commands_defaults():
    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    assert role_vars["_registrator_reconcile_library"] == rr.LIBRARY
    assert role_vars["_registrator_reconcile_package"] == rr.PACKAGE
    assert f"{role_vars['_registrator_reconcile_state_dir']}/last-reconcile.json" == rr.STATE_FILE
    assert f"{role_vars['_registrator_reconcile_unit']}.timer" == rr.TIMER


# --- the state file and the log line --------------------------------------------------------------


def test_the_state_file_is_replaced_whole_and_readable_by_the_agent(tmp_path):
    path = tmp_path / "state" / "last-reconcile.json"
    rr.write_state(str(path), record(drift=1, stale=["node1:old:8080"]))
    rr.write_state(str(path), record())
    assert json.loads(path.read_text()) == record()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["last-reconcile.json"]  # no temporary file left
    assert rr.read_state(str(tmp_path / "none.json")) is None


def test_a_failed_pass_is_recorded_with_the_time_of_the_first_failure():
    args = SimpleNamespace(interval=60, fix=True)
    first = rr.failure_record("unreachable: no agent", args, NOW, record())
    assert (first["error"], first["failing_since"], first["epoch"]) == ("unreachable: no agent", NOW, NOW)
    second = rr.failure_record("unreachable: still none", args, NOW + 60, first)
    assert (second["failing_since"], second["epoch"]) == (NOW, NOW + 60)


def test_the_record_of_a_pass():
    found = SimpleNamespace(
        changed=True,
        drift=3,
        stale=["node1:old:8080"],
        missing=[SimpleNamespace(id="node1:web:8080")],
        outdated=[SimpleNamespace(id="node1:api:8080")],
        kept=[],
        in_sync=["node1:db:8080"],
        containers=3,
    )
    state = rr.pass_record(found, SimpleNamespace(interval=60, fix=True), "node1", NOW)
    assert state == record(
        drift=3,
        fixed=True,
        stale=["node1:old:8080"],
        missing=["node1:web:8080"],
        outdated=["node1:api:8080"],
        in_sync=1,
    )


def test_the_log_line_says_what_it_found_and_fixed():
    drifted = record(drift=2, fixed=True, stale=["node1:old:8080"], missing=["node1:web:8080"], containers=5)
    assert rr.log_line(drifted) == (
        'drift=2 stale=["node1:old:8080"] missing=["node1:web:8080"] outdated=[] fixed=yes containers=5'
    )
    assert rr.log_line(record()) == "drift=0 stale=[] missing=[] outdated=[] fixed=n/a containers=3"
    reported = record(drift=1, fix=False, missing=["node1:web:8080"])
    assert rr.log_line(reported).endswith(" fixed=no containers=3")
    kept = record(kept=["node1:crashed:8080"])
    assert rr.log_line(kept).endswith(' kept=["node1:crashed:8080"]')


# --- --status -----------------------------------------------------------------------------------


def test_status_passes_after_a_pass_without_drift():
    code, text = rr.status(record(), NOW + 30)
    assert (code, text) == (rr.PASSING, "in sync at 2026-12-01T09:13:14Z: 4 registrations for 3 running containers")


def test_status_warns_after_a_drift_and_says_what_and_that_it_was_fixed():
    code, text = rr.status(record(drift=2, fixed=True, stale=["node1:old:8080"], missing=["node1:web:8080"]), NOW)
    assert code == rr.WARNING
    assert text == (
        'drift=2 at 2026-12-01T09:13:14Z, fixed: stale=["node1:old:8080"] missing=["node1:web:8080"] outdated=[]'
    )
    code, text = rr.status(record(drift=1, fix=False, outdated=["node1:api:8080"]), NOW)
    assert code == rr.WARNING and "not fixed" in text


def test_status_names_a_few_ids_only():
    stale = [f"node1:c{i}:8080" for i in range(8)]
    _code, text = rr.status(record(drift=8, fixed=True, stale=stale), NOW)
    assert '"node1:c4:8080"]+3 more ' in text and "c5" not in text
    assert len(text.splitlines()) == 1


def test_status_is_critical_after_a_failed_pass_with_its_error():
    failed = {"epoch": NOW, "interval": 60, "error": "acl_denied: Permission denied", "failing_since": NOW - 120}
    code, text = rr.status(failed, NOW + 1)
    assert code == rr.CRITICAL
    assert text == (
        "the reconcile pass at 2026-12-01T09:13:14Z failed (failing since 2026-12-01T09:11:14Z): "
        "acl_denied: Permission denied"
    )


def test_status_is_critical_without_a_record_or_with_an_old_one():
    code, text = rr.status(None, NOW, "/var/lib/x.json")
    assert code == rr.CRITICAL and "/var/lib/x.json is missing" in text
    # 3 intervals + 30 s: two passes may be late or fail to start; more means the timer stopped.
    assert rr.status(record(interval=60), NOW + 210)[0] == rr.PASSING
    code, text = rr.status(record(interval=60), NOW + 211)
    assert code == rr.CRITICAL
    assert text.startswith("no reconcile pass since 2026-12-01T09:13:14Z (211 s ago, more than 3 intervals of 60 s")
    assert rr.TIMER in text
    # an old failure is old first: the timer stopped is the news
    assert rr.status({"epoch": NOW, "interval": 5, "error": "x"}, NOW + 46)[1].startswith("no reconcile pass since")


def run_command(*argv, env=None):
    return subprocess.run(
        [sys.executable, str(COMMAND), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": os.environ["PATH"], **(env or {})},
    )


@pytest.mark.parametrize(
    ("state", "code", "output"),
    [
        (record(), 0, "in sync at "),
        (record(drift=1, fixed=True, stale=["node1:old:8080"]), 1, "drift=1 at "),
        ({"interval": 60, "error": "unreachable: no agent"}, 2, "the reconcile pass at "),
        (None, 2, "no reconcile pass recorded: "),
        ("not json", 2, "cannot read "),
        ([1, 2], 2, "cannot read "),
    ],
    ids=["passing", "warning", "failed", "missing", "garbage", "not-a-record"],
)
def test_the_check_runs_status_on_the_state_file(tmp_path, state, code, output):
    run_once_only()
    path = tmp_path / "last-reconcile.json"
    if isinstance(state, dict):
        path.write_text(json.dumps({**state, "epoch": time.time() - 5}))
    elif state is not None:
        path.write_text(state if isinstance(state, str) else json.dumps(state))
    result = run_command("--status", f"--state-file={path}")
    assert (result.returncode, result.stderr) == (code, "")
    assert result.stdout.startswith(output), result.stdout
    assert len(result.stdout.splitlines()) == 1


def test_the_check_goes_critical_when_the_timer_stopped(tmp_path):
    run_once_only()
    path = tmp_path / "last-reconcile.json"
    path.write_text(json.dumps(record(epoch=time.time() - 3 * 5 - 31, interval=5)))
    result = run_command("--status", f"--state-file={path}")
    assert result.returncode == 2 and result.stdout.startswith("no reconcile pass since "), result.stdout


# --- the library the role copies ------------------------------------------------------------------

# ansible is blocked: the command must not need it, and the role copies no other code. The copy's
# modules must come from the copy, not from the collection.
PROBE = """
import importlib.util, json, sys

class NoAnsible:
    def find_spec(self, name, path=None, target=None):
        if name == "ansible" or name.startswith(("ansible.", "ansible_collections")):
            raise ImportError("ansible is blocked in this test")
        return None

sys.meta_path.insert(0, NoAnsible())
command_file, library, state_file = sys.argv[1:]
spec = importlib.util.spec_from_file_location("registrator_reconcile", command_file)
command = importlib.util.module_from_spec(spec)
spec.loader.exec_module(command)
loaded = command.load_library(library)
files = sorted({vars(loaded)[name].__file__ for name in vars(loaded)})
code = command.main(
    ["--fix", "--library", library, "--state-file", state_file, "--consul-address=127.0.0.1", "--consul-port=1",
     "--docker-host=unix:///nonexistent/docker.sock"],
    environ={},
)
print(json.dumps({"files": files, "code": code}))
"""


BUNDLE_TASKS = """    - name: Write the library bundle as the role does
      ansible.builtin.copy:
        content: "{{{{ _registrator_reconcile_library_bundle | to_nice_json(sort_keys=true) }}}}\\n"
        dest: {dest}
        mode: "0644"
"""


def role_bundle(tmp_path: Path) -> Path:
    """The library directory with the bundle rendered by the role's own expression (vars/main.yml)."""
    library = tmp_path / "lib"
    library.mkdir()
    tasks = BUNDLE_TASKS.format(dest=library / rr.BUNDLE)
    run_local_playbook(role_play(ROLE, tasks), tmp_path, {"role_path": str(ROLE)}, name="bundle")
    return library


def test_the_bundle_holds_every_module_util_verbatim(tmp_path):
    sources = json.loads((role_bundle(tmp_path) / rr.BUNDLE).read_text())
    expected = {path.stem: path.read_text() for path in (REPO / "plugins" / "module_utils").glob("*.py")}
    assert sources == expected


def test_a_bundle_that_is_not_one_fails_the_pass_with_its_reason(tmp_path):
    (tmp_path / rr.BUNDLE).write_text('["not", "a", "bundle"]')
    with pytest.raises(ImportError, match="is not a bundle of module sources"):
        rr.read_bundle(str(tmp_path / rr.BUNDLE))
    with pytest.raises(ImportError, match="cannot read .*missing"):
        rr.read_bundle(str(tmp_path / "missing" / rr.BUNDLE))


def test_the_files_the_role_copies_are_all_the_command_imports(tmp_path):
    """The role's bundle, made by the role's own expression: plugins/module_utils/*.py in one file."""
    library = role_bundle(tmp_path)
    bundle = library / rr.BUNDLE
    state = tmp_path / "last-reconcile.json"
    # Only the copy and the consul package under test (make unit's PYTHONPATH) on the path.
    env = {"PYTHONPATH": os.environ.get("PYTHONPATH", ""), "PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(COMMAND), str(library), str(state)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.splitlines()[-1])
    assert outcome["files"] and all(f.startswith(f"{bundle}/") for f in outcome["files"]), outcome
    # A whole pass up to the hosts' APIs (a Docker socket that does not exist, whichever the pass asks
    # first), which the state file and the one line on stderr say.
    assert outcome["code"] == rr.EXIT_FAILED
    recorded = json.loads(state.read_text())
    assert recorded["error"].startswith("docker_unavailable: listing the running containers failed"), recorded
    assert result.stderr.startswith("registrator-reconcile: docker_unavailable: ")
    assert len(result.stderr.splitlines()) == 1


# --- the role's files ---------------------------------------------------------------------------

TASKS = """    - name: Render the reconcile service unit
      ansible.builtin.template:
        src: {role}/templates/dockyard-registrator-reconcile.service.j2
        dest: {out}/reconcile.service
        mode: "0644"
    - name: Render the environment file
      ansible.builtin.template:
        src: {role}/templates/registrator-reconcile.env.j2
        dest: {out}/reconcile.env
        mode: "0600"
    - name: Render the service definition as the role does
      ansible.builtin.copy:
        content: "{{{{ _registrator_reconcile_service | to_nice_json }}}}\\n"
        dest: {out}/service.json
        mode: "0640"
"""


def render_role_files(tmp_path: Path, host: str, extra_vars: dict) -> dict:
    """The unit, the environment file and the service definition as the role writes them for host."""
    run_local_playbook(role_play(ROLE, TASKS.format(role=ROLE, out=tmp_path)), tmp_path, extra_vars, host=host)
    return {name: (tmp_path / name).read_text() for name in ("reconcile.service", "reconcile.env", "service.json")}


def exec_start(unit: str) -> list[str]:
    """ExecStart's words as systemd splits them (quotes as the shell's here, %% for %)."""
    (line,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    return [word.replace("%%", "%") for word in shlex.split(line[len("ExecStart=") :])]


def test_the_roles_unit_gives_the_command_the_containers_settings_and_the_token_stays_out(tmp_path):
    run_once_only()
    files = render_role_files(
        tmp_path,
        "secure1",
        {
            "registrator_secure": True,
            "registrator_consul_address": "172.20.30.10",
            "registrator_explicit": True,
            "registrator_tags": ["dockyard", "flagtest"],
            "registrator_use_ip_from_label": "dockyard.address",
            "registrator_deregister": "on-success",
            "registrator_reconcile_interval": 15,
            "_registrator_reconcile_issued_token": "0b6f1f64-3f1c-0e9b-8a7d-1796116394aa",
        },
    )
    argv = exec_start(files["reconcile.service"])
    assert argv[0] == "/usr/local/libexec/dockyard/registrator-reconcile"
    args = rr.parser().parse_args(argv[1:])
    assert (args.fix, args.interval, args.hostname) == (True, 15, "secure1")
    assert (args.consul_scheme, args.consul_address, args.consul_port) == ("https", "172.20.30.10", 8501)
    assert args.consul_ca_file == "/etc/consul.d/tls/ca.pem"
    assert (args.host_ip, args.internal, args.explicit) == ("172.20.30.10", False, True)  # registrator's -ip
    assert (args.tags, args.use_ip_from_label, args.deregister) == (
        ["dockyard", "flagtest"],
        "dockyard.address",
        "on-success",
    )
    assert args.docker_host == "unix:///var/run/docker.sock"
    assert "0b6f1f64" not in files["reconcile.service"]
    assert "CONSUL_HTTP_TOKEN=0b6f1f64-3f1c-0e9b-8a7d-1796116394aa\n" in files["reconcile.env"]
    assert "EnvironmentFile=/etc/dockyard/registrator-reconcile.env" in files["reconcile.service"]
    assert "WantedBy=consul.service" in files["reconcile.service"]
    # The check is the service registrator's, not the node's: see vars/main.yml.
    assert json.loads(files["service.json"]) == {
        "service": {
            "id": "registrator",
            "name": "registrator",
            "meta": {"reconcile_interval": "15"},
            "checks": [
                {
                    "id": "registrator-reconcile",
                    "name": "registrator registrations in sync",
                    "args": ["/usr/local/libexec/dockyard/registrator-reconcile", "--status"],
                    "interval": "10s",
                    "timeout": "5s",
                }
            ],
            "token": "0b6f1f64-3f1c-0e9b-8a7d-1796116394aa",
        }
    }


def test_the_roles_unit_in_plain_text_mode_with_internal(tmp_path):
    run_once_only()
    files = render_role_files(
        tmp_path,
        "node3",
        {
            "dockyard_secure": False,
            "registrator_consul_address": "172.20.20.30",
            "registrator_internal": True,
        },
    )
    args = rr.parser().parse_args(exec_start(files["reconcile.service"])[1:])
    assert (args.consul_scheme, args.consul_port, args.consul_ca_file) == ("http", 8500, None)
    assert (args.internal, args.host_ip, args.explicit, args.tags, args.deregister) == (True, "", False, [], "always")
    assert "CONSUL_HTTP_TOKEN" not in files["reconcile.env"]
    assert "token" not in json.loads(files["service.json"])["service"]


class FakeDocker:
    """inspect_container of one container, as the library's DockerAPI answers it."""

    def __init__(self, containers: dict):
        self.containers = containers

    def inspect_container(self, name):
        return self.containers.get(name)


def test_a_pass_runs_only_while_the_container_runs_the_timer_s_flags():
    command = load_command()
    flags = ["-internal", "-deregister=always", "consul://10.0.0.1:8500"]
    args = command.parser().parse_args(
        ["--container=registrator", f"--container-args-sha256={command.container_args_sha256(flags)}"]
    )
    command.check_container_flags(args, FakeDocker({"registrator": {"Args": flags}}))  # same flags: no error
    with pytest.raises(command.FlagsChanged, match="runs other flags than this timer's"):
        command.check_container_flags(
            args, FakeDocker({"registrator": {"Args": [*flags[:1], "-explicit", *flags[1:]]}})
        )
    with pytest.raises(command.FlagsChanged, match="does not exist"):
        command.check_container_flags(args, FakeDocker({}))
    # Without --container (by hand, say), nothing is compared.
    command.check_container_flags(command.parser().parse_args([]), FakeDocker({}))


def test_the_role_fingerprints_the_container_command_as_the_command_does():
    """The role hashes `_registrator_command | to_json | hash('sha256')`: the same digest as the command's."""
    from ansible.plugins.filter.core import get_hash, to_json

    command = load_command()
    flags = ["-ip=10.0.0.1", "-tags=a,b", "-retry-attempts=-1", "consul-tls://10.0.0.1:8501"]
    assert get_hash(to_json(flags), "sha256") == command.container_args_sha256(flags)
