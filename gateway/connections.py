"""What the gateway keeps per browser connection: frames in flight, drops, the person tracker."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import socketio

from gateway.limits import TokenBucket
from sentivis.settings import Settings
from sentivis.tracking.config import TrackerConfig
from sentivis.tracking.tracker import PersonTracker


@dataclass
class Connection:
    sid: str
    server: socketio.Server  # the endpoint (parser) it connected to: its events go out through it
    tracker: PersonTracker  # this connection's people: ids and smoothed emotions (used under `lock`)
    bucket: TokenBucket  # frames per second, checked before anything else
    address: str = "unknown"  # the client's address, counted against the per-address limit
    in_flight: dict[int, float] = field(default_factory=dict)  # frame_id -> received_at
    dropped_frames: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, event: str, payload: dict[str, Any]) -> None:
        self.server.emit(event, payload, to=self.sid)


class Connections:
    """Thread-safe map sid -> Connection (Socket.IO handlers and the result reader share it).

    settings: the limits and the tracking settings; a tracking setting out of range raises
    SettingsError here, at start-up, not at the first connection.
    """

    def __init__(self, settings: Settings):
        self._settings = settings
        self.tracker_config = TrackerConfig.from_settings(settings)
        self.new_tracker()  # imports norfair (and scipy: over a second) now, not in the first connect
        self._by_sid: dict[str, Connection] = {}
        self._lock = threading.Lock()

    def new_tracker(self) -> PersonTracker:
        """A tracker with the gateway's settings: one per connection, one per uploaded image."""
        return PersonTracker(self.tracker_config)

    def open(self, sid: str, server: socketio.Server, address: str = "unknown") -> Connection:
        conn = Connection(sid, server, self.new_tracker(), TokenBucket(self._settings.max_frames_per_second), address)
        with self._lock:
            self._by_sid[sid] = conn
        return conn

    def close(self, sid: str) -> None:
        with self._lock:
            self._by_sid.pop(sid, None)

    def get(self, sid: str) -> Connection | None:
        with self._lock:
            return self._by_sid.get(sid)

    def all(self) -> list[Connection]:
        with self._lock:
            return list(self._by_sid.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_sid)
