"""The compute floor: decode + detect + crop + classify of the benchmark frames in one process,
one thread, no queues, no network. What a frame costs at the least; the services add the rest."""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.frames import BenchFrame


def measure_floor(frames: list[BenchFrame], model_path: str | None, seconds: float = 6.0) -> dict[str, Any]:
    from classifier.model import EmotionModel
    from detector.faces import FaceDetector, crop_faces, decode_jpeg
    from sentivis.settings import get_settings

    s = get_settings()
    detector = FaceDetector.from_settings(s)
    model = EmotionModel.load(model_path, threads=1) if model_path and Path(model_path).is_file() else None

    def one(frame: BenchFrame) -> tuple[float, float, int]:
        wall, cpu = time.perf_counter(), time.process_time()
        rgb = decode_jpeg(frame.jpeg)
        detections = detector.detect(rgb)
        crops = crop_faces(rgb, detections, s.face_margin, s.face_shift)
        if crops and model is not None:
            model.predict(np.stack(crops))
        return time.perf_counter() - wall, time.process_time() - cpu, len(detections)

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
            "frames_timed": sum(len(v) for v in walls.values()), "model": model_path if model else None}
