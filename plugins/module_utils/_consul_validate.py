# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks done before a request is sent, so bad input fails with a message, not a 301 or 404."""

from __future__ import annotations

import re

from ._consul_errors import ConsulInvalidArgument

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BARE_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# Consul caps a blocking query's wait at 10 minutes.
MAX_WAIT_SECONDS = 600


def check_kv_key(key, allow_empty: bool = False) -> str:
    """A KV path: no leading '/', no empty, '.' or '..' segments, no control characters."""
    if not isinstance(key, str):
        raise ConsulInvalidArgument(f"KV key {key!r} must be a string.")
    if not key:
        if allow_empty:
            return key
        raise ConsulInvalidArgument("KV key is empty; give a path such as 'app/config'.")
    problem = None
    if key.startswith("/"):
        problem = "starts with '/' (Consul keys are relative: write 'app/config', not '/app/config')"
    elif _CONTROL.search(key):
        problem = "contains a control character"
    elif "//" in key:
        problem = "contains an empty path segment ('//')"
    elif any(part in (".", "..") for part in key.split("/")):
        problem = "contains a '.' or '..' segment"
    if problem:
        raise ConsulInvalidArgument(f"malformed KV key {key!r}: it {problem}.")
    return key


def check_name(kind: str, name) -> str:
    """A service or node name, which goes into a URL path."""
    if not isinstance(name, str) or not name.strip():
        raise ConsulInvalidArgument(f"{kind} name must be a non-empty string, got {name!r}.")
    if "/" in name or _CONTROL.search(name):
        raise ConsulInvalidArgument(f"{kind} name {name!r} contains '/' or a control character.")
    return name


def wait_seconds(wait) -> float:
    """A blocking query's wait in seconds: a Go duration as Consul takes it ('30s', '1m30s', '1500ms'),
    or a number of seconds."""
    return wait_duration(wait)[1]


def wait_duration(wait) -> tuple:
    """(the wait as sent to Consul, in seconds) for a blocking query's wait.

    The text is the duration as given (our grammar is a subset of Go's time.ParseDuration), so
    '1500ms' stays 1500ms instead of being rounded to whole seconds; a bare number gets 's', which
    Go requires.
    """
    text = str(wait).strip()
    try:
        seconds = go_duration(text)
    except ConsulInvalidArgument:
        raise ConsulInvalidArgument(
            f"wait={wait!r} is not a duration; use e.g. '30s', '1m30s', '500ms' or a number of seconds."
        ) from None
    if seconds > MAX_WAIT_SECONDS:
        raise ConsulInvalidArgument(f"wait={wait!r} is longer than Consul's maximum of 10m.")
    if _BARE_NUMBER.fullmatch(text):
        text = f"{text}s"
    return text, seconds


_MAX_UINT64 = 2**64 - 1


def check_kv_flags(flags) -> int:
    """KV flags are an unsigned 64-bit integer; Consul answers anything else with a 400."""
    try:
        value = int(flags)
    except (TypeError, ValueError):
        raise ConsulInvalidArgument(f"flags={flags!r} is not an integer.") from None
    if not 0 <= value <= _MAX_UINT64:
        raise ConsulInvalidArgument(f"flags={flags!r} is out of range (0 to 2**64-1).")
    return value


def check_port(option: str, port, allow_zero: bool = False):
    """A TCP/UDP port number; None stays None. For a service port Consul reads 0 as "no port"
    (allow_zero); it stores -5 or 70000 as given, so the range is checked here."""
    if port is None:
        return None
    lowest = 0 if allow_zero else 1
    try:
        value = int(port)
    except (TypeError, ValueError):
        raise ConsulInvalidArgument(f"{option}={port!r} is not a port number.") from None
    if isinstance(port, bool) or not lowest <= value <= 65535:
        zero = " (0 means no port)" if allow_zero else ""
        raise ConsulInvalidArgument(f"{option}={port!r} is out of range ({lowest}-65535{zero}).")
    return value


def check_index(index) -> int:
    try:
        value = int(index)
    except (TypeError, ValueError):
        raise ConsulInvalidArgument(f"index={index!r} is not a Consul index (a non-negative integer).") from None
    if value < 0:
        raise ConsulInvalidArgument(f"index={index!r} is not a Consul index (a non-negative integer).")
    return value


_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def go_duration(value) -> float:
    """A Go duration ('10s', '1m30s', '500ms'; a bare number means seconds) in seconds."""
    text = str(value).strip()
    if _BARE_NUMBER.fullmatch(text):
        return float(text)
    parts = _GO_DURATION_PART.findall(text)
    if not text or "".join(number + unit for number, unit in parts) != text:
        raise ConsulInvalidArgument(f"{value!r} is not a duration; use e.g. '10s', '1m30s' or '500ms'.")
    return sum(float(number) * _GO_UNITS[unit] for number, unit in parts)
