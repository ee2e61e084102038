"""The Socket.IO events of one client connection, the same on both endpoints (gateway/transport.py):
connect (auth, capacity, per-address limit, then `limits`), `frame` (rate limit, checks, submit),
`session_start` and `session_stop` (recorded sessions, gateway/recording.py), any other event
(refused) and disconnect.

Every refusal happens before the connection holds anything or a frame is decoded; the client gets
the reason as a connect error whose message starts with its code and whose data is {"code": ...}
(connect), or as a `frame_error` with its code.
"""
from __future__ import annotations

from functools import partial
from typing import Any

import socketio
from socketio.exceptions import ConnectionRefusedError

from gateway import prometheus
from gateway.auth import connect_token, token_matches
from gateway.connections import Connection, Connections
from gateway.frame_checks import FrameRejected, validate_frame
from gateway.frames import FrameQueue
from gateway.limits import AddressLimiter
from gateway.proxies import TrustedProxies
from gateway.recording import Recording, SessionRefused
from sentivis.protocol import FrameError, Limits, frame_error
from sentivis.settings import Settings

EVENTS = ("frame", "session_start", "session_stop")  # what a client may send


def limits_event(settings: Settings) -> Limits:
    """The `limits` event a client gets on connect: what this gateway enforces on its frames."""
    return Limits(settings.max_in_flight, settings.frame_timeout_ms, settings.max_frames_per_second,
                  settings.max_frame_bytes, settings.max_frame_pixels)


def claimed_frame_id(payload: Any) -> int | None:
    """The frame_id to echo in an error, if the payload carries a plausible one (nothing decoded)."""
    frame_id = payload.get("frame_id") if isinstance(payload, dict) else None
    return frame_id if isinstance(frame_id, int) and not isinstance(frame_id, bool) else None


def refused(code: str, message: str) -> ConnectionRefusedError:
    """A connect refusal: its message starts with a sentivis.errors.CONNECT_REFUSALS code."""
    prometheus.connections_refused.labels(code).inc()
    return ConnectionRefusedError(f"{code}: {message}", {"code": code})


class BrowserEvents:
    """settings: limits and auth; connections: per-connection state; frames: where checked frames go;
    recording: the sessions clients record."""

    def __init__(self, settings: Settings, connections: Connections, frames: FrameQueue, recording: Recording):
        self.settings = settings
        self.connections = connections
        self.frames = frames
        self.recording = recording
        self.per_address = AddressLimiter(settings.max_connections_per_address)
        self.proxies = TrustedProxies(settings.trusted_proxies)

    def serve(self, server: socketio.Server) -> None:
        """Handle the events of `server`, one endpoint."""
        server.on("connect", partial(self.on_connect, server))
        server.on("disconnect", self.on_disconnect)
        server.on("frame", self.on_frame)
        server.on("session_start", partial(self.on_session, self.recording.start))
        server.on("session_stop", partial(self.on_session, self.recording.stop))
        server.on("*", self.on_other_event)

    def on_connect(self, server: socketio.Server, sid: str, environ: dict, auth: Any = None) -> None:
        s = self.settings
        if s.auth_token and not token_matches(s.auth_token, connect_token(auth, environ)):
            raise refused("unauthorized", "connect with auth={'token': SENTIVIS_AUTH_TOKEN}")
        if s.max_connections > 0 and len(self.connections) >= s.max_connections:
            raise refused("server_full", f"this gateway holds its limit of {s.max_connections} connections; "
                                         "try again later")
        address = self.proxies.client_address(environ)
        if not self.per_address.acquire(address):
            raise refused("too_many_connections", f"too many connections from {address}: the limit is "
                                                  f"{s.max_connections_per_address} per address")
        conn = self.connections.open(sid, server, address)
        prometheus.connections.inc()
        # Sent before the client's own connect event fires; socket.io clients deliver it after.
        conn.send("limits", limits_event(s))

    def on_disconnect(self, sid: str, *_: Any) -> None:
        conn = self.connections.get(sid)
        if conn is None:
            return  # refused at connect
        self.frames.forget(conn)
        self.recording.disconnected(sid)
        self.per_address.release(conn.address)
        self.connections.close(sid)
        prometheus.connections.dec()

    def on_frame(self, sid: str, payload: Any = None, *_: Any) -> None:
        """One `frame` event of connection `sid`."""
        prometheus.frames_received.inc()
        conn = self.connections.get(sid)
        if conn is None:
            return
        if not conn.bucket.take():  # before any look at the payload: a flood costs as little as possible
            with conn.lock:
                conn.dropped_frames += 1
            self._reject(conn, frame_error(claimed_frame_id(payload), "rate_limited"))
            return
        try:
            frame = validate_frame(payload, self.settings)
        except FrameRejected as exc:
            self._reject(conn, frame_error(exc.frame_id, exc.code, exc.message))
            return
        refused = self.frames.submit(conn, frame)
        if refused is not None:
            self._reject(conn, refused)

    def on_session(self, call, sid: str, payload: Any = None, *_: Any) -> None:
        """`session_start` or `session_stop` (call: Recording.start or .stop) -> `session` or `session_error`."""
        conn = self.connections.get(sid)
        if conn is None:
            return
        try:
            conn.send("session", call(sid, payload))
        except SessionRefused as exc:
            conn.send("session_error", exc.event())

    def on_other_event(self, event: str, sid: str, *_: Any) -> None:
        conn = self.connections.get(sid)
        if conn is not None:
            self._reject(conn, frame_error(None, "unknown_event", f"unknown event {event[:64]!r}: a client sends "
                                                                  f"{', '.join(EVENTS)}"))

    def _reject(self, conn: Connection, error: FrameError) -> None:
        prometheus.frames_rejected.labels(error.code).inc()
        conn.send("frame_error", error)
