# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""registrator_wait's decisions, on `docker inspect` documents and `docker logs --timestamps` texts as Docker 27 writes them."""

import subprocess
import sys

import pytest
from conftest import COLLECTIONS

from ansible_collections.dockyard.discovery.plugins.module_utils._registrator_health import (
    FAILED,
    READY,
    WAITING,
    Observation,
    WaitSettings,
    assess,
    error_excerpt,
    leader_from,
    lines_since,
    logs_since,
    parse_docker_time,
    run_start,
    split_log,
)

NS = 1_000_000_000
# 2026-12-01T09:13:14Z
T0 = 1796116394 * NS
NEVER = "0001-01-01T00:00:00Z"
SETTINGS = WaitSettings(name="registrator", timeout=30, stable_for=3, log_lines=20)


def rfc3339(ns, trim=False):
    """A time on 2026-12-01 as Docker writes it: log lines keep nine digits, inspect (Go's RFC3339Nano) trims zeros."""
    seconds, fraction = divmod(ns, NS)
    hours, rest = divmod(seconds - 1796083200, 3600)  # 1796083200: 2026-12-01T00:00:00Z
    minutes, secs = divmod(rest, 60)
    text = f"2026-12-01T{hours:02d}:{minutes:02d}:{secs:02d}.{fraction:09d}"
    return (text.rstrip("0").rstrip(".") if trim else text) + "Z"


def at(seconds):
    return T0 + round(seconds * NS)


def container(started, finished=None, running=True, restarting=False, exit_code=0, restart_count=0, status=None):
    """A `docker inspect` document of a registrator container, times in seconds after T0."""
    return {
        "Id": "3f1c0e9b8a7d",
        "Name": "/registrator",
        "RestartCount": restart_count,
        "Image": "sha256:0b6f1f64cbe5",
        "Config": {"Image": "gliderlabs/registrator:v7"},
        "State": {
            "Status": status or ("restarting" if restarting else "running" if running else "exited"),
            "Running": running or restarting,  # Docker keeps Running true while it waits to restart
            "Paused": False,
            "Restarting": restarting,
            "ExitCode": exit_code,
            "StartedAt": rfc3339(at(started), trim=True),
            "FinishedAt": NEVER if finished is None else rfc3339(at(finished), trim=True),
        },
    }


def log(*entries):
    """`docker logs --timestamps` text from (seconds after T0, registrator's line)."""
    return "".join(f"{rfc3339(at(seconds))} {line}\n" for seconds, line in entries)


GOOD_START = [
    (0.002, "2026/12/01 09:13:14 Starting registrator v7.4.0 ..."),
    (0.003, "2026/12/01 09:13:14 Forcing host IP to 172.20.20.30"),
    (0.004, "2026/12/01 09:13:14 Using consul adapter: consul://172.20.20.30:8500"),
    (0.004, "2026/12/01 09:13:14 Connecting to backend (0/-1)"),
    (0.006, "2026/12/01 09:13:14 consul: current leader  172.20.20.10:8300"),
    (0.008, "2026/12/01 09:13:14 Listening for Docker events ..."),
    (0.011, "2026/12/01 09:13:14 Syncing services on 2 containers"),
]
GOOD_LINES = [line for _seconds, line in GOOD_START]
BAD_ADAPTER = [
    (0.002, "2026/12/01 09:13:14 Starting registrator v7.4.0 ..."),
    (0.003, "2026/12/01 09:13:14 unrecognized adapter: consul-tls://172.20.20.30:8501"),
]
USAGE = [
    "Usage of /bin/registrator:",
    "  /bin/registrator [options] <registry URI>",
    "",
    "  -cleanup",
    "    \tRemove dangling services",
    "  -deregister string",
    '    \tDeregister exited services "always" or "on-success" (default "always")',
    "  -internal",
    "    \tUse internal ports instead of published ones",
]


def observe(first, current=None, entries=(), now=0.0, elapsed=0.0, settings=SETTINGS):
    current = first if current is None else current
    return assess(settings, Observation(first, current, log(*entries), now=at(now), elapsed=elapsed))


# --- timestamps and log lines --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T09:13:14.083649170Z", T0 + 83_649_170),
        ("2026-12-01T09:13:14.08364917Z", T0 + 83_649_170),  # RFC3339Nano drops trailing zeros
        ("2026-12-01T09:13:14.000000001Z", T0 + 1),
        ("2026-12-01T09:13:14Z", T0),
        ("2026-12-01T10:13:14.5+01:00", T0 + NS // 2),
        ("2026-12-01T07:43:14.25-01:30", T0 + NS // 4),
    ],
)
def test_docker_times_parse_to_exact_nanoseconds(text, expected):
    assert parse_docker_time(text) == expected


@pytest.mark.parametrize("text", ["", "2026/12/01 09:13:14", "2026-12-01T09:13:14", "2026-12-01T09:13:14.1234567890Z"])
def test_other_texts_are_not_docker_times(text):
    with pytest.raises(ValueError, match="not an RFC 3339 time"):
        parse_docker_time(text)


def test_split_log_removes_docker_timestamps_and_keeps_registrator_text():
    text = (
        "2026-12-01T09:13:14.002000000Z 2026/12/01 09:13:14 Starting registrator v7.4.0 ...\n"
        "2026-12-01T09:13:14.003000000Z flag provided but not defined: -bogus\r\n"
        "2026-12-01T09:13:14.003000001Z \n"
        "continued without a timestamp\n"
    )
    assert split_log(text) == [
        (T0 + 2_000_000, "2026/12/01 09:13:14 Starting registrator v7.4.0 ..."),
        (T0 + 3_000_000, "flag provided but not defined: -bogus"),
        (T0 + 3_000_001, ""),
        (T0 + 3_000_001, "continued without a timestamp"),
    ]


def test_lines_since_keeps_lines_at_or_after_the_start():
    entries = split_log(log((0.1, "a"), (0.2, "b"), (0.3, "c")))
    assert lines_since(entries, at(0.2)) == ["b", "c"]
    assert lines_since(entries, at(0.2) + 1) == ["c"]
    assert lines_since(entries, None) == ["a", "b", "c"]


def test_leader_is_the_address_of_the_last_leader_line():
    assert leader_from(GOOD_LINES) == "172.20.20.10:8300"
    assert leader_from(["consul: current leader  10.0.0.1:8300", "consul: current leader  10.0.0.2:8300"]) == (
        "10.0.0.2:8300"
    )
    assert leader_from(["2026/12/01 09:13:14 consul: current leader  "]) == ""  # Consul without a leader
    assert leader_from(["2026/12/01 09:13:14 etcd: current index 7"]) == ""


def test_excerpt_skips_go_usage_text_to_keep_the_flag_error():
    lines = ["2026/12/01 09:13:14 Starting registrator v7.4.0 ...", "flag provided but not defined: -explicit"] + USAGE
    assert error_excerpt(lines * 3) == [
        "flag provided but not defined: -explicit",
        "2026/12/01 09:13:14 Starting registrator v7.4.0 ...",
        "flag provided but not defined: -explicit",
        "2026/12/01 09:13:14 Starting registrator v7.4.0 ...",
        "flag provided but not defined: -explicit",
    ]
    assert error_excerpt(["a", "", "b", "c"], 2) == ["b", "c"]
    assert error_excerpt(["a"], 0) == []


# --- which run a line belongs to -----------------------------------------------------------


def test_a_container_that_never_exited_has_one_run():
    assert run_start(container(started=0.0)) is None
    assert logs_since(container(started=0.0)) is None


def test_after_a_restart_the_run_starts_after_the_previous_finish():
    restarted = container(started=0.45, finished=0.3, restart_count=1)
    assert run_start(restarted) == parse_docker_time(restarted["State"]["FinishedAt"]) + 1
    assert logs_since(restarted) == T0 // NS  # whole seconds: Docker's `since`, trimmed exactly afterwards


def test_an_exited_run_starts_at_started_at():
    exited = container(started=0.45, finished=0.9, running=False, exit_code=1)
    assert run_start(exited) == parse_docker_time(exited["State"]["StartedAt"])


def test_lines_of_a_previous_run_never_count_even_within_the_same_second():
    # the previous run connected and died 0.15 s before this one started, in the same second
    previous = [(0.100, "2026/12/01 09:13:14 Listening for Docker events ..."), (0.2, "2026/12/01 09:13:14 panic")]
    current = [(0.46, "2026/12/01 09:13:14 Starting registrator v7.4.0 ..."), (0.47, "Connecting to backend (0/-1)")]
    restarted = container(started=0.45, finished=0.3, restart_count=1)
    verdict = observe(restarted, entries=previous + current, now=10.0, elapsed=10.0, settings=WaitSettings(timeout=60))
    assert (verdict.state, verdict.reason) == (WAITING, "connecting")
    assert verdict.log == ("2026/12/01 09:13:14 Starting registrator v7.4.0 ...", "Connecting to backend (0/-1)")


def test_a_line_docker_stamped_before_started_at_still_counts_for_this_run():
    # Docker records StartedAt once the process runs: its first lines can carry earlier times.
    restarted = container(started=0.45, finished=0.3, restart_count=1)
    entries = [(0.2, "old run"), (0.449, "2026/12/01 09:13:14 Starting registrator v7.4.0 ..."), (0.46, "Listening")]
    verdict = observe(restarted, entries=entries, now=5.0, elapsed=4.0)
    assert verdict.log == ("2026/12/01 09:13:14 Starting registrator v7.4.0 ...", "Listening")


# --- verdicts ------------------------------------------------------------------------------


def test_ready_once_it_reached_its_backend_and_was_up_stable_for():
    verdict = observe(container(started=0.0), entries=GOOD_START, now=3.5, elapsed=3.0)
    assert (verdict.state, verdict.reason) == (READY, "ready")
    assert verdict.leader == "172.20.20.10:8300"
    assert verdict.uptime == 3.5
    assert verdict.log == tuple(GOOD_LINES)
    assert verdict.stop is False


def test_a_rerun_is_ready_at_the_first_look():
    up_for_days = container(started=0.0)
    verdict = observe(up_for_days, entries=GOOD_START, now=86400 * 3, elapsed=0.0)
    assert (verdict.state, verdict.uptime) == (READY, 259200.0)
    assert verdict.message() == "registrator container registrator reached its backend and has been up 259200 s"


def test_log_lines_limits_the_log():
    verdict = observe(container(started=0.0), entries=GOOD_START, now=5.0, settings=WaitSettings(log_lines=2))
    assert verdict.log == tuple(GOOD_LINES[-2:])
    assert observe(container(started=0.0), entries=GOOD_START, now=5.0, settings=WaitSettings(log_lines=0)).log == ()


def test_waiting_while_it_retries_the_backend():
    entries = GOOD_START[:3] + [(0.004, "2026/12/01 09:13:14 Connecting to backend (0/-1)")]
    entries += [(2.004, "2026/12/01 09:13:16 Connecting to backend (1/-1)")]
    verdict = observe(container(started=0.0), entries=entries, now=2.5, elapsed=2.3)
    assert (verdict.state, verdict.reason) == (WAITING, "connecting")
    assert (
        verdict.summary == "registrator container registrator has not reached its backend yet (2 connection attempts)"
    )
    assert verdict.leader == ""


def test_waiting_until_stable_for_after_reaching_the_backend():
    verdict = observe(container(started=0.0), entries=GOOD_START, now=1.2, elapsed=1.0)
    assert (verdict.state, verdict.reason) == (WAITING, "settling")
    assert verdict.summary == "registrator container registrator reached its backend, up 1.2 s of 3 s"
    assert verdict.uptime == 1.2
    assert verdict.leader == "172.20.20.10:8300"


def test_watched_time_counts_as_uptime_when_the_clock_disagrees():
    # a Docker host clock behind the module's: uptime looks negative, the wait must still end
    verdict = observe(container(started=0.0), entries=GOOD_START, now=-5.0, elapsed=3.0)
    assert (verdict.state, verdict.uptime) == (READY, 0.0)


def test_an_unrecognized_adapter_fails_with_registrator_s_message():
    first = container(started=0.0)
    crashed = container(started=0.0, finished=0.004, restarting=True, exit_code=1, restart_count=1)
    verdict = observe(first, crashed, entries=BAD_ADAPTER, now=0.6, elapsed=0.5)
    assert (verdict.state, verdict.reason, verdict.stop) == (FAILED, "restarting", True)
    assert verdict.message("; stopped it") == (
        "registrator container registrator exited (exit code 1) and Docker is restarting it (1 restart); stopped it"
        "; last log lines: 2026/12/01 09:13:14 Starting registrator v7.4.0 ..."
        " | 2026/12/01 09:13:14 unrecognized adapter: consul-tls://172.20.20.30:8501"
    )
    assert verdict.log == tuple(line for _seconds, line in BAD_ADAPTER)
    assert verdict.uptime == 0.004


def test_restarting_at_the_first_look_fails_at_once():
    crashed = container(started=0.0, finished=0.004, restarting=True, exit_code=1, restart_count=4)
    verdict = observe(crashed, entries=BAD_ADAPTER, now=0.2, elapsed=0.0)
    assert (verdict.state, verdict.reason, verdict.stop) == (FAILED, "restarting", True)


def test_a_bad_flag_fails_with_the_flag_error_not_the_usage_text():
    entries = [
        (0.002, "2026/12/01 09:13:14 Starting registrator v7.4.0 ..."),
        (0.003, "flag provided but not defined: -bogus"),
    ]
    entries += [(0.003, line) for line in USAGE]
    crashed = container(started=0.0, finished=0.004, restarting=True, exit_code=2, restart_count=1)
    verdict = observe(container(started=0.0), crashed, entries=entries, now=0.6, elapsed=0.5)
    assert verdict.excerpt == (
        "2026/12/01 09:13:14 Starting registrator v7.4.0 ...",
        "flag provided but not defined: -bogus",
    )
    assert verdict.log[-1] == "    \tUse internal ports instead of published ones"
    assert "exit code 2" in verdict.summary


def test_restarted_since_the_first_look_fails_with_the_crashed_run_s_lines():
    first = container(started=0.0)
    entries = GOOD_START + [(1.0, "2026/12/01 09:13:15 Docker event loop closed")]
    entries += [(1.2, "2026/12/01 09:13:15 Starting registrator v7.4.0 ...")]
    again = container(started=1.15, finished=1.01, restart_count=1)
    verdict = observe(first, again, entries=entries, now=1.5, elapsed=1.4)
    assert (verdict.state, verdict.reason, verdict.stop) == (FAILED, "restarted", True)
    assert verdict.summary == (
        "registrator container registrator restarted 1 time while waiting (it had started at 2026-12-01T09:13:14Z)"
    )
    # both runs: the one that died (with its last words) and the new one
    assert verdict.excerpt == (
        "2026/12/01 09:13:14 consul: current leader  172.20.20.10:8300",
        "2026/12/01 09:13:14 Listening for Docker events ...",
        "2026/12/01 09:13:14 Syncing services on 2 containers",
        "2026/12/01 09:13:15 Docker event loop closed",
        "2026/12/01 09:13:15 Starting registrator v7.4.0 ...",
    )
    assert len(verdict.log) == 9
    assert verdict.leader == ""  # the new run has not reached Consul yet


def test_a_new_started_at_without_a_restart_count_is_a_restart_too():
    first = container(started=0.0)
    verdict = observe(first, container(started=2.0, finished=1.9), entries=GOOD_START, now=2.5, elapsed=2.4)
    assert (verdict.reason, verdict.stop) == ("restarted", True)
    assert verdict.summary.startswith("registrator container registrator was started again while waiting")


def test_an_exited_container_fails_and_is_not_stopped():
    exited = container(started=0.0, finished=0.004, running=False, exit_code=1)
    verdict = observe(exited, entries=BAD_ADAPTER, now=0.5)
    assert (verdict.state, verdict.reason, verdict.stop) == (FAILED, "exited", False)
    assert verdict.message().startswith("registrator container registrator exited (exit code 1); last log lines: ")


@pytest.mark.parametrize(
    ("state", "reason", "summary"),
    [
        ({"Status": "created", "Running": False, "StartedAt": NEVER}, "not_running", "is created, not running"),
        ({"Status": "paused", "Running": True, "Paused": True}, "paused", "is paused"),
    ],
)
def test_a_container_that_is_not_running_fails_and_is_not_stopped(state, reason, summary):
    other = container(started=0.0)
    other["State"].update(state)
    verdict = observe(other, now=0.5)
    assert (verdict.state, verdict.reason, verdict.stop) == (FAILED, reason, False)
    assert verdict.summary == f"registrator container registrator {summary}"


def test_a_container_removed_while_waiting_fails():
    verdict = assess(SETTINGS, Observation(container(started=0.0), None))
    assert (verdict.state, verdict.reason, verdict.stop) == (FAILED, "removed", False)
    assert verdict.message() == "registrator container registrator was removed while waiting for it"


def test_a_container_that_logged_nothing_says_so():
    crashed = container(started=0.0, finished=0.001, restarting=True, exit_code=127, restart_count=1)
    assert observe(crashed, now=0.5).message() == (
        "registrator container registrator exited (exit code 127) and Docker is restarting it (1 restart)"
        "; it logged nothing"
    )


def test_timeout_fails_with_the_retries_and_leaves_the_container_running():
    entries = [(0.004 + 2 * attempt, f"Connecting to backend ({attempt}/-1)") for attempt in range(16)]
    verdict = observe(container(started=0.0), entries=entries, now=30.2, elapsed=30.0)
    assert (verdict.state, verdict.reason, verdict.stop) == (FAILED, "timeout", False)
    assert verdict.message() == (
        "registrator container registrator did not reach its backend within 30 s"
        " (16 connection attempts; left running: it retries and may still connect)"
        "; last log lines: Connecting to backend (11/-1) | Connecting to backend (12/-1) | Connecting to backend (13/-1)"
        " | Connecting to backend (14/-1) | Connecting to backend (15/-1)"
    )
    assert len(verdict.log) == 16


def test_a_missing_container_fails_with_its_name():
    verdict = assess(WaitSettings(name="reg"), Observation(None, None))
    assert (verdict.state, verdict.reason) == (FAILED, "not_found")
    assert verdict.message() == "registrator container reg does not exist"


# --- the module's polling, against a fake Docker API ----------------------------------------


class FakeClock:
    """Seconds after T0, advanced only by sleep."""

    def __init__(self, now):
        self.now = now

    def sleep(self, seconds):
        self.now += seconds

    def monotonic(self):
        return self.now

    def time_ns(self):
        return at(self.now)

    def functions(self):
        return {"sleep": self.sleep, "monotonic": self.monotonic, "time_ns": self.time_ns}


class FakeDocker:
    """The DockerAPI calls of registrator_wait; script(now) -> (inspect or None, [(seconds, line)])."""

    def __init__(self, clock, script):
        self.clock = clock
        self.script = script
        self.calls = []

    def inspect_container(self, name):
        self.calls.append(("inspect", name))
        return self.script(self.clock.now)[0]

    def logs(self, name, since=None):
        self.calls.append(("logs", name, since))
        entries = self.script(self.clock.now)[1]
        # what Docker does with a whole-second `since`
        return log(*(entry for entry in entries if since is None or at(entry[0]) >= since * NS))

    def stop(self, name, timeout):
        self.calls.append(("stop", name, timeout))
        return True


def wait(script, start, check_mode=False, stop_on_failure=True, settings=SETTINGS):
    from ansible_collections.dockyard.discovery.plugins.modules.registrator_wait import wait_for_registrator

    clock = FakeClock(start)
    api = FakeDocker(clock, script)
    result = wait_for_registrator(api, settings, stop_on_failure, check_mode, **clock.functions())
    return result, api.calls, clock.now


def good_start(now):
    return container(started=0.0), [entry for entry in GOOD_START if entry[0] <= now]


def restart_loop(now):
    """The bad adapter: every run exits 4 ms after it started, Docker restarts it after 100 ms, then 200 ms."""
    runs = [0.0, 0.104, 0.308]
    index = max(i for i, started in enumerate(runs) if started <= now)
    started = runs[index]
    entries = [
        (run + seconds, line) for run in runs[: index + 1] for seconds, line in BAD_ADAPTER if run + seconds <= now
    ]
    finished = None if index == 0 else runs[index - 1] + 0.004
    if now < started + 0.004:
        return container(started=started, finished=finished, restart_count=index), entries
    return container(
        started=started, finished=started + 0.004, restarting=True, exit_code=1, restart_count=index + 1
    ), entries


def test_a_good_start_is_ready_once_up_stable_for():
    result, calls, now = wait(good_start, start=0.2)
    assert result == {
        "changed": False,
        "msg": "registrator container registrator reached its backend and has been up 3.2 s",
        "container": "registrator",
        "image": "gliderlabs/registrator:v7",
        "started_at": "2026-12-01T09:13:14Z",
        "restart_count": 0,
        "uptime": 3.2,
        "leader": "172.20.20.10:8300",
        "log": GOOD_LINES,
    }
    assert now == pytest.approx(3.2)
    assert calls == [("inspect", "registrator"), ("logs", "registrator", None)] * 7


def test_a_rerun_costs_one_inspection_and_one_log_read():
    result, calls, _now = wait(good_start, start=86400.0)
    assert (result["changed"], result["uptime"], "failed" in result) == (False, 86400.0, False)
    assert calls == [("inspect", "registrator"), ("logs", "registrator", None)]


def test_a_restart_loop_fails_at_once_and_is_stopped():
    result, calls, now = wait(restart_loop, start=0.003)
    assert result["failed"] is True and result["changed"] is True
    assert result["msg"] == (
        "registrator container registrator exited (exit code 1) and Docker is restarting it (3 restarts)"
        "; stopped it so that its restart policy does not keep it looping"
        "; last log lines: 2026/12/01 09:13:14 unrecognized adapter: consul-tls://172.20.20.30:8501"
        " | 2026/12/01 09:13:14 Starting registrator v7.4.0 ..."
        " | 2026/12/01 09:13:14 unrecognized adapter: consul-tls://172.20.20.30:8501"
        " | 2026/12/01 09:13:14 Starting registrator v7.4.0 ..."
        " | 2026/12/01 09:13:14 unrecognized adapter: consul-tls://172.20.20.30:8501"
    )
    assert result["restart_count"] == 3 and len(result["log"]) == 6
    assert calls[-1] == ("stop", "registrator", 10)
    assert now == pytest.approx(0.503)


def test_a_loop_seen_before_docker_logged_its_lines_waits_for_them():
    """On a busy host Docker can show the third restart before the runs' output is in the log
    (seen in CI: "it logged nothing"). The lines arrive a poll later and make the message."""

    def late_log(now):
        inspect, entries = restart_loop(now)
        return inspect, entries if now >= 1.5 else []

    result, calls, now = wait(late_log, start=0.003)
    assert result["failed"] is True
    assert "unrecognized adapter: consul-tls://172.20.20.30:8501" in result["msg"]
    assert "logged nothing" not in result["msg"]
    assert calls[-1] == ("stop", "registrator", 10)
    assert now == pytest.approx(1.503)


def test_a_run_that_really_logs_nothing_still_fails_after_a_few_polls():
    def silent(now):
        return restart_loop(now)[0], []

    result, _calls, now = wait(silent, start=0.003)
    assert result["failed"] is True and result["msg"].endswith("; it logged nothing")
    assert now == pytest.approx(0.503 + 4 * 0.5)


def test_check_mode_never_stops_and_reports_the_change():
    result, calls, _now = wait(restart_loop, start=0.003, check_mode=True)
    assert (result["failed"], result["changed"]) == (True, True)
    assert "; check mode: it was not stopped; last log lines: " in result["msg"]
    assert [call for call in calls if call[0] == "stop"] == []


def test_stop_on_failure_false_leaves_the_loop_alone():
    result, calls, _now = wait(restart_loop, start=0.003, stop_on_failure=False)
    assert (result["failed"], result["changed"]) == (True, False)
    assert [call for call in calls if call[0] == "stop"] == []


def test_a_backend_that_never_answers_times_out_and_is_left_running():
    def retrying(now):
        attempts = [
            (0.004 + 2 * attempt, f"Connecting to backend ({attempt}/-1)") for attempt in range(int(now / 2) + 1)
        ]
        return container(started=0.0), [entry for entry in attempts if entry[0] <= now]

    result, calls, now = wait(retrying, start=0.2, settings=WaitSettings(timeout=10))
    assert (result["failed"], result["changed"]) == (True, False)
    assert result["msg"].startswith(
        "registrator container registrator did not reach its backend within 10 s (6 connection attempts;"
    )
    assert result["log"][-1] == "Connecting to backend (5/-1)"
    assert now == pytest.approx(10.2)
    assert len(calls) == 2 * 21 and [call for call in calls if call[0] == "stop"] == []


def test_a_missing_container_fails_without_reading_logs():
    result, calls, _now = wait(lambda now: (None, []), start=0.0, settings=WaitSettings(name="reg"))
    assert result == {"changed": False, "failed": True, "msg": "registrator container reg does not exist"}
    assert calls == [("inspect", "reg")]


# --- the Docker API adapter ----------------------------------------------------------------


def test_docker_host_defaults_to_the_environment_then_the_socket():
    from ansible_collections.dockyard.discovery.plugins.module_utils._docker_api import default_docker_host

    assert default_docker_host("tcp://10.0.0.1:2375", {"DOCKER_HOST": "unix:///x"}) == "tcp://10.0.0.1:2375"
    assert default_docker_host(None, {"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}) == (
        "unix:///run/user/1000/docker.sock"
    )
    assert default_docker_host(None, {}) == "unix:///var/run/docker.sock"


def test_a_missing_docker_socket_is_a_clear_error(tmp_path):
    from ansible_collections.dockyard.discovery.plugins.module_utils._docker_api import DockerUnavailable, connect

    host = f"unix://{tmp_path}/no-docker.sock"
    with pytest.raises(DockerUnavailable) as raised:
        connect(host)
    assert raised.value.message.startswith(f"the Docker API at {host} could not be used (")
    assert "No such file or directory" in raised.value.message


def test_sdk_and_transport_errors_become_docker_unavailable():
    import docker
    import requests

    from ansible_collections.dockyard.discovery.plugins.module_utils._docker_api import DockerAPI, DockerUnavailable

    class Client:
        def inspect_container(self, container):
            raise docker.errors.NotFound("No such container: registrator")

        def logs(self, container, **kwargs):
            raise requests.exceptions.ConnectionError("Connection aborted.")

        def stop(self, container, timeout):
            raise docker.errors.APIError("409 Client Error: Conflict")

    api = DockerAPI(Client(), "unix:///var/run/docker.sock")
    assert api.inspect_container("registrator") is None
    with pytest.raises(DockerUnavailable) as raised:
        api.logs("registrator")
    assert raised.value.message == (
        "the Docker API at unix:///var/run/docker.sock could not be used to read the logs of container registrator"
        " (Connection aborted.)"
    )
    with pytest.raises(DockerUnavailable, match="could not be used to stop container registrator"):
        api.stop("registrator")


def test_the_module_reports_an_unusable_docker_api_without_a_traceback(tmp_path):
    import json
    import os

    host = f"unix://{tmp_path}/no-docker.sock"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "DOCKER_"))}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_STDOUT_CALLBACK="json",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        DOCKER_HOST=host,
    )
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    process = subprocess.run(
        [ansible, "localhost", "-c", "local", "-m", "dockyard.discovery.registrator_wait"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    result = json.loads(process.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    # a crash would be "MODULE FAILURE" with the traceback in module_stderr
    assert result["failed"] is True and "module_stderr" not in result, result
    assert result["msg"].startswith(
        f"waiting for registrator container registrator failed: the Docker API at {host} could not be used ("
    )
