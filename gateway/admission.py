"""Admission: a frame that cannot be served in time is refused before it is queued.

Without it, under overload every frame still paid the whole path (XADD, a detector's read, the
age check, a result, an emit) before it was dropped as `expired`, and goodput fell as the
offered load grew. Now the gateway refuses the excess with `frame_error` "overloaded" at the
cost of one lock and a few comparisons: no Redis call per frame.

What it knows, cheaply:
- its own frames in flight, counted exactly as they are admitted and answered;
- every other gateway's frames waiting or in work in the work streams, and the workers' rate:
  sampled every 100 ms by gateway/backlog.py (`observe`: consumer-group lag + pending of the
  frames and faces streams, and the detectors' entries-read), never per frame.

The rule (the budget is rate x wait_s frames, at least min_frames):
- backlog below the budget: admitted, first come first served (the workers never idle while
  frames are offered);
- backlog above it: admitted only when it is this connection's turn at its fair share of the
  rate, one frame every (connections sending / (0.9 x rate)) seconds, so a flood from some
  clients never starves a light one. Those turns add up to 0.9 of the rate, less than the
  workers serve, so the backlog drains back to the budget rather than wandering above it;
- backlog at twice the budget (or the budget plus one frame per connection sending, if more):
  refused, whatever the turn (a bound should the rate be measured too high).
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

ACTIVE_WINDOW_S = 1.0  # a connection that offered a frame this recently shares the rate
FAIR_SHARE = 0.9  # of the rate, what the connections' turns add up to above the budget
RATE_TIME_CONSTANT_S = 0.5  # the measured rate follows a change within about this long


@dataclass(frozen=True)
class Backlog:
    """One sample of the work streams. waiting: frames waiting or in work in them, every
    gateway's; served: the detectors' group entries-read (None where Redis does not report it)."""
    waiting: int
    served: int | None


class Admission:
    """wait_ms: the longest a frame may expect to wait behind those in flight (0: admit every
    frame); min_frames: a backlog always admitted (keeps the workers busy while the rate is
    measured); clock: monotonic seconds."""

    def __init__(self, wait_ms: float, min_frames: int, clock=time.monotonic):
        self.wait_s = wait_ms / 1000
        self.min_frames = max(1, min_frames)
        self._clock = clock
        self._lock = threading.Lock()
        self.in_flight = 0  # this gateway's frames between admit and done
        self.elsewhere = 0  # other gateways' frames in the streams, as last sampled
        self.rate = 0.0  # frames per second the workers serve
        self.budget = float(self.min_frames)
        self.limit = 2.0 * self.min_frames  # the backlog beyond which no frame is admitted
        self.active = 0  # connections that offered a frame within ACTIVE_WINDOW_S
        self.fair_interval = math.inf  # seconds between two frames of one connection at its fair share
        self._offered: dict[str, float] = {}  # sid -> when it last offered a frame
        self._admitted: dict[str, float] = {}  # sid -> when it last had a frame admitted
        self._last_sample: tuple[float, bool, int] | None = None  # (when, from entries-read?, count)
        self._completed = 0  # this gateway's frames answered by the workers (the rate without entries-read)

    @property
    def enabled(self) -> bool:
        return self.wait_s > 0

    def backlog(self) -> int:
        return self.in_flight + self.elsewhere

    def admit(self, sid: str) -> bool:
        """Whether a frame of connection `sid` may be queued now; if so it counts as in flight
        until done()."""
        now = self._clock()
        with self._lock:
            self._offered[sid] = now
            if self.enabled:
                backlog = self.in_flight + self.elsewhere
                if backlog >= self.budget:
                    its_turn = now - self._admitted.get(sid, -math.inf) >= self.fair_interval
                    if not its_turn or backlog >= self.limit:
                        return False
            self._admitted[sid] = now
            self.in_flight += 1
            return True

    def done(self, frames: int = 1, answered: bool = False) -> None:
        """Frames left flight: answered by a worker (answered=True), timed out, or their
        connection closed."""
        with self._lock:
            self.in_flight = max(0, self.in_flight - frames)
            if answered:
                self._completed += frames

    def forget(self, sid: str) -> None:
        with self._lock:
            self._offered.pop(sid, None)
            self._admitted.pop(sid, None)

    def observe(self, sample: Backlog | None) -> None:
        """Every ~100 ms: the streams' backlog (None when Redis could not be asked) updates the
        rate, the budget and the fair share."""
        now = self._clock()
        with self._lock:
            if sample is not None:
                self.elsewhere = max(0, sample.waiting - self.in_flight)
            # Every gateway's frames as the detectors read them, else this gateway's as answered.
            global_count = sample is not None and sample.served is not None
            count = sample.served if global_count else self._completed
            if self._last_sample is not None:
                then, was_global, before = self._last_sample
                dt = now - then
                # A restarted Redis resets entries-read, and the two counts do not mix: skip such a sample.
                if dt > 0 and was_global == global_count and count >= before:
                    weight = 1 - math.exp(-dt / RATE_TIME_CONSTANT_S)
                    self.rate += weight * ((count - before) / dt - self.rate)
            self._last_sample = (now, global_count, count)
            self.budget = max(float(self.min_frames), self.rate * self.wait_s)
            self.active = sum(1 for t in self._offered.values() if now - t < ACTIVE_WINDOW_S)
            self.limit = max(2 * self.budget, self.budget + self.active)
            self.fair_interval = self.active / (FAIR_SHARE * self.rate) if self.rate > 0 else math.inf
