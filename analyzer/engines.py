"""Faces and raw emotions of one RGB frame: in-process (the frame pipeline the services run) or via a gateway.

Both return what a worker's result carries per face: {"box", "score", "emotion", "appearance"},
best score first, emotion unsmoothed; the caller's PersonTracker adds ids and smoothing.
"""
from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import requests
import simplejpeg
from requests.adapters import HTTPAdapter, Retry

from sentivis.contract import ModelFileError
from sentivis.pipeline import FramePipeline
from sentivis.settings import Settings
from sentivis.tracking import appearance

Faces = list[dict[str, Any]]


class EngineError(Exception):
    """The engine cannot run (no model, no gateway); the message says why."""


class FrameFailed(Exception):
    """One frame could not be analysed (the gateway refused it)."""


class Engine(Protocol):
    models: dict[str, Any]

    def analyze(self, rgb: np.ndarray) -> Faces: ...

    def close(self) -> None: ...


class LocalEngine:
    """The frame pipeline in this process: MediaPipe detection, FER-like crops, the ONNX emotion model."""

    def __init__(self, settings: Settings, max_faces: int):
        try:
            self.pipeline = FramePipeline.from_settings(settings, max_faces=max_faces, require_model=True)
        except ModelFileError as exc:
            raise EngineError(f"{exc}. Set SENTIVIS_EMOTION_WEIGHTS to an emotion model file (.onnx).") from None
        self.models = self.pipeline.models()

    def analyze(self, rgb: np.ndarray) -> Faces:
        faces, crops = self.pipeline.detect(rgb)
        self.pipeline.classify(faces, crops)
        for face, crop in zip(faces, crops):  # as the classifier service adds it for the gateway's tracker
            face["appearance"] = appearance(crop)
        return faces

    def close(self) -> None:
        self.pipeline.close()


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
        self.models: dict[str, Any] = {}

    def analyze(self, rgb: np.ndarray) -> Faces:
        body = simplejpeg.encode_jpeg(np.ascontiguousarray(rgb), quality=self.jpeg_quality, colorspace="RGB")
        try:
            response = self.session.post(self.endpoint, params={"appearance": "1"}, data=body,
                                         headers={"Content-Type": "image/jpeg"}, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise EngineError(f"cannot reach the gateway at {self.endpoint}: {exc}") from None
        if response.status_code != 200:
            raise FrameFailed(f"the gateway answered {response.status_code}: {_error_text(response)}")
        event = response.json()
        self.models = event.get("models") or {}
        # The gateway smooths nothing for a one-shot image, but keep its raw output explicitly.
        return [{"box": f["box"], "score": f["score"], "emotion": _raw(f.get("emotion")),
                 "appearance": f.get("appearance")} for f in event.get("faces", [])[: self.max_faces]]

    def close(self) -> None:
        self.session.close()


def _raw(emotion: dict[str, Any] | None) -> dict[str, Any] | None:
    if emotion is None:
        return None
    return emotion.get("raw") or {k: emotion[k] for k in ("label", "confidence", "probabilities")}


def _error_text(response: requests.Response) -> str:
    try:
        return response.json().get("error") or response.text[:200]
    except ValueError:
        return response.text[:200]
