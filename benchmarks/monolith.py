"""`python -m benchmarks.monolith --port P`: the baseline, a naive one-process backend.

One Flask-SocketIO process (threading mode, Werkzeug) that decodes, detects and classifies
inside the `frame` handler and emits the same `inference` event as the gateway. No queues, no
in-flight cap, no dropping: what a first prototype would do. To give it its best chance each
connection thread has its own detector and model, so two connections can use both cores.
"""
from __future__ import annotations

import argparse
import logging
import threading
import time
from pathlib import Path

import numpy as np
from flask import Flask, jsonify
from flask_socketio import SocketIO, emit

from classifier.model import EmotionModel
from classifier.service import emotion_of
from detector.faces import DecodeError, FaceDetector, crop_faces, decode_jpeg
from sentivis.settings import get_settings

_local = threading.local()


def models() -> tuple[FaceDetector, EmotionModel | None]:
    if not hasattr(_local, "detector"):
        s = get_settings()
        _local.detector = FaceDetector.from_settings(s)
        path = Path(s.emotion_weights)
        _local.model = EmotionModel.load(path, threads=s.ort_threads) if path.is_file() else None
    return _local.detector, _local.model


def create_app() -> tuple[Flask, SocketIO]:
    settings = get_settings()
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="threading", async_handlers=False,
                        max_http_buffer_size=settings.max_message_bytes)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @socketio.on("frame")
    def on_frame(payload=None):
        received = time.time()
        frame_id = payload.get("frame_id") if isinstance(payload, dict) else None
        detector, model = models()
        try:
            rgb = decode_jpeg(bytes(payload["image"]), max_pixels=settings.max_frame_pixels)
        except (DecodeError, KeyError, TypeError):
            emit("frame_error", {"frame_id": frame_id, "code": "decode_failed", "message": "bad JPEG"})
            return
        decoded = time.time()
        detections = detector.detect(rgb)
        crops = crop_faces(rgb, detections, settings.face_margin, settings.face_shift)
        detected = time.time()
        probabilities = model.predict(np.stack(crops)) if (crops and model is not None) else None
        done = time.time()
        faces = [{"id": i, "box": d.box, "score": round(d.score, 4),
                  "emotion": None if probabilities is None else emotion_of(probabilities[i])}
                 for i, d in enumerate(detections)]
        ms = lambda a, b: round((b - a) * 1000, 3)  # noqa: E731
        emit("inference", {"frame_id": frame_id, "width": rgb.shape[1], "height": rgb.shape[0], "faces": faces,
                           "models": {"emotion": {"ready": model is not None,
                                                  "version": model.version if model else None}},
                           "latency": {"server_ms": ms(received, time.time()), "queue_ms": 0.0,
                                       "decode_ms": ms(received, decoded), "detect_ms": ms(decoded, detected),
                                       "classify_ms": ms(detected, done)},
                           "dropped_frames": 0})

    return app, socketio


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.monolith", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5002)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    app, socketio = create_app()
    socketio.run(app, host="127.0.0.1", port=args.port, allow_unsafe_werkzeug=True, log_output=False)


if __name__ == "__main__":
    main()
