"""The compute floor: the detect and classify stages (sentivis/stages: decode, detect, crop, classify,
appearance) of the benchmark frames in one process, one thread, no queues, no network. What a frame
costs at the least; the services add the rest."""
from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from sentivis.settings import get_settings
from sentivis.stages.classify import EmotionModel, classify
from sentivis.stages.detect import FaceDetector, decode, detect
from toolkit.samples import SampleFrame


def measure_floor(frames: list[SampleFrame], model_path: str | None, seconds: float = 6.0) -> dict[str, Any]:
    settings = get_settings()
    detector = FaceDetector.from_settings(settings)
    # No model file: the faces get no emotion and the floor has no model cost, like the stack.
    model = EmotionModel.load(model_path, threads=1, batch=settings.classifier_batch) if model_path else None

    def one(frame: SampleFrame) -> tuple[float, float, int]:
        wall, cpu = time.perf_counter(), time.process_time()
        faces, crops = detect(detector, decode(frame.jpeg, settings.max_frame_pixels), settings.face_margin,
                              settings.face_shift)
        if faces:
            classify(model, faces, np.stack(crops))
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
    detector.close()
    # Medians per frame kind, then the mean over the kinds (every client cycles through them all).
    per_frame = {name: round(statistics.median(v) * 1000, 3) for name, v in walls.items()}
    floor_ms = statistics.mean(per_frame.values())
    cpu_ms = statistics.mean(statistics.median(v) * 1000 for v in cpus.values())
    return {"floor_ms_per_frame": round(floor_ms, 3), "cpu_ms_per_frame": round(cpu_ms, 3),
            "per_frame_ms": per_frame, "faces_detected": detected,
            "frames_timed": sum(len(v) for v in walls.values()),
            "model": model_path if model else None}
