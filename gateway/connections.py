"""What the gateway keeps per browser connection: frames in flight, drops, the face tracker."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from gateway.limits import TokenBucket
from sentivis.tracking import FaceTracker
from sentivis.settings import Settings


@dataclass
class Connection:
    sid: str
    tracker: FaceTracker
    bucket: TokenBucket  # frames per second, checked before anything else
    address: str = "unknown"  # the client's address, counted against the per-address limit
    in_flight: dict[int, float] = field(default_factory=dict)  # frame_id -> received_at
    dropped_frames: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Connections:
    """Thread-safe map sid -> Connection (Socket.IO handlers and the result reader share it)."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._by_sid: dict[str, Connection] = {}
        self._lock = threading.Lock()

    def open(self, sid: str, address: str = "unknown") -> Connection:
        s = self._settings
        conn = Connection(sid, FaceTracker(alpha=s.smoothing_alpha, min_iou=s.track_iou, max_missed=s.track_max_missed),
                          TokenBucket(s.max_frames_per_second), address)
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
