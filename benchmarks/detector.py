"""Median time of each detector stage on a 320x240 JPEG with one face, in one process.

    python -m benchmarks.detector [--frames 300] [--model 0]

Prints numbers only; nothing here asserts a speed.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from sentivis.settings import Settings
from sentivis.stages.detect import FaceDetector, crop_faces, decode
from toolkit.samples import astronaut_frame


def percentiles(samples: list[float]) -> str:
    ms = np.array(samples) * 1000
    return f"median {np.median(ms):6.2f} ms   p90 {np.percentile(ms, 90):6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.detector", description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--model", type=int, default=0, help="MediaPipe model_selection (0 short, 1 full range)")
    args = parser.parse_args()

    data, _ = astronaut_frame()  # 320x240, one face of about 58x58 pixels
    settings = Settings()
    detector = FaceDetector(args.model, settings.detector_min_score, settings.max_faces)
    decode_s, detect_s, crop_s, total_s = [], [], [], []
    for i in range(args.frames + 20):
        t0 = time.perf_counter()
        rgb = decode(data)
        t1 = time.perf_counter()
        found = detector.detect(rgb)
        t2 = time.perf_counter()
        crops = crop_faces(rgb, found, settings.face_margin, settings.face_shift)
        t3 = time.perf_counter()
        if i >= 20:  # the first runs warm up the graph
            decode_s.append(t1 - t0)
            detect_s.append(t2 - t1)
            crop_s.append(t3 - t2)
            total_s.append(t3 - t0)
    assert len(found) == 1 and crops[0].shape == (48, 48)
    detector.close()
    print(f"{detector.name}, {args.frames} frames of 320x240 ({len(data)} bytes JPEG, 1 face), "
          f"pid {os.getpid()}, {os.cpu_count()} CPUs")
    print(f"decode  {percentiles(decode_s)}")
    print(f"detect  {percentiles(detect_s)}")
    print(f"crop    {percentiles(crop_s)}")
    print(f"total   {percentiles(total_s)}")


if __name__ == "__main__":
    main()
