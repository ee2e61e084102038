"""What one analysed file leaves behind: CSV and JSON per frame and face, annotated frames."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from sentivis.labels import EMOTIONS
from sentivis.protocol import TrackedFace

CSV_COLUMNS = ["time_s", "frame_index", "face_id", "x", "y", "width", "height", "score", *EMOTIONS,
               "label", "confidence"]

# One colour per emotion (RGB), shared by the annotated frames and the timeline.
EMOTION_COLOURS = {"angry": (220, 40, 40), "disgust": (120, 160, 30), "fear": (150, 70, 200),
                   "happy": (250, 190, 0), "sad": (40, 100, 220), "surprise": (240, 110, 200),
                   "neutral": (150, 150, 150)}
NO_EMOTION_COLOUR = (255, 255, 255)


def face_record(face: TrackedFace) -> dict[str, Any]:
    """A tracked face (id, box, score, smoothed emotion) -> its JSON record."""
    emotion, box = face.emotion, face.box
    return {"id": face.id, "box": {"x": box.x, "y": box.y, "width": box.width, "height": box.height},
            "score": face.score, "label": emotion.label if emotion else None,
            "confidence": emotion.confidence if emotion else None,
            "probabilities": emotion.probabilities if emotion else None,
            "raw_label": emotion.raw.label if emotion else None}


def write_csv(path: Path, frames: list[dict[str, Any]]) -> int:
    """One row per face per analysed frame; returns the number of rows."""
    rows = 0
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for frame in frames:
            for face in frame["faces"]:
                box, probs = face["box"], face["probabilities"] or {}
                writer.writerow([frame["time_s"], frame["frame_index"], face["id"], box["x"], box["y"],
                                 box["width"], box["height"], face["score"],
                                 *(probs.get(label, "") for label in EMOTIONS),
                                 face["label"] or "", "" if face["confidence"] is None else face["confidence"]])
                rows += 1
    return rows


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=1))


def annotate(rgb: np.ndarray, faces: list[dict[str, Any]]) -> np.ndarray:
    """A copy of the frame with each face's box, id and smoothed label drawn on it."""
    out = rgb.copy()
    scale = max(0.4, min(out.shape[:2]) / 600)
    thickness = max(1, round(scale * 2))
    for face in faces:
        box = face["box"]
        colour = EMOTION_COLOURS.get(face["label"], NO_EMOTION_COLOUR)
        x0, y0, x1, y1 = box["x"], box["y"], box["x"] + box["width"], box["y"] + box["height"]
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, thickness)
        text = f"#{face['id']} {face['label']} {face['confidence']:.2f}" if face["label"] else f"#{face['id']}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        ty = y0 - 4 if y0 - th - base - 4 >= 0 else y1 + th + 4  # above the box, or below at the top edge
        tx = max(0, min(x0, out.shape[1] - tw - 4))  # kept inside the frame at the right edge
        cv2.rectangle(out, (tx, ty - th - 2), (tx + tw + 4, ty + base), colour, -1)
        cv2.putText(out, text, (tx + 2, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness, cv2.LINE_AA)
    return out


def save_image(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write {path}")


class VideoSink:
    """A video written frame by frame: OpenCV's VideoWriter with the mp4v codec (MJPG for .avi),
    opened at the first frame."""

    def __init__(self, path: Path, fps: float):
        self.path = path
        self.fps = fps
        self.frames = 0
        self._writer: cv2.VideoWriter | None = None

    def write(self, rgb: np.ndarray) -> None:
        if self._writer is None:
            height, width = rgb.shape[:2]
            fourcc = cv2.VideoWriter_fourcc(*("MJPG" if self.path.suffix == ".avi" else "mp4v"))
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (width, height))
            if not self._writer.isOpened():
                raise OSError(f"OpenCV cannot write the video {self.path}")
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
