"""A real stack per test: gateway, detector(s) and classifier processes on a private Redis (tests/support/stack.py)."""
from __future__ import annotations

import pytest

from tests.support.stack import start_stack


@pytest.fixture
def stack(redis_url, tmp_path):
    s = start_stack(redis_url, tmp_path)
    yield s
    s.stop()
