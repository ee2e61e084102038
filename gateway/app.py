"""The Flask-SocketIO application: Socket.IO events, health and metrics, the frontend."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import redis
from flask import Flask, Response, jsonify, request, send_from_directory
from flask_cors import CORS
from flask_socketio import ConnectionRefusedError, SocketIO
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway import metrics
from gateway.api import api
from gateway.auth import connect_token, protect_rest, token_matches
from gateway.connections import Connections
from gateway.frames import FrameRejected, validate_frame
from gateway.limits import AddressLimiter, client_address
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
    app.json.sort_keys = False  # probabilities keep the FER label order, as in Socket.IO events
    origins = list(settings.cors_origins)
    if origins:
        CORS(app, resources={r"/api/*": {"origins": origins}})
    # python-socketio checks the Origin header: same origin only unless an allowlist is given.
    # async_handlers=False: one connection's events are handled in order, on its own thread.
    socketio = SocketIO(app, async_mode="threading", cors_allowed_origins=origins or None, async_handlers=False,
                        max_http_buffer_size=settings.max_message_bytes, ping_interval=10,
                        ping_timeout=10)
    connections = Connections(settings)
    per_address = AddressLimiter(settings.max_connections_per_address)

    def emit(event: str, payload: dict[str, Any], sid: str) -> None:
        socketio.emit(event, payload, to=sid)

    pipeline = Pipeline(settings, connections, emit)
    app.extensions["sentivis"] = {"settings": settings, "pipeline": pipeline, "connections": connections}

    @socketio.on("connect")
    def on_connect(auth=None):
        # Refusals happen here, before the connection holds anything; the client gets the reason.
        if settings.auth_token and not token_matches(settings.auth_token, connect_token(auth, request.environ)):
            metrics.connections_refused.labels("unauthorized").inc()
            raise ConnectionRefusedError("unauthorized: connect with auth={'token': SENTIVIS_AUTH_TOKEN}")
        address = client_address(request.environ)
        if not per_address.acquire(address):
            metrics.connections_refused.labels("too_many_connections").inc()
            raise ConnectionRefusedError(f"too many connections from {address}: the limit is "
                                         f"{settings.max_connections_per_address} per address")
        connections.open(request.sid, address)
        metrics.connections.inc()

    @socketio.on("disconnect")
    def on_disconnect(*_):
        conn = connections.get(request.sid)
        if conn is None:
            return  # refused at connect
        pipeline.forget(conn)
        per_address.release(conn.address)
        connections.close(request.sid)
        metrics.connections.dec()

    @socketio.on("frame")
    def on_frame(payload=None):
        metrics.frames_received.inc()
        conn = connections.get(request.sid)
        if conn is None:
            return
        if not conn.bucket.take():  # before any look at the payload: a flood costs as little as possible
            with conn.lock:
                conn.dropped_frames += 1
            metrics.frames_rejected.labels("rate_limited").inc()
            socketio.emit("frame_error", frame_error(claimed_frame_id(payload), "rate_limited"), to=request.sid)
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

    protect_rest(app, settings)
    app.register_blueprint(api)
    register_frontend(app, Path(settings.frontend_dir))
    return app, socketio, pipeline


def claimed_frame_id(payload: Any) -> int | None:
    """The frame_id to echo in an error, if the payload carries a plausible one (nothing decoded)."""
    frame_id = payload.get("frame_id") if isinstance(payload, dict) else None
    return frame_id if isinstance(frame_id, int) and not isinstance(frame_id, bool) else None


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
