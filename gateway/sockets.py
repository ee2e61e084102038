"""The Socket.IO events of one browser connection: connect (auth, per-address limit, `limits`),
`frame` (rate limit, checks, submit) and disconnect.

Every refusal happens before the connection holds anything or a frame is decoded; the client
gets the reason as text (connect) or as a `frame_error` with its code.

connect and disconnect go through Flask-SocketIO (they need the request's environ: auth, the
client's address); `frame` is registered straight on python-socketio's server, which calls it
before any namespace (`register`): no Flask request context is made and torn down per frame,
which profiled at about a sixth of the gateway's time for a frame refused under overload.
"""
from __future__ import annotations

from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError, Namespace, SocketIO

from gateway import prometheus
from gateway.auth import connect_token, token_matches
from gateway.broker import ResultBroker, frame_error
from gateway.connections import Connections
from gateway.frame_checks import FrameRejected, validate_frame
from gateway.limits import AddressLimiter, client_address
from sentivis.settings import Settings


def limits_event(settings: Settings) -> dict[str, Any]:
    """The `limits` event a client gets on connect: what this gateway enforces on its frames."""
    return {"max_in_flight": settings.max_in_flight, "frame_timeout_ms": settings.frame_timeout_ms,
            "max_frames_per_second": settings.max_frames_per_second,
            "max_frame_bytes": settings.max_frame_bytes, "max_frame_pixels": settings.max_frame_pixels}


def claimed_frame_id(payload: Any) -> int | None:
    """The frame_id to echo in an error, if the payload carries a plausible one (nothing decoded)."""
    frame_id = payload.get("frame_id") if isinstance(payload, dict) else None
    return frame_id if isinstance(frame_id, int) and not isinstance(frame_id, bool) else None


class BrowserNamespace(Namespace):
    """The default namespace. settings: limits and auth; connections: per-connection state;
    broker: where checked frames go."""

    def __init__(self, settings: Settings, connections: Connections, broker: ResultBroker):
        super().__init__("/")
        self.settings = settings
        self.connections = connections
        self.broker = broker
        self.per_address = AddressLimiter(settings.max_connections_per_address)
        self._sio = None  # python-socketio's server, once registered

    def register(self, socketio: SocketIO) -> None:
        """Serve the default namespace of `socketio`: connect and disconnect here, frames directly."""
        socketio.on_namespace(self)
        self._sio = socketio.server
        self._sio.on("frame", self.on_frame_event, namespace=self.namespace)

    def on_connect(self, auth=None):
        s = self.settings
        if s.auth_token and not token_matches(s.auth_token, connect_token(auth, request.environ)):
            prometheus.connections_refused.labels("unauthorized").inc()
            raise ConnectionRefusedError("unauthorized: connect with auth={'token': SENTIVIS_AUTH_TOKEN}")
        address = client_address(request.environ)
        if not self.per_address.acquire(address):
            prometheus.connections_refused.labels("too_many_connections").inc()
            raise ConnectionRefusedError(f"too many connections from {address}: the limit is "
                                         f"{s.max_connections_per_address} per address")
        self.connections.open(request.sid, address)
        prometheus.connections.inc()
        # Sent before the client's own connect event fires; socket.io clients deliver it after.
        self.emit("limits", limits_event(s), room=request.sid)

    def on_disconnect(self, *_):
        conn = self.connections.get(request.sid)
        if conn is None:
            return  # refused at connect
        self.broker.forget(conn)
        self.per_address.release(conn.address)
        self.connections.close(request.sid)
        prometheus.connections.dec()

    def on_frame_event(self, sid: str, payload: Any = None) -> None:
        """One `frame` event of connection `sid` (python-socketio's handler signature)."""
        prometheus.frames_received.inc()
        conn = self.connections.get(sid)
        if conn is None:
            return
        if not conn.bucket.take():  # before any look at the payload: a flood costs as little as possible
            with conn.lock:
                conn.dropped_frames += 1
            self._reject(sid, frame_error(claimed_frame_id(payload), "rate_limited"))
            return
        try:
            frame = validate_frame(payload, self.settings)
        except FrameRejected as exc:
            self._reject(sid, frame_error(exc.frame_id, exc.code, exc.message))
            return
        submitted = self.broker.submit(conn, frame)
        if not submitted.accepted:
            self._reject(sid, submitted.error)

    def _reject(self, sid: str, error: dict[str, Any]) -> None:
        prometheus.frames_rejected.labels(error["code"]).inc()
        self._sio.emit("frame_error", error, to=sid, namespace=self.namespace)
