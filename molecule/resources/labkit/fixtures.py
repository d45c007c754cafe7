"""pytest fixtures more than one scenario uses. A scenario's conftest imports them into its own
namespace, which is where pytest finds them (a conftest below the rootdir may not set
pytest_plugins)."""

from __future__ import annotations

import pytest

from labkit.containers import Containers


@pytest.fixture
def containers():
    """Containers the test starts on lab nodes (Containers.run), removed at its teardown."""
    started = Containers()
    yield started
    started.remove_all()
