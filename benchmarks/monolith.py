"""`python -m benchmarks.monolith --port P`: the baseline, a naive one-process backend.

One Flask + python-socketio process (threading mode, Werkzeug) that runs a frame's journey
(sentivis/stages: decode, detect, crop, classify, present) inside the `frame` handler and emits the
same `inference` event as the gateway. No queues, no in-flight cap, no dropping: what a first
prototype would do. To give it its best chance each connection thread has its own detector and
model, so two connections can use both cores.
"""
from __future__ import annotations

import argparse
import logging
import threading
import time

import msgspec
import numpy as np
import socketio
from flask import Flask, jsonify
from werkzeug.serving import run_simple

from sentivis.protocol import SOCKETIO_PATHS, FrameMessage, Models, Stamps, frame_error
from sentivis.settings import get_settings
from sentivis.stages.classify import EmotionModel, classify
from sentivis.stages.detect import DecodeError, FaceDetector, decode, detect
from sentivis.stages.present import present
from sentivis.tracking.config import TrackerConfig
from sentivis.tracking.tracker import PersonTracker

_local = threading.local()


def models() -> tuple[FaceDetector, EmotionModel]:
    """This thread's detector and model."""
    if not hasattr(_local, "detector"):
        settings = get_settings()
        _local.detector = FaceDetector.from_settings(settings)
        _local.model = EmotionModel.load(settings.emotion_weights, threads=settings.ort_threads,
                                         batch=settings.classifier_batch)
    return _local.detector, _local.model


def create_app() -> socketio.WSGIApp:
    """The Flask app behind a MessagePack Socket.IO endpoint on the gateway's path (the load client's)."""
    settings = get_settings()
    app = Flask(__name__)
    sio = socketio.Server(async_mode="threading", async_handlers=False, serializer="msgpack",
                          max_http_buffer_size=settings.max_message_bytes)
    trackers: dict[str, PersonTracker] = {}

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @sio.on("frame")
    def on_frame(sid, payload=None):
        received = time.time()
        frame_id = payload.get("frame_id") if isinstance(payload, dict) else None
        detector, model = models()
        try:
            rgb = decode(bytes(payload["image"]))
        except (DecodeError, KeyError, TypeError):
            sio.emit("frame_error", msgspec.to_builtins(frame_error(frame_id, "decode_failed")), to=sid)
            return
        decoded = time.time()
        faces, crops = detect(detector, rgb, settings.face_margin, settings.face_shift)
        detected = time.time()
        if faces:
            classify(model, faces, np.stack(crops))
        message = FrameMessage("monolith", sid, frame_id, received, rgb.shape[1], rgb.shape[0], faces,
                               Stamps(received, received, decoded, detected, detected, time.time()),
                               Models(detector.info(), model.info()))
        tracker = trackers.setdefault(sid, PersonTracker(TrackerConfig.from_settings(settings)))
        event = present(tracker, message, 0, time.time())
        sio.emit("inference", msgspec.to_builtins(event), to=sid)

    return socketio.WSGIApp(sio, app, socketio_path=SOCKETIO_PATHS["msgpack"])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.monolith", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5002)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    run_simple("127.0.0.1", args.port, create_app(), threaded=True)


if __name__ == "__main__":
    main()
