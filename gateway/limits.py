"""Per-connection and per-address limits, checked before a frame or a connection costs anything.

A token bucket caps frames per second on one connection; a counter caps Socket.IO connections
per client address (gateway/proxies.py says which address that is). Both are plain thread-safe
objects the Socket.IO handlers consult first.
"""
from __future__ import annotations

import threading
import time
from collections import Counter


class TokenBucket:
    """`rate` tokens per second, at most `capacity` saved up; take() spends one if there is one.

    A rate of 0 or less means no limit.
    """

    def __init__(self, rate: float, capacity: float | None = None, clock=time.monotonic):
        self.rate = rate
        self.capacity = max(1.0, rate if capacity is None else capacity)  # one second's worth of burst
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        if self.rate <= 0:
            return True
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


class AddressLimiter:
    """Counts open connections per client address; acquire() refuses past `limit` (0: no limit)."""

    def __init__(self, limit: int):
        self.limit = limit
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(self, address: str) -> bool:
        with self._lock:
            if self.limit > 0 and self._open[address] >= self.limit:
                return False
            self._open[address] += 1
            return True

    def release(self, address: str) -> None:
        with self._lock:
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]

    def count(self, address: str) -> int:
        with self._lock:
            return self._open[address]

