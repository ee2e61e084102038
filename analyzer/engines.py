"""Faces and raw emotions of one RGB frame: in-process (the detect and classify stages the services
run) or through a gateway.

Both return what a worker's result carries (sentivis.protocol.Face: box, score, emotion,
appearance), best score first, emotion unsmoothed; the caller's PersonTracker adds ids and smoothing.
"""
from __future__ import annotations

from typing import Protocol

import msgspec
import numpy as np
import requests
import simplejpeg
from requests.adapters import HTTPAdapter, Retry

from sentivis.contract import ModelFileError
from sentivis.errors import SentivisError
from sentivis.protocol import APPEARANCE_DTYPE, Box, Face, Models, ShownEmotion
from sentivis.settings import Settings
from sentivis.stages.classify import EmotionModel, classify
from sentivis.stages.detect import FaceDetector, detect


class EngineError(SentivisError):
    """The engine cannot run (no model, no gateway); the message says why."""


class FrameFailed(SentivisError):
    """One frame could not be analysed (the gateway refused it)."""


class Engine(Protocol):
    models: Models

    def analyze(self, rgb: np.ndarray) -> list[Face]: ...

    def close(self) -> None: ...


class LocalEngine:
    """The detect and classify stages in this process: MediaPipe, FER-like crops, the ONNX emotion model."""

    def __init__(self, settings: Settings, max_faces: int):
        try:
            self.model = EmotionModel.load(settings.emotion_weights, threads=settings.ort_threads,
                                           batch=settings.classifier_batch)
        except ModelFileError as exc:
            raise EngineError(f"{exc}. Set SENTIVIS_EMOTION_WEIGHTS to an emotion model file (.onnx).") from None
        self.detector = FaceDetector(settings.detector_model, settings.detector_min_score, max_faces)
        self.margin, self.shift = settings.face_margin, settings.face_shift
        self.models = Models(detector=self.detector.info(), emotion=self.model.info())

    def analyze(self, rgb: np.ndarray) -> list[Face]:
        faces, crops = detect(self.detector, rgb, self.margin, self.shift)
        if faces:
            classify(self.model, faces, np.stack(crops))
        return faces

    def close(self) -> None:
        self.detector.close()


class RemoteEngine:
    """Each frame as a JPEG to a running gateway's POST /api/v1/analyze, with each face's appearance
    (`?appearance=1`; a gateway that does not send it leaves the tracker to motion alone).

    url: the gateway (or its /api/v1/analyze); max_faces: the most confident faces kept per frame;
    token: SENTIVIS_AUTH_TOKEN, sent as the bearer token; timeout_s: per request.
    """

    # A 503 means no worker answered in time: ask again after 0, 1 and 2 s (urllib3's Retry); a
    # gateway that cannot be reached at all is an error at once.
    RETRY_ON_503 = Retry(total=3, connect=0, read=0, status=3, status_forcelist=(503,), allowed_methods=("POST",),
                         backoff_factor=0.5, raise_on_status=False)

    def __init__(self, url: str, max_faces: int, token: str = "", timeout_s: float = 30.0, jpeg_quality: int = 90):
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("/api/v1/analyze") else base + "/api/v1/analyze"
        self.max_faces = max_faces
        self.timeout_s = timeout_s
        self.jpeg_quality = jpeg_quality
        self.session = requests.Session()
        self.session.mount(base, HTTPAdapter(max_retries=self.RETRY_ON_503))
        if token:  # a gateway with SENTIVIS_AUTH_TOKEN wants it on every REST call
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.models = Models()

    def analyze(self, rgb: np.ndarray) -> list[Face]:
        body = simplejpeg.encode_jpeg(np.ascontiguousarray(rgb), quality=self.jpeg_quality, colorspace="RGB")
        try:
            response = self.session.post(self.endpoint, params={"appearance": "1"}, data=body,
                                         headers={"Content-Type": "image/jpeg"}, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise EngineError(f"cannot reach the gateway at {self.endpoint}: {exc}") from None
        if response.status_code != 200:
            raise FrameFailed(f"the gateway answered {response.status_code}: {_error_text(response)}")
        try:
            event = msgspec.json.decode(response.content, type=_AnalyzeAnswer)
        except msgspec.MsgspecError as exc:
            raise FrameFailed(f"the gateway's answer is not an inference event: {exc}") from None
        self.models = event.models
        # The gateway smooths nothing for a one-shot image, but keep its raw output explicitly.
        return [Face(f.box, f.score, None if f.emotion is None else f.emotion.raw,
                     None if f.appearance is None else np.asarray(f.appearance, dtype=APPEARANCE_DTYPE).tobytes())
                for f in event.faces[: self.max_faces]]

    def close(self) -> None:
        self.session.close()


class _AnalyzedFace(msgspec.Struct):
    """A face of POST /api/v1/analyze's answer: a TrackedFace with its appearance (?appearance=1)."""

    box: Box
    score: float
    emotion: ShownEmotion | None = None
    appearance: list[float] | None = None


class _AnalyzeAnswer(msgspec.Struct):
    faces: list[_AnalyzedFace]
    models: Models = msgspec.field(default_factory=Models)


def _error_text(response: requests.Response) -> str:
    try:
        return response.json().get("error") or response.text[:200]
    except ValueError:
        return response.text[:200]
