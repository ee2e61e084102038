"""The gateway as one WSGI application: two Socket.IO endpoints (one per parser), health, the REST
API and the frontend, over one result broker."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

import socketio
from flask import Flask, jsonify, send_from_directory
from flask_cors import CORS
from werkzeug.routing import PathConverter

from gateway import prometheus
from gateway.admission import Admission
from gateway.api import api
from gateway.auth import protect_rest
from gateway.backlog import BacklogSampler
from gateway.connections import Connections
from gateway.frames import FrameQueue
from gateway.health import health
from gateway.probe import ReadinessProbe
from gateway.recording import Recording
from gateway.results import ResultReader
from gateway.sessions_api import init_sessions
from gateway.sockets import BrowserEvents
from gateway.timeouts import Timeouts
from gateway.transport import PACKETS, SocketServer
from sentivis import redis_io
from sentivis.settings import Settings

PLACEHOLDER_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sentivis</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>Sentivis gateway is running</h1>
<p>The browser app is not built yet: run <code>make frontend</code> (or <code>make up</code>, which builds it).</p>
<p>Readiness: <code id="ready">checking...</code></p>
<script>fetch('readyz').then(r => r.json())
  .then(j => {document.getElementById('ready').textContent = JSON.stringify(j)})</script>
</body></html>"""


@dataclass
class Gateway:
    wsgi: socketio.WSGIApp  # what the server runs: both endpoints, then the Flask app
    flask: Flask
    gateway_id: str  # names its result stream
    sockets: dict[str, SocketServer]  # parser -> its endpoint
    connections: Connections
    frames: FrameQueue
    recording: Recording
    workers: list  # started by start(), in order: the result reader, the timeouts, the backlog sampler, the probe

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        for worker in reversed(self.workers):
            worker.stop()
        self.recording.close()


def create_app(settings: Settings, async_mode: str = "threading") -> Gateway:
    """The gateway, not started (start() starts its threads). Its sessions database is migrated in
    the background (the live path never waits on it). async_mode: python-socketio's, "gevent" when
    the process is monkey-patched (`python -m gateway`), "threading" for a gateway inside a test process."""
    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False  # probabilities keep the FER label order, as in Socket.IO events
    origins = list(settings.cors_origins)
    if origins:
        CORS(app, resources={r"/api/*": {"origins": origins}})
    connections = Connections(settings)
    client, gateway_id = redis_io.connect(settings), uuid.uuid4().hex[:12]
    recording = init_sessions(app, settings, client, gateway_id)  # extensions: database, recording
    admission = Admission(settings.admission_wait_ms, settings.admission_min_frames)
    prometheus.watch_admission(admission)
    frames = FrameQueue(settings, admission, client, gateway_id)
    probe = ReadinessProbe(frames.request_once, settings.ready_max_ms, interval_s=0.25)
    workers = [ResultReader(settings, gateway_id, connections, frames, admission, recording),
               Timeouts(settings.frame_timeout_ms / 1000, connections, admission),
               BacklogSampler(settings, admission), probe]
    events = BrowserEvents(settings, connections, frames, recording)
    sockets: dict[str, SocketServer] = {}

    def sessions_open() -> int:
        return sum(len(server.eio.sockets) for server in sockets.values())

    for parser in PACKETS:
        sockets[parser] = socket_server(parser, settings, async_mode, sessions_open)
    prometheus.watch_sessions(sockets)
    wsgi = app.wsgi_app
    for server in sockets.values():
        events.serve(server)
        wsgi = socketio.WSGIApp(server, wsgi, socketio_path=server.path)
    app.extensions["sentivis"].update(settings=settings, redis=client, gateway_id=gateway_id, frames=frames,
                                      connections=connections, sockets=sockets, probe=probe)
    protect_rest(app, settings)
    app.register_blueprint(health)
    app.register_blueprint(api)
    register_frontend(app, Path(settings.frontend_dir))
    return Gateway(wsgi, app, gateway_id, sockets, connections, frames, recording, workers)


def socket_server(parser: str, settings: Settings, async_mode: str, sessions_open) -> SocketServer:
    """One endpoint. python-socketio checks the Origin header: same origin only unless
    SENTIVIS_CORS_ORIGINS lists others (which also get CORS on /api). Engine.IO sessions (of both
    endpoints) are bounded a little above max_connections: room for those being refused `server_full`."""
    # async_handlers=False: one connection's events are handled in order, on its own thread (greenlet).
    limit = settings.max_connections + max(100, settings.max_connections // 10) if settings.max_connections else 0
    return SocketServer(parser, limit, sessions_open, async_mode=async_mode,
                        cors_allowed_origins=list(settings.cors_origins) or None, async_handlers=False,
                        max_http_buffer_size=settings.max_message_bytes, ping_interval=10, ping_timeout=10,
                        logger=library_logger("gateway.socketio"), engineio_logger=library_logger("gateway.engineio"))


def library_logger(name: str) -> logging.Logger:
    """python-socketio's and python-engineio's logger: they log every packet at INFO, so only their
    warnings and errors unless the gateway itself logs at DEBUG."""
    log = logging.getLogger(name)
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        log.setLevel(logging.WARNING)
    return log


class PagePath(PathConverter):
    """Any path but the API's: an unknown API route is a 404 and a wrong method on one a 405 whose
    `Allow` lists only that route's methods, not the page's GET."""

    regex = r"(?!api(?:/|$))[^/].*?"


def register_frontend(app: Flask, dist: Path) -> None:
    """Serve the built single-page app, or a placeholder page until it is built."""
    app.url_map.converters["page"] = PagePath

    @app.get("/", defaults={"path": ""})
    @app.get("/<page:path>")
    def frontend(path: str):
        index = dist / "index.html"
        if not index.is_file():
            return PLACEHOLDER_PAGE
        if path and (dist / path).is_file():
            return send_from_directory(dist, path)
        if path.startswith("socket.io"):
            return jsonify(error="not found"), 404
        return send_from_directory(dist, "index.html")
