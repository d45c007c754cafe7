"""Ports on the controller."""

from __future__ import annotations

import socket


def free_port(address: str) -> int:
    """A port free for both TCP and UDP on address (serf uses both)."""
    for _attempt in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((address, 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((address, port))
                except OSError:
                    continue
            return port
    raise AssertionError(f"no free TCP+UDP port on {address}")
