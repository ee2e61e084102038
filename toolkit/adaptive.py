"""The page's frame-rate adaptation (frontend/src/lib/adaptiveRate.ts, the same rule and defaults),
for Python clients that should load the gateway as browsers do: the benchmark's adaptive load.

When the gateway refuses frames as `overloaded`, or the smoothed round trip grows past
`slow_rtt_ms` (and past twice the fastest seen), the rate is cut to `decrease` of itself, at most
once per `hold_ms`; after `recover_after_ms` of calm it climbs back `increase_step` frames per
second every `recover_after_ms`, up to the chosen rate. Times are milliseconds on any monotonic clock.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class AdaptiveRate:
    """ceiling: the chosen rate, the most it climbs back to; the other fields are the page's defaults."""
    ceiling: float
    min_fps: float = 1.0
    decrease: float = 0.7
    increase_step: float = 1.0
    hold_ms: float = 1000.0
    recover_after_ms: float = 1000.0
    slow_rtt_ms: float = 250.0
    rtt_weight: float = 0.2

    def __post_init__(self) -> None:
        self.ceiling = max(self.min_fps, self.ceiling)
        self.fps = self.ceiling  # the rate to send at now
        self.reason: str | None = None  # "overloaded" | "slow" while below the ceiling
        self._last_cut = self._last_trouble = self._last_step = -math.inf
        self._rtt: float | None = None
        self._fastest = math.inf

    def overloaded(self, now_ms: float) -> None:
        """The gateway refused a frame as `overloaded`."""
        self._trouble("overloaded", now_ms)

    def answered(self, rtt_ms: float, now_ms: float) -> None:
        """A frame's answer arrived after rtt_ms."""
        if not math.isfinite(rtt_ms):
            return
        self._rtt = rtt_ms if self._rtt is None else self._rtt + self.rtt_weight * (rtt_ms - self._rtt)
        self._fastest = min(self._fastest, rtt_ms)
        if self._slow(1.0):
            self._trouble("slow", now_ms)

    def tick(self, now_ms: float) -> None:
        """Called regularly: one step back up when calm long enough."""
        if self.fps >= self.ceiling:
            return
        if now_ms - self._last_trouble < self.recover_after_ms or now_ms - self._last_step < self.recover_after_ms:
            return
        if self._slow(0.8):
            return
        self.fps = min(self.ceiling, self.fps + self.increase_step)
        self._last_step = now_ms
        if self.fps >= self.ceiling:
            self.reason = None

    def _slow(self, factor: float) -> bool:
        return self._rtt is not None and self._rtt > factor * max(self.slow_rtt_ms, 2 * self._fastest)

    def _trouble(self, reason: str, now_ms: float) -> None:
        self._last_trouble = now_ms
        if now_ms - self._last_cut < self.hold_ms:
            return
        cut = max(self.min_fps, math.floor(self.fps * self.decrease))  # whole frames per second
        if cut < self.fps:
            self.fps, self.reason = cut, reason
        self._last_cut = self._last_step = now_ms
