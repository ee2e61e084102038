"""The warm-up frame: one real face that every service runs through its whole path before it says
it is ready, and that the gateway's readiness probe sends through the pipeline.

A replica that reports itself before its first frame has paid for its start (MediaPipe's graph,
ONNX Runtime's first run at each batch size, lazy imports) answers the first frames of a stream
late: too late for a camera at 15 fps, whose frames are then refused as too_many_in_flight.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

FACE_JPEG = Path(__file__).resolve().parent / "assets" / "face.jpg"  # 320x240, one face (assets/README.md)
FACE_SIZE = (320, 240)


@lru_cache(maxsize=1)
def face_jpeg() -> bytes:
    return FACE_JPEG.read_bytes()
