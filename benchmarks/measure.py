"""What a benchmark records besides the clients' view: stream lengths, CPU time per process,
and the figures (percentiles, throughput, drops) of one load run."""
from __future__ import annotations

import os
import threading
import time
from collections import Counter
from typing import Any

import numpy as np
import psutil

from benchmarks.load import LoadResult

WARMUP_S = 1.0  # frames sent in the first second are not counted (connections, caches)
STAGES = ("server_ms", "queue_ms", "decode_ms", "detect_ms", "classify_ms")


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "n": 0}
    a = np.asarray(values, dtype=float)
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return {"p50": round(float(p50), 2), "p95": round(float(p95), 2), "p99": round(float(p99), 2),
            "max": round(float(a.max()), 2), "n": len(values)}


class StreamSampler:
    """Samples XLEN and the consumer groups' lag of the work streams every `every_s` seconds."""

    def __init__(self, redis_url: str | None, every_s: float = 0.2):
        self.redis_url = redis_url
        self.every_s = every_s
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "StreamSampler":
        if self.redis_url:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _run(self) -> None:
        import redis

        from sentivis import redis_io, streams

        client = redis_io.connect(self.redis_url)
        start = time.perf_counter()
        while not self._stop.wait(self.every_s):
            try:
                pipe = client.pipeline(transaction=False)
                pipe.xlen(streams.FRAMES)
                pipe.xlen(streams.FACES)
                pipe.xinfo_groups(streams.FRAMES)
                pipe.xinfo_groups(streams.FACES)
                frames_len, faces_len, frames_groups, faces_groups = pipe.execute()
            except redis.RedisError:
                continue

            def backlog(groups) -> int:  # not yet delivered (lag) plus delivered, not yet acknowledged
                return sum((g.get("lag") or 0) + (g.get("pending") or 0) for g in groups)

            self.samples.append({"t": round(time.perf_counter() - start, 2), "frames_xlen": frames_len,
                                 "faces_xlen": faces_len, "frames_backlog": backlog(frames_groups),
                                 "faces_backlog": backlog(faces_groups)})

    def summary(self) -> dict[str, Any]:
        if not self.samples:
            return {}
        out = {"samples": len(self.samples)}
        for key in ("frames_xlen", "faces_xlen", "frames_backlog", "faces_backlog"):
            values = [s[key] for s in self.samples]
            out[f"{key}_max"] = max(values)
            out[f"{key}_last"] = values[-1]
        return out


class CpuMeter:
    """CPU seconds used by each process (services and this load generator) during a run."""

    def __init__(self, pids: dict[str, int]):
        self.procs = {}
        for name, pid in {**pids, "load-generator": os.getpid()}.items():
            try:
                self.procs[name] = psutil.Process(pid)
            except psutil.NoSuchProcess:
                pass
        self._start: dict[str, float] = {}
        self._t0 = 0.0

    @staticmethod
    def _cpu(proc: psutil.Process, children: bool = True) -> float:
        """The process and its children (a baseline tree's gateway ran its gunicorn worker as a child)."""
        total = 0.0
        try:
            family = [proc, *(proc.children(recursive=True) if children else [])]
        except psutil.NoSuchProcess:
            return 0.0
        for p in family:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    def __enter__(self) -> "CpuMeter":
        self._t0 = time.perf_counter()
        self._start = {name: self._cpu(p, name != "load-generator") for name, p in self.procs.items()}
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._t0
        # The load generator's children are the services: count its own threads only.
        self.used = {name: self._cpu(p, name != "load-generator") - self._start[name] for name, p in self.procs.items()}

    def summary(self, frames: int) -> dict[str, Any]:
        per = max(1, frames)
        return {"wall_s": round(self.wall, 2),
                "cores_busy": {k: round(v / self.wall, 3) for k, v in self.used.items()},
                "cpu_ms_per_frame": {k: round(v * 1000 / per, 2) for k, v in self.used.items()}}


def settle(pids: dict[str, int], timeout: float = 15.0, busy: float = 0.15) -> float:
    """Wait until the services are idle (a backlog from the last run is worked off); -> seconds waited."""
    procs = [psutil.Process(pid) for pid in pids.values() if psutil.pid_exists(pid)]
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        before = sum(CpuMeter._cpu(p) for p in procs)
        time.sleep(0.5)
        if (sum(CpuMeter._cpu(p) for p in procs) - before) / 0.5 < busy:
            break
    return round(time.perf_counter() - start, 2)


def summarise(result: LoadResult) -> dict[str, Any]:
    """The figures of one load run; frames sent in the warm-up second are left out."""
    counted = [r for r in result.records if r.sent >= result.start + WARMUP_S]
    window = max(1e-9, result.end - (result.start + WARMUP_S))
    inferences = [r for r in counted if r.event == "inference"]
    errors = Counter(r.code for r in counted if r.event == "frame_error")
    unanswered = sum(1 for r in counted if r.event is None)
    completed_in_window = sum(1 for r in result.records if r.event == "inference"
                              and r.done is not None and result.start + WARMUP_S <= r.done <= result.end)
    by_client = [max((r.dropped_frames for r in records if r.dropped_frames is not None), default=0)
                 for records in result.per_client]
    stage = {s: percentiles([r.latency[s] for r in inferences if s in r.latency]) for s in STAGES}
    return {
        "clients": result.clients, "fps_per_client": result.fps_per_client,
        "offered_fps": round(result.clients * result.fps_per_client, 2), "duration_s": result.duration,
        "sent": len(counted), "sent_fps": round(len(counted) / window, 2), "answered": len(inferences),
        "throughput_fps": round(completed_in_window / window, 2),
        "faces_per_frame": round(float(np.mean([r.faces for r in inferences])), 3) if inferences else None,
        "rtt_ms": percentiles([r.rtt_ms for r in inferences]),
        "stages_ms": stage,
        "frame_errors": dict(errors), "unanswered": unanswered,
        "dropped": sum(errors.values()) + unanswered,
        "drop_rate": round((sum(errors.values()) + unanswered) / max(1, len(counted)), 4),
        "dropped_frames_reported": sum(by_client),
        "late_events": result.late_events,
        "client_skipped": result.skipped,
        "client_held": result.held,
        "rtt_samples_ms": [round(r.rtt_ms, 2) for r in inferences],
    }
