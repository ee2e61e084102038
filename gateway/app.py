"""The Flask-SocketIO application: Socket.IO events, health and metrics, the frontend."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import redis
from flask import Flask, Response, jsonify, request, send_from_directory
from flask_cors import CORS
from flask_socketio import SocketIO
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway import metrics
from gateway.api import api
from gateway.connections import Connections
from gateway.frames import FrameRejected, validate_frame
from gateway.pipeline import Pipeline, frame_error
from sentivis import redis_io
from sentivis.settings import Settings

log = logging.getLogger(__name__)

PLACEHOLDER_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sentivis</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>Sentivis gateway is running</h1>
<p>The browser app is not built yet: run <code>make frontend</code> (or <code>make up</code>, which builds it).</p>
<p>Readiness: <code id="ready">checking...</code></p>
<script>fetch('readyz').then(r => r.json()).then(j => {document.getElementById('ready').textContent = JSON.stringify(j)})</script>
</body></html>"""


def create_app(settings: Settings) -> tuple[Flask, SocketIO, Pipeline]:
    app = Flask(__name__, static_folder=None)
    origins = list(settings.cors_origins)
    if origins:
        CORS(app, resources={r"/api/*": {"origins": origins}})
    # python-socketio checks the Origin header: same origin only unless an allowlist is given.
    # async_handlers=False: one connection's events are handled in order, on its own thread.
    socketio = SocketIO(app, async_mode="threading", cors_allowed_origins=origins or None, async_handlers=False,
                        max_http_buffer_size=settings.max_message_bytes, ping_interval=10,
                        ping_timeout=10)
    connections = Connections(settings)

    def emit(event: str, payload: dict[str, Any], sid: str) -> None:
        socketio.emit(event, payload, to=sid)

    pipeline = Pipeline(settings, connections, emit)
    app.extensions["sentivis"] = {"settings": settings, "pipeline": pipeline, "connections": connections}

    @socketio.on("connect")
    def on_connect(auth=None):
        connections.open(request.sid)
        metrics.connections.inc()

    @socketio.on("disconnect")
    def on_disconnect(*_):
        conn = connections.get(request.sid)
        if conn is not None:
            pipeline.forget(conn)
        connections.close(request.sid)
        metrics.connections.dec()

    @socketio.on("frame")
    def on_frame(payload=None):
        metrics.frames_received.inc()
        conn = connections.get(request.sid)
        if conn is None:
            return
        try:
            frame = validate_frame(payload, settings)
        except FrameRejected as exc:
            metrics.frames_rejected.labels(exc.code).inc()
            socketio.emit("frame_error", frame_error(exc.frame_id, exc.code, exc.message), to=request.sid)
            return
        submitted = pipeline.submit(conn, frame)
        if not submitted.accepted:
            metrics.frames_rejected.labels(submitted.error["code"]).inc()
            socketio.emit("frame_error", submitted.error, to=request.sid)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", gateway=pipeline.gateway_id)

    @app.get("/readyz")
    def readyz():
        status = readiness(pipeline.redis)
        return jsonify(status), (200 if status["ready"] else 503)

    @app.get("/metrics")
    def prometheus_metrics():
        return Response(generate_latest(metrics.REGISTRY), mimetype=CONTENT_TYPE_LATEST)

    app.register_blueprint(api)
    register_frontend(app, Path(settings.frontend_dir))
    return app, socketio, pipeline


def readiness(client: redis.Redis) -> dict[str, Any]:
    try:
        client.ping()
    except redis.RedisError as exc:
        return {"ready": False, "redis": False, "error": str(exc), "detectors": 0, "classifiers": 0}
    detectors = redis_io.live_services(client, "detector")
    classifiers = redis_io.live_services(client, "classifier")
    emotion = next((c.get("model") for c in classifiers if c.get("model")), None)
    return {"ready": bool(detectors and classifiers), "redis": True, "detectors": len(detectors),
            "classifiers": len(classifiers), "models": {"emotion": emotion or {"ready": False, "version": None}}}


def register_frontend(app: Flask, dist: Path) -> None:
    """Serve the built single-page app, or a placeholder page until it is built."""

    @app.get("/", defaults={"path": ""})
    @app.get("/<path:path>")
    def frontend(path: str):
        index = dist / "index.html"
        if not index.is_file():
            return PLACEHOLDER_PAGE
        if path and (dist / path).is_file():
            return send_from_directory(dist, path)
        if path.startswith(("api/", "socket.io")):
            return jsonify(error="not found"), 404
        return send_from_directory(dist, "index.html")
