"""Frames whose answer never came (a dead worker, a lost Redis) are given up after
SENTIVIS_FRAME_TIMEOUT_MS: the connection gets a `timeout` frame_error, its in-flight place and
admission's count come back, so no client waits forever. Checked every 100 ms by one thread."""
from __future__ import annotations

import time
from typing import Callable

from gateway import prometheus
from gateway.admission import Admission
from gateway.background import BackgroundLoop
from gateway.connections import Connections
from sentivis.protocol import frame_error

SWEEP_EVERY_S = 0.1


class Timeouts(BackgroundLoop):
    """timeout_s: how long a frame may wait for its answer; clock: wall seconds (the frames' receive times)."""

    name = "frame-timeouts"

    def __init__(self, timeout_s: float, connections: Connections, admission: Admission,
                 clock: Callable[[], float] = time.time):
        self.timeout_s, self.connections, self.admission, self._clock = timeout_s, connections, admission, clock
        super().__init__()

    def _run(self) -> None:
        while not self._stop.wait(SWEEP_EVERY_S):
            self.sweep()

    def sweep(self) -> int:
        """Give up every frame older than the timeout now; -> how many."""
        now, given_up = self._clock(), 0
        for conn in self.connections.all():
            with conn.lock:
                late = [fid for fid, t in conn.in_flight.items() if now - t > self.timeout_s]
                for fid in late:
                    del conn.in_flight[fid]
                conn.dropped_frames += len(late)
            if late:
                self.admission.done(len(late))
                prometheus.frames_dropped.labels("timeout").inc(len(late))
                given_up += len(late)
            for fid in late:
                conn.send("frame_error", frame_error(fid, "timeout"))
        return given_up
