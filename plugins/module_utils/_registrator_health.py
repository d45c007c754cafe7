# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a gliderlabs/registrator container reached its backend: the decisions of registrator_wait.

Pure functions over what the Docker API returns (`docker inspect` dicts, `docker logs --timestamps`
text) and the time, with no Ansible, no Docker SDK and no I/O, so that the unit tests can replay
any sequence of observations. Log texts follow registrator.go (gliderlabs/registrator master).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

READY = "ready"
WAITING = "waiting"
FAILED = "failed"

# registrator logs it once the backend answered its ping (for every adapter) and Docker's event
# stream is open; nothing logs it before the backend is reached.
REACHED_MARKER = "Listening for Docker events"
# logged before every ping: "Connecting to backend (<attempt>/<retry-attempts>)"
CONNECTING_MARKER = "Connecting to backend"
# consul/consul.go: log.Println("consul: current leader ", leader), hence the double space
LEADER_PATTERN = re.compile(r"consul: current leader\s+(\S*)")
# Go's flag package prints the error, then "Usage of <program>:" and the indented flag list.
USAGE_START = "Usage of "
# How many log lines a failure message carries inline (the full `log_lines` go to the log result).
INLINE_LINES = 5

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$", re.IGNORECASE
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NS = 1_000_000_000


def parse_docker_time(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time as Docker writes them.

    Inspect times are Go's RFC3339Nano (trailing zeros of the fraction dropped), log times keep
    all nine digits. Integers, because datetime stops at microseconds and a log line written in
    the same microsecond as StartedAt must still compare correctly.
    """
    match = _TIMESTAMP.match(text or "")
    if not match:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second = (int(part) for part in match.group(1, 2, 3, 4, 5, 6))
    fraction = int((match.group(7) or "").ljust(9, "0"))
    seconds = (datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc) - _EPOCH) // timedelta(seconds=1)
    if not match.group(8):
        offset = (int(match.group(10)) * 60 + int(match.group(11))) * 60
        seconds -= offset if match.group(9) == "+" else -offset
    return seconds * _NS + fraction


def _seconds(value: float) -> str:
    """3.2, 30, 259200: seconds for a message, without the exponent of :g."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _times(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _state_time(state: dict, key: str) -> int | None:
    """A time of `State`, None when unset (Docker reports Go's zero time, year 1)."""
    text = state.get(key) or ""
    if not text or text.startswith("0001-01-01"):
        return None
    return parse_docker_time(text)


def split_log(text: str) -> list:
    """`docker logs --timestamps` text as [(nanoseconds, line)], the timestamps removed.

    A line without a timestamp (a continuation) takes the previous one's; leading ones get None.
    """
    entries = []
    stamp = None
    for raw in (text or "").split("\n"):
        head, _sep, rest = raw.partition(" ")
        try:
            stamp, line = parse_docker_time(head), rest
        except ValueError:
            if not raw:
                continue
            line = raw
        entries.append((stamp, line.rstrip("\r")))
    return entries


def lines_since(entries: list, start: int | None) -> list:
    """The lines logged at or after `start` (ns); every line when start is None."""
    if start is None:
        return [line for _stamp, line in entries]
    return [line for stamp, line in entries if stamp is not None and stamp >= start]


def run_start(inspect: dict) -> int | None:
    """The earliest log time (ns) that belongs to the container's current or last run; None: all do.

    That is StartedAt, but Docker stamps StartedAt only after the process was started, so the
    first lines of a run can carry a slightly earlier time. Docker stamps FinishedAt after it
    copied the last output of a run, so when a previous run ended before StartedAt every line
    after its FinishedAt is this run's; when the container never exited, every line is.
    """
    state = inspect.get("State") or {}
    started = _state_time(state, "StartedAt")
    finished = _state_time(state, "FinishedAt")
    if started is None or finished is None:
        return None
    if finished < started:
        return finished + 1
    return started


def logs_since(inspect: dict | None) -> int | None:
    """The `since` (whole seconds) for the logs call: run_start rounded down, None for everything."""
    start = run_start(inspect) if inspect else None
    return None if start is None else max(start // _NS, 1)


def leader_from(lines: list) -> str:
    """The address in registrator's last `consul: current leader` line, '' without one."""
    leader = ""
    for line in lines:
        match = LEADER_PATTERN.search(line)
        if match:
            leader = match.group(1)
    return leader


def error_excerpt(lines: list, count: int = INLINE_LINES) -> list:
    """The last `count` non-blank lines, without Go's usage text, which follows a flag error and
    would otherwise push the error itself out of the excerpt."""
    kept = []
    in_usage = False
    for line in lines:
        if line.startswith(USAGE_START):
            in_usage = True
            continue
        if in_usage and (not line.strip() or line[:1].isspace()):
            continue
        in_usage = False
        if line.strip():
            kept.append(line)
    return kept[-count:] if count > 0 else []


@dataclass(frozen=True)
class WaitSettings:
    """registrator_wait's options that the decisions depend on."""

    name: str = "registrator"
    timeout: float = 30
    stable_for: float = 3
    log_lines: int = 20


@dataclass(frozen=True)
class Observation:
    """One poll. `first` is the first inspection of the wait: it fixes StartedAt and RestartCount.

    current: this poll's inspection (the same dict on the first poll), None when the container
    is gone. log_text: `docker logs --timestamps` since logs_since(first). now: the wall clock in
    ns since the epoch, on the Docker host's clock. elapsed: seconds since the first inspection.
    """

    first: dict | None
    current: dict | None
    log_text: str = ""
    now: int = 0
    elapsed: float = 0.0


@dataclass(frozen=True)
class Verdict:
    """ready, waiting or failed, with a reason (a stable word) and a summary for people.

    stop: the container is in a restart loop, so registrator_wait stops it (restart_policy: always
    would keep it looping). log: the last log_lines lines, excerpt: those for the failure message,
    logged: how many lines the run wrote.
    """

    state: str
    reason: str
    summary: str
    stop: bool = False
    log: tuple = ()
    excerpt: tuple = ()
    leader: str = ""
    uptime: float = 0.0
    logged: int = 0

    def message(self, note: str = "") -> str:
        """The summary, a note from the caller (what happened to the container), the excerpt."""
        text = self.summary + note
        if self.state == FAILED and self.reason not in ("not_found", "removed"):
            if self.excerpt:
                text += "; last log lines: " + " | ".join(self.excerpt)
            elif not self.logged:
                text += "; it logged nothing"
        return text


def describe(inspect: dict | None) -> dict:
    """The container facts registrator_wait returns: container, image, started_at, restart_count."""
    if not inspect:
        return {}
    return {
        "container": (inspect.get("Name") or "").lstrip("/"),
        "image": (inspect.get("Config") or {}).get("Image") or inspect.get("Image") or "",
        "started_at": (inspect.get("State") or {}).get("StartedAt") or "",
        "restart_count": int(inspect.get("RestartCount") or 0),
    }


def _uptime(state: dict, now: int) -> float:
    """Seconds the current (or, when it ended, the last) run was up."""
    started = _state_time(state, "StartedAt")
    if started is None:
        return 0.0
    finished = _state_time(state, "FinishedAt")
    if state.get("Running") and not state.get("Restarting"):
        return max(0.0, (now - started) / _NS)
    if finished is not None and finished >= started:
        return (finished - started) / _NS
    return 0.0


def _failed_run(first: dict, current: dict) -> tuple | None:
    """(reason, what happened, stop) when the container is not one healthy run since `first`, else None."""
    state = current.get("State") or {}
    code = state.get("ExitCode")
    # Docker keeps Running true while a container waits to be restarted: test Restarting first.
    if state.get("Restarting"):
        restarts = int(current.get("RestartCount") or 0)
        return (
            "restarting",
            f"exited (exit code {code}) and Docker is restarting it ({_times(restarts, 'restart')})",
            True,
        )
    if not state.get("Running"):
        status = state.get("Status") or "not running"
        if status == "exited":
            # Docker will not restart it (it would be restarting), and `docker stop` would be a no-op.
            return "exited", f"exited (exit code {code})", False
        return "not_running", f"is {status}, not running", False
    if state.get("Paused"):
        return "paused", "is paused", False
    started = (first.get("State") or {}).get("StartedAt")
    restarts = int(current.get("RestartCount") or 0) - int(first.get("RestartCount") or 0)
    if state.get("StartedAt") != started or restarts:
        what = f"restarted {_times(restarts, 'time')}" if restarts > 0 else "was started again"
        return "restarted", f"{what} while waiting (it had started at {started})", True
    return None


def assess(settings: WaitSettings, observation: Observation) -> Verdict:
    """The verdict on one poll of a registrator container."""
    name = settings.name
    first, current = observation.first, observation.current
    if first is None:
        return Verdict(FAILED, "not_found", f"registrator container {name} does not exist")
    if current is None:
        return Verdict(FAILED, "removed", f"registrator container {name} was removed while waiting for it")

    state = current.get("State") or {}
    entries = split_log(observation.log_text)
    keep = max(settings.log_lines, 0)
    uptime = round(_uptime(state, observation.now), 3)

    failure = _failed_run(first, current)
    if failure:
        reason, what, stop = failure
        # Lines since the first inspection's run: a restart must not hide the error of the run that died.
        lines = lines_since(entries, run_start(first))
        return Verdict(
            FAILED,
            reason,
            f"registrator container {name} {what}",
            stop=stop,
            log=tuple(lines[-keep:] if keep else ()),
            excerpt=tuple(error_excerpt(lines, min(INLINE_LINES, keep))),
            leader=leader_from(lines_since(entries, run_start(current))),
            uptime=uptime,
            logged=len(lines),
        )

    lines = lines_since(entries, run_start(current))
    log = tuple(lines[-keep:] if keep else ())
    leader = leader_from(lines)
    reached = any(REACHED_MARKER in line for line in lines)
    if reached:
        # Up at least as long as it has been watched, whatever the clocks say: the wait always ends.
        up = max(uptime, observation.elapsed)
        if up >= settings.stable_for:
            summary = f"registrator container {name} reached its backend and has been up {_seconds(uptime)} s"
            return Verdict(READY, "ready", summary, log=log, leader=leader, uptime=uptime, logged=len(lines))
        summary = (
            f"registrator container {name} reached its backend,"
            f" up {_seconds(uptime)} s of {_seconds(settings.stable_for)} s"
        )
        return Verdict(WAITING, "settling", summary, log=log, leader=leader, uptime=uptime, logged=len(lines))

    attempts = sum(1 for line in lines if CONNECTING_MARKER in line)
    if observation.elapsed >= settings.timeout:
        summary = (
            f"registrator container {name} did not reach its backend within {_seconds(settings.timeout)} s"
            f" ({_times(attempts, 'connection attempt')}; left running: it retries and may still connect)"
        )
        return Verdict(
            FAILED,
            "timeout",
            summary,
            log=log,
            excerpt=tuple(error_excerpt(lines, min(INLINE_LINES, keep))),
            leader=leader,
            uptime=uptime,
            logged=len(lines),
        )
    reason = "connecting" if attempts else "starting"
    summary = f"registrator container {name} has not reached its backend yet ({_times(attempts, 'connection attempt')})"
    return Verdict(WAITING, reason, summary, log=log, leader=leader, uptime=uptime, logged=len(lines))


def max_polls(settings: WaitSettings, interval: float) -> int:
    """A bound on the polls, a little above what the deadlines need; assess ends the wait first."""
    return math.ceil(max(settings.timeout, settings.stable_for) / interval) + 2


def gave_up(settings: WaitSettings, last: Verdict) -> Verdict:
    """The verdict when max_polls ran out while still waiting (only a clock that does not advance)."""
    summary = f"registrator container {settings.name} was still not ready after {_seconds(settings.timeout)} s ({last.summary})"
    return Verdict(
        FAILED,
        "timeout",
        summary,
        log=last.log,
        excerpt=last.log[-INLINE_LINES:],
        leader=last.leader,
        logged=last.logged,
    )
