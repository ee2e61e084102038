"""The Flask-SocketIO application: the browser namespace, health, the REST API, the frontend."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, jsonify, send_from_directory
from flask_cors import CORS
from flask_socketio import SocketIO

from gateway.api import api
from gateway.auth import protect_rest
from gateway.broker import ResultBroker
from gateway.connections import Connections
from gateway.health import health
from gateway.sessions_api import init_sessions
from gateway.sockets import BrowserNamespace
from sentivis.protocol import SOCKETIO_SERIALIZER
from sentivis.settings import Settings

PLACEHOLDER_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sentivis</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>Sentivis gateway is running</h1>
<p>The browser app is not built yet: run <code>make frontend</code> (or <code>make up</code>, which builds it).</p>
<p>Readiness: <code id="ready">checking...</code></p>
<script>fetch('readyz').then(r => r.json()).then(j => {document.getElementById('ready').textContent = JSON.stringify(j)})</script>
</body></html>"""


def create_app(settings: Settings) -> tuple[Flask, SocketIO, ResultBroker]:
    """The app, its Socket.IO server and the result broker (not started: the caller starts it)."""
    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False  # probabilities keep the FER label order, as in Socket.IO events
    socketio = create_socketio(app, settings)
    connections = Connections(settings)
    # Results go out through python-socketio's server itself: nothing of Flask is needed to emit them.
    broker = ResultBroker(settings, connections, lambda event, payload, sid: socketio.server.emit(event, payload, to=sid))
    app.extensions["sentivis"] = {"settings": settings, "broker": broker, "connections": connections}
    BrowserNamespace(settings, connections, broker).register(socketio)
    protect_rest(app, settings)
    app.register_blueprint(health)
    app.register_blueprint(api)
    init_sessions(app, settings, broker.redis, broker.gateway_id)  # extensions: database, recording
    register_frontend(app, Path(settings.frontend_dir))
    return app, socketio, broker


def create_socketio(app: Flask, settings: Settings) -> SocketIO:
    """Socket.IO on the app. python-socketio checks the Origin header: same origin only unless
    SENTIVIS_CORS_ORIGINS lists others (which also get CORS on /api)."""
    origins = list(settings.cors_origins)
    if origins:
        CORS(app, resources={r"/api/*": {"origins": origins}})
    # async_handlers=False: one connection's events are handled in order, on its own thread.
    return SocketIO(app, async_mode="threading", cors_allowed_origins=origins or None, async_handlers=False,
                    serializer=SOCKETIO_SERIALIZER, max_http_buffer_size=settings.max_message_bytes,
                    ping_interval=10, ping_timeout=10)


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
