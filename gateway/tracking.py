"""Per-connection face tracking: stable ids by IoU matching, and emotions smoothed over frames.

Greedy IoU matching is enough at webcam frame rates, where a face moves a fraction of its
size between frames. The smoothing is an exponential moving average of the probabilities;
the label shown is the argmax of the average, which stops one-frame flickers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sentivis.labels import EMOTIONS


def iou(a: dict[str, float], b: dict[str, float]) -> float:
    ax2, ay2 = a["x"] + a["width"], a["y"] + a["height"]
    bx2, by2 = b["x"] + b["width"], b["y"] + b["height"]
    iw = max(0.0, min(ax2, bx2) - max(a["x"], b["x"]))
    ih = max(0.0, min(ay2, by2) - max(a["y"], b["y"]))
    inter = iw * ih
    union = a["width"] * a["height"] + b["width"] * b["height"] - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    id: int
    box: dict[str, int]
    smoothed: np.ndarray | None = None  # EMA of the probabilities, EMOTIONS order
    missed: int = 0


@dataclass
class FaceTracker:
    alpha: float = 0.35  # weight of the newest frame in the average
    min_iou: float = 0.3
    max_missed: int = 5
    tracks: list[Track] = field(default_factory=list)
    next_id: int = 1

    def update(self, faces: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Faces of one frame (box, score, emotion|None) -> the same faces with id and smoothed emotion."""
        pairs = sorted(((iou(t.box, f["box"]), ti, fi) for ti, t in enumerate(self.tracks)
                        for fi, f in enumerate(faces)), reverse=True)
        track_of: dict[int, Track] = {}
        used_tracks: set[int] = set()
        for overlap, ti, fi in pairs:
            if overlap < self.min_iou:
                break
            if ti in used_tracks or fi in track_of:
                continue
            used_tracks.add(ti)
            track_of[fi] = self.tracks[ti]
        for ti, track in enumerate(self.tracks):
            if ti not in used_tracks:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        out = []
        for fi, face in enumerate(faces):
            track = track_of.get(fi)
            if track is None:
                track = Track(id=self.next_id, box=face["box"])
                self.next_id += 1
                self.tracks.append(track)
            track.box, track.missed = face["box"], 0
            out.append({**face, "id": track.id, "emotion": self._smooth(track, face.get("emotion"))})
        return out

    def _smooth(self, track: Track, emotion: dict[str, Any] | None) -> dict[str, Any] | None:
        if emotion is None:
            track.smoothed = None
            return None
        raw = np.array([emotion["probabilities"][label] for label in EMOTIONS], dtype=np.float64)
        track.smoothed = raw if track.smoothed is None else self.alpha * raw + (1 - self.alpha) * track.smoothed
        best = int(track.smoothed.argmax())
        return {
            "label": EMOTIONS[best],
            "confidence": round(float(track.smoothed[best]), 4),
            "probabilities": {label: round(float(p), 4) for label, p in zip(EMOTIONS, track.smoothed)},
            "raw": {"label": emotion["label"], "confidence": emotion["confidence"],
                    "probabilities": emotion["probabilities"]},
        }
