"""The compute floor: decode + detect + crop + classify of the benchmark frames in one process,
one thread, no queues, no network (sentivis.pipeline). What a frame costs at the least; the
services add the rest."""
from __future__ import annotations

import statistics
import time
from typing import Any

from toolkit.samples import SampleFrame


def measure_floor(frames: list[SampleFrame], model_path: str | None, seconds: float = 6.0) -> dict[str, Any]:
    from sentivis.pipeline import FramePipeline
    from sentivis.settings import get_settings

    # No model file: the faces get no emotion and the floor has no classify cost, like the stack.
    pipeline = FramePipeline.from_settings(get_settings(), model_path=model_path, threads=1)

    def one(frame: SampleFrame) -> tuple[float, float, int]:
        wall, cpu = time.perf_counter(), time.process_time()
        faces = pipeline.run(pipeline.decode(frame.jpeg))
        return time.perf_counter() - wall, time.process_time() - cpu, len(faces)

    for frame in frames * 5:  # warm-up
        one(frame)
    walls: dict[str, list[float]] = {f.name: [] for f in frames}
    cpus: dict[str, list[float]] = {f.name: [] for f in frames}
    detected: dict[str, int] = {}
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for frame in frames:
            wall, cpu, n = one(frame)
            walls[frame.name].append(wall)
            cpus[frame.name].append(cpu)
            detected[frame.name] = n
    pipeline.close()
    # Medians per frame kind, then the mean over the kinds (every client cycles through them all).
    per_frame = {name: round(statistics.median(v) * 1000, 3) for name, v in walls.items()}
    floor_ms = statistics.mean(per_frame.values())
    cpu_ms = statistics.mean(statistics.median(v) * 1000 for v in cpus.values())
    return {"floor_ms_per_frame": round(floor_ms, 3), "cpu_ms_per_frame": round(cpu_ms, 3),
            "per_frame_ms": per_frame, "faces_detected": detected,
            "frames_timed": sum(len(v) for v in walls.values()),
            "model": model_path if pipeline.model else None}
