"""The detect stage: JPEG frame -> face boxes -> 48x48 grey crops shaped like FER-2013 faces.

`decode` and `detect` (sentivis/stages/__init__.py has the whole journey): pure functions around
one MediaPipe face detector. Needs MediaPipe, OpenCV and simplejpeg: the classifier and gateway
images do not import this module.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import simplejpeg

from sentivis.contract import CROP_SIZE
from sentivis.errors import SentivisError
from sentivis.protocol import Box, DetectorInfo, Face

MODEL_NAMES = {0: "mediapipe-blazeface-short-range", 1: "mediapipe-blazeface-full-range"}


class DecodeError(SentivisError, ValueError):
    """The bytes are not a JPEG we can decode."""

    code = "decode_failed"


@dataclass(frozen=True)
class Detection:
    box: Box  # int frame pixels, clipped to the frame
    score: float
    region: tuple[float, float, float, float]  # the unclipped box (x, y, width, height) the crop is centred on


def decode(data: bytes, max_pixels: int | None = None) -> np.ndarray:
    """JPEG bytes -> RGB uint8 [H, W, 3] (libjpeg-turbo). Raises DecodeError."""
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
        if max_pixels is not None and width * height > max_pixels:
            # The gateway checks this too; here it keeps one forged header from costing gigabytes.
            raise DecodeError(f"{width}x{height} is more pixels than {max_pixels}")
        return simplejpeg.decode_jpeg(data, colorspace="RGB")
    except (ValueError, TypeError) as exc:  # simplejpeg raises ValueError for anything it cannot read
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError(str(exc)) from exc


class FaceDetector:
    """One MediaPipe BlazeFace graph. Not thread-safe: one per process (or per thread)."""

    def __init__(self, model_selection: int = 0, min_score: float = 0.5, max_faces: int = 10):
        from mediapipe.python.solutions import face_detection  # slow import, only where detection runs

        if model_selection not in MODEL_NAMES:
            raise ValueError(f"model_selection must be 0 (short range) or 1 (full range), not {model_selection!r}")
        self.name = MODEL_NAMES[model_selection]
        self.min_score = min_score
        self.max_faces = max_faces
        self._graph = face_detection.FaceDetection(model_selection=model_selection,
                                                   min_detection_confidence=min_score)

    @classmethod
    def from_settings(cls, settings) -> "FaceDetector":
        return cls(settings.detector_model, settings.detector_min_score, settings.max_faces)

    def info(self) -> DetectorInfo:
        return DetectorInfo(ready=True, name=self.name, min_score=self.min_score)

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Faces in an RGB uint8 frame, best score first, at most max_faces."""
        height, width = rgb.shape[:2]
        result = self._graph.process(np.ascontiguousarray(rgb))
        found = []
        for detection in result.detections or []:
            rel = detection.location_data.relative_bounding_box
            region = (rel.xmin * width, rel.ymin * height, rel.width * width, rel.height * height)
            box = clip_box(region, width, height)
            if box is not None:
                found.append(Detection(box=box, score=float(detection.score[0]), region=region))
        found.sort(key=lambda d: d.score, reverse=True)
        return found[: self.max_faces]

    def close(self) -> None:
        self._graph.close()


def clip_box(region: tuple[float, float, float, float], width: int, height: int) -> Box | None:
    """A float (x, y, w, h) box -> int pixel box inside the frame; None if nothing is left inside."""
    x, y, w, h = region
    x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
    x1, y1 = min(width, int(round(x + w))), min(height, int(round(y + h)))
    if x1 <= x0 or y1 <= y0:
        return None
    return Box(x0, y0, x1 - x0, y1 - y0)


def to_grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def crop_face(grey: np.ndarray, region: tuple[float, float, float, float], margin: float,
              shift: float = 0.0, size: int = CROP_SIZE) -> np.ndarray:
    """A square grey crop around the box centre, `margin` of the box size added on each side.

    Square so the face keeps its aspect ratio when resized. `shift` moves the centre up by that
    fraction of the box height: BlazeFace's box sits lower on the face (down to the chin, not the
    forehead) than FER-2013's framing. Where the crop leaves the frame the edge pixels are
    repeated rather than filled with black.
    """
    x, y, w, h = region
    side = max(1, int(round(max(w, h) * (1 + 2 * margin))))
    x0 = int(round(x + w / 2 - side / 2))
    y0 = int(round(y + h / 2 - shift * h - side / 2))
    x1, y1 = x0 + side, y0 + side
    frame_h, frame_w = grey.shape[:2]
    inside = grey[max(0, y0):min(frame_h, y1), max(0, x0):min(frame_w, x1)]
    if inside.size == 0:  # the detector never returns such a box; be safe rather than crash
        return np.zeros((size, size), np.uint8)
    square = cv2.copyMakeBorder(inside, max(0, -y0), max(0, y1 - frame_h), max(0, -x0), max(0, x1 - frame_w),
                                cv2.BORDER_REPLICATE)
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)


def crop_faces(rgb: np.ndarray, detections: list[Detection], margin: float, shift: float = 0.0) -> list[np.ndarray]:
    """48x48 uint8 grey crops, in the order of `detections`."""
    if not detections:
        return []
    grey = to_grey(rgb)
    return [crop_face(grey, d.region, margin, shift) for d in detections]


def detect(detector: FaceDetector, rgb: np.ndarray, margin: float,
           shift: float = 0.0) -> tuple[list[Face], list[np.ndarray]]:
    """Detect and crop: the faces (box and score; best score first) and their 48x48 grey crops, in
    the same order."""
    detections = detector.detect(rgb)
    return [Face(d.box, round(d.score, 4)) for d in detections], crop_faces(rgb, detections, margin, shift)
