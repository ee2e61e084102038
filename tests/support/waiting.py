"""Waiting on an event with a bounded timeout, rather than sleeping long enough."""
from __future__ import annotations

import time
from typing import Any, Callable


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0, interval: float = 0.05) -> Any:
    """check() polled every `interval` s until it returns something true, which is returned; else
    AssertionError naming what did not happen within `timeout` s, with check's last value."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s (last: {result!r})")
        time.sleep(interval)
