"""`python -m analyzer.example [OUT.png]`: docs/analyze-example.png, a frame of an annotated video
next to its emotion timeline.

The video is made from real FER-2013 test faces: one face walks across the frame (happy), the
other stays put and changes expression (neutral, then surprise, then sad), as a person would.
Uses the shipped model, or SENTIVIS_EMOTION_WEIGHTS.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from analyzer.cli import main as analyze
from analyzer.outputs import VideoSink
from sentivis.settings import REPO_ROOT
from toolkit.samples import compose, fer_faces

FRAMES = 45
FPS = 10.0
WALKER = 4  # happy
STILL_BY_THIRD = (3, 16, 12)  # neutral, surprise, sad


def demo_frames() -> list[np.ndarray]:
    faces, _ = fer_faces(64)
    frames = []
    for i in range(FRAMES):
        still = faces[STILL_BY_THIRD[i * 3 // FRAMES]]
        frames.append(compose([(faces[WALKER], 10 + 4 * i, 110, 90), (still, 210, 15, 100)]))
    return frames


def side_by_side(frame_bgr: np.ndarray, timeline_bgr: np.ndarray) -> np.ndarray:
    height = timeline_bgr.shape[0]
    scale = height / frame_bgr.shape[0]
    frame = cv2.resize(frame_bgr, (round(frame_bgr.shape[1] * scale), height), interpolation=cv2.INTER_CUBIC)
    return np.hstack([frame, timeline_bgr])


def make(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        video = VideoSink(Path(tmp) / "demo.mp4", FPS)
        for rgb in demo_frames():
            video.write(rgb)
        video.close()
        code = analyze([str(video.path), "--output", str(Path(tmp) / "out"), "--quiet"])
        if code != 0:
            raise SystemExit(code)
        capture = cv2.VideoCapture(str(Path(tmp) / "out" / "demo" / "annotated.mp4"))
        capture.set(cv2.CAP_PROP_POS_FRAMES, FRAMES // 2)
        ok, frame = capture.read()
        capture.release()
        timeline = cv2.imread(str(Path(tmp) / "out" / "demo" / "timeline.png"))
        assert ok and timeline is not None
        out.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out), side_by_side(frame, timeline))
    print(f"wrote {out}")


if __name__ == "__main__":
    make(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT / "docs" / "analyze-example.png")
