# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks done before a request is sent, so bad input fails with a message, not a 301 or 404."""

from __future__ import annotations

import re

from ansible_collections.dockyard.discovery.plugins.module_utils._consul_errors import ConsulInvalidArgument

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DURATION = re.compile(r"^(\d+)(ms|s|m)?$")
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, None: 1}
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
    """A blocking query's wait ('30s', '500ms', '2m' or a number of seconds) in seconds."""
    match = _DURATION.match(str(wait).strip())
    if not match:
        raise ConsulInvalidArgument(f"wait={wait!r} is not a duration; use e.g. '30s', '500ms' or '2m'.")
    seconds = int(match.group(1)) * _DURATION_SECONDS[match.group(2)]
    if seconds > MAX_WAIT_SECONDS:
        raise ConsulInvalidArgument(f"wait={wait!r} is longer than Consul's maximum of 10m.")
    return seconds


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
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    parts = _GO_DURATION_PART.findall(text)
    if not text or "".join(number + unit for number, unit in parts) != text:
        raise ConsulInvalidArgument(f"{value!r} is not a duration; use e.g. '10s', '1m30s' or '500ms'.")
    return sum(float(number) * _GO_UNITS[unit] for number, unit in parts)
