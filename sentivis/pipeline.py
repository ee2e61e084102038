"""The frame pipeline in one process: JPEG -> RGB -> faces and crops -> emotions.

decode -> detect -> crop (sentivis.faces) and classify -> emotion dict (sentivis.emotions): the
same functions the detector and classifier services run, without the streams between them. For
the tools that run the whole pipeline in-process: the analyzer's local engine, the benchmark's
compute floor and its monolith baseline. Needs both MediaPipe and ONNX Runtime.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sentivis.emotions import EmotionModel, label_faces, not_loaded_info
from sentivis.faces import FaceDetector, decode_jpeg, find_faces
from sentivis.settings import Settings

Faces = list[dict[str, Any]]


class FramePipeline:
    """One face detector and one emotion model (or none); not thread-safe: one per thread."""

    def __init__(self, detector: FaceDetector, model: EmotionModel | None, margin: float, shift: float,
                 max_pixels: int | None = None):
        self.detector, self.model = detector, model
        self.margin, self.shift, self.max_pixels = margin, shift, max_pixels

    @classmethod
    def from_settings(cls, settings: Settings, max_faces: int | None = None, model_path: str | None = None,
                      threads: int | None = None, require_model: bool = False) -> "FramePipeline":
        """The services' settings; without a model file the faces get no emotion, unless
        `require_model`, which raises ModelFileError (as does a file that breaks the contract)."""
        path = model_path or settings.emotion_weights
        model = None
        if require_model or Path(path).is_file():
            model = EmotionModel.load(path, threads=settings.ort_threads if threads is None else threads,
                                      batch=settings.classifier_batch)
        detector = FaceDetector(settings.detector_model, settings.detector_min_score,
                                settings.max_faces if max_faces is None else max_faces)
        return cls(detector, model, settings.face_margin, settings.face_shift, settings.max_frame_pixels)

    def models(self) -> dict[str, Any]:
        """What results carry as `models`."""
        return {"detector": self.detector.info(),
                "emotion": self.model.info() if self.model else not_loaded_info(None)}

    def decode(self, jpeg: bytes) -> np.ndarray:
        """JPEG bytes -> RGB uint8; raises sentivis.faces.DecodeError."""
        return decode_jpeg(jpeg, max_pixels=self.max_pixels)

    def detect(self, rgb: np.ndarray) -> tuple[Faces, list[np.ndarray]]:
        """The faces ({"box", "score", "emotion": None}, best first) and their crops."""
        return find_faces(self.detector, rgb, self.margin, self.shift)

    def classify(self, faces: Faces, crops: list[np.ndarray]) -> None:
        """Fill in each face's emotion (None without a model)."""
        probabilities = self.model.predict(np.stack(crops)) if crops and self.model is not None else None
        label_faces(faces, probabilities)

    def run(self, rgb: np.ndarray) -> Faces:
        """detect + classify: the faces of an RGB frame with their (unsmoothed) emotions."""
        faces, crops = self.detect(rgb)
        self.classify(faces, crops)
        return faces

    def close(self) -> None:
        self.detector.close()
