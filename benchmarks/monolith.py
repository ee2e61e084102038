"""`python -m benchmarks.monolith --port P`: the baseline, a naive one-process backend.

One Flask + python-socketio process (threading mode, Werkzeug) that runs the frame pipeline
(sentivis.pipeline: decode, detect, crop, classify) inside the `frame` handler and emits the same
`inference` event as the gateway. No queues, no in-flight cap, no dropping: what a first prototype
would do. To give it its best chance each connection thread has its own detector and model, so
two connections can use both cores.
"""
from __future__ import annotations

import argparse
import logging
import threading
import time

import socketio
from flask import Flask, jsonify
from werkzeug.serving import run_simple

from sentivis.faces import DecodeError
from sentivis.protocol import SOCKETIO_PATHS
from sentivis.pipeline import FramePipeline
from sentivis.settings import get_settings

_local = threading.local()


def pipeline() -> FramePipeline:
    if not hasattr(_local, "pipeline"):
        _local.pipeline = FramePipeline.from_settings(get_settings())
    return _local.pipeline


def create_app() -> socketio.WSGIApp:
    """The Flask app behind a MessagePack Socket.IO endpoint on the gateway's path (the load client's)."""
    settings = get_settings()
    app = Flask(__name__)
    sio = socketio.Server(async_mode="threading", async_handlers=False, serializer="msgpack",
                          max_http_buffer_size=settings.max_message_bytes)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @sio.on("frame")
    def on_frame(sid, payload=None):
        received = time.time()
        frame_id = payload.get("frame_id") if isinstance(payload, dict) else None
        frames = pipeline()
        try:
            rgb = frames.decode(bytes(payload["image"]))
        except (DecodeError, KeyError, TypeError):
            sio.emit("frame_error", {"frame_id": frame_id, "code": "decode_failed", "message": "bad JPEG"}, to=sid)
            return
        decoded = time.time()
        faces, crops = frames.detect(rgb)
        detected = time.time()
        frames.classify(faces, crops)
        done = time.time()
        for i, face in enumerate(faces):
            face["id"] = i
        ms = lambda a, b: round((b - a) * 1000, 3)  # noqa: E731
        model = frames.model
        sio.emit("inference", {"frame_id": frame_id, "width": rgb.shape[1], "height": rgb.shape[0], "faces": faces,
                               "models": {"emotion": {"ready": model is not None,
                                                      "version": model.version if model else None}},
                               "latency": {"server_ms": ms(received, time.time()), "queue_ms": 0.0,
                                           "decode_ms": ms(received, decoded), "detect_ms": ms(decoded, detected),
                                           "classify_ms": ms(detected, done)},
                               "dropped_frames": 0}, to=sid)

    return socketio.WSGIApp(sio, app, socketio_path=SOCKETIO_PATHS["msgpack"])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.monolith", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5002)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    run_simple("127.0.0.1", args.port, create_app(), threaded=True)


if __name__ == "__main__":
    main()
