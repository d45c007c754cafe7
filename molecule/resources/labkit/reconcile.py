"""The registrator reconcile timer of a lab node, for the tests of registrator's own repairs."""

from __future__ import annotations

from contextlib import contextmanager

TIMER = "dockyard-registrator-reconcile.timer"


@contextmanager
def reconcile_paused(node):
    """The node's reconcile timer stopped meanwhile: a test of what registrator itself repairs
    (-cleanup, -resync) would otherwise see the timer repair it first."""
    node.check(f"systemctl stop {TIMER}")
    try:
        yield
    finally:
        node.check(f"systemctl start {TIMER}")
