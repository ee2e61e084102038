"""Readiness that means warm: the gateway sends the warm-up frame through the pipeline now and then,
and `/readyz` says ready only while the last few came back in time.

Heartbeats tell that a detector and a classifier run; they do not tell that a frame sent now would
be answered at normal speed (a stack still starting shares its CPU with the services' first imports,
a model still loading, a Redis that answers slowly). The probe measures exactly that: the warm-up
frame (sentivis.warmup) through the same streams and workers as a browser's frame, its round trip
against `max_ms`. `needed` probes in a row within it make the gateway ready; one that fails or is
slow makes it unready again until `needed` more pass. A probe goes out every `interval_s` while the
gateway is not ready, every `ready_interval_s` while it is (0.2 frames per second: nothing).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Callable

import redis

from gateway.background import BackgroundLoop
from sentivis.protocol import FrameMessage
from sentivis.warmup import FACE_SIZE, face_jpeg

log = logging.getLogger(__name__)

Send = Callable[[bytes, int, int, float], FrameMessage | None]  # (jpeg, width, height, timeout_s) -> result


@dataclass(frozen=True)
class ProbeResult:
    at: float  # wall clock, when it was sent
    ok: bool
    round_trip_ms: float | None  # None: no answer in time, or none could be queued
    detail: str  # "answered", "slow", "no face", the worker's error code, "timeout", "redis: ..."


class ReadinessProbe(BackgroundLoop):
    """send: the one-shot path (FrameQueue.request_once); clock: wall seconds."""

    name = "readiness-probe"

    def __init__(self, send: Send, max_ms: float, needed: int = 3, interval_s: float = 1.0,
                 ready_interval_s: float = 5.0, clock: Callable[[], float] = time.time):
        super().__init__()
        self.send, self.max_ms, self.needed = send, max_ms, max(1, needed)
        self.interval_s, self.ready_interval_s = interval_s, ready_interval_s
        self._clock = clock
        self._results: deque[ProbeResult] = deque(maxlen=self.needed)
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        with self._lock:
            return len(self._results) == self.needed and all(r.ok for r in self._results)

    def probe_once(self) -> ProbeResult:
        """Send the warm-up frame and wait for it (at most a few times max_ms); record the outcome."""
        started = self._clock()
        try:
            answer = self.send(face_jpeg(), *FACE_SIZE, max(1.0, 4 * self.max_ms / 1000))
        except redis.RedisError as exc:
            result = ProbeResult(started, False, None, f"redis: {exc}")
        else:
            took = (self._clock() - started) * 1000
            if answer is None:
                result = ProbeResult(started, False, None, "timeout")
            elif answer.error:
                result = ProbeResult(started, False, took, answer.error)
            elif not answer.faces:
                result = ProbeResult(started, False, took, "no face")
            else:
                result = ProbeResult(started, took <= self.max_ms, took, "answered" if took <= self.max_ms else "slow")
        was_ready = self.ready
        with self._lock:
            self._results.append(result)
        if was_ready != self.ready:
            log.info("readiness probe: %s (%s, %s ms)", "ready" if self.ready else "not ready", result.detail,
                     None if result.round_trip_ms is None else round(result.round_trip_ms))
        return result

    def status(self) -> dict[str, Any]:
        with self._lock:
            results = list(self._results)
        return {"ready": self.ready, "max_ms": self.max_ms, "needed": self.needed,
                "last": [asdict(r) for r in results]}

    def _run(self) -> None:
        while not self._stop.is_set():
            self.probe_once()
            self._stop.wait(self.ready_interval_s if self.ready else self.interval_s)
