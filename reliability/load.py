"""A Socket.IO client that streams one JPEG at a steady rate and records what comes back.

Every frame is either answered (an `inference` or a `frame_error`), lost with a connection that
dropped while it was in flight, or unanswered: the last is a hang, which chaos and soak report.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

import socketio


@dataclass
class Reply:
    kind: str  # "inference" or "frame_error"
    code: str | None
    at: float  # time.monotonic() when it arrived
    faces: int = 0


class LoadClient:
    def __init__(self, url: str, image: bytes, rate: float, token: str | None = None, reconnection: bool = False,
                 first_frame_id: int = 0):
        self.url, self.image, self.rate, self.token = url, image, rate, token
        self.sio = socketio.Client(reconnection=reconnection, reconnection_delay=0.2, reconnection_delay_max=1.0)
        self.sent: dict[int, float] = {}
        self.replies: dict[int, Reply] = {}
        self.disconnects: list[float] = []
        self.connects: list[float] = []
        self.not_sent = 0  # ticks while disconnected
        self._next_id = first_frame_id
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sio.on("inference", lambda p: self._record(p, "inference"))
        self.sio.on("frame_error", lambda p: self._record(p, "frame_error"))
        self.sio.on("connect", lambda: self._mark(self.connects))
        self.sio.on("disconnect", lambda *_: self._mark(self.disconnects))

    # -- connection ---------------------------------------------------------------
    def connect(self, timeout: float = 10.0) -> "LoadClient":
        auth = {"token": self.token} if self.token else None
        self.sio.connect(self.url, transports=["websocket"], wait_timeout=timeout, auth=auth)
        return self

    def close(self) -> None:
        self.stop()
        try:
            self.sio.disconnect()
        except Exception:  # noqa: BLE001 - closing a dead connection
            pass

    def _mark(self, times: list[float]) -> None:
        with self._lock:
            times.append(time.monotonic())
            self._lock.notify_all()

    def _record(self, payload, kind: str) -> None:
        now = time.monotonic()
        with self._lock:
            fid = payload.get("frame_id") if isinstance(payload, dict) else None
            if fid in self.sent and fid not in self.replies:
                self.replies[fid] = Reply(kind, payload.get("code"), now, len(payload.get("faces") or []))
            self._lock.notify_all()

    # -- streaming ----------------------------------------------------------------
    def send_one(self) -> int | None:
        with self._lock:
            fid = self._next_id
            self._next_id += 1
            self.sent[fid] = time.monotonic()
        try:
            self.sio.emit("frame", {"frame_id": fid, "image": self.image})
            return fid
        except (socketio.exceptions.SocketIOError, OSError):
            with self._lock:
                self.sent.pop(fid, None)
            self.not_sent += 1
            return None

    def start(self) -> "LoadClient":
        self._stop.clear()
        self._thread = threading.Thread(target=self._stream, name="load-client", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _stream(self) -> None:
        period = 1.0 / self.rate
        next_at = time.monotonic()
        while not self._stop.is_set():
            if self.sio.connected:
                self.send_one()
            else:
                self.not_sent += 1
            next_at += period
            delay = next_at - time.monotonic()
            if delay < -period:  # more than a frame late (a stall): skip, as a camera does, not burst
                next_at = time.monotonic()
            self._stop.wait(max(0.0, delay))

    # -- results ------------------------------------------------------------------
    def wait_answered(self, timeout: float) -> bool:
        """Until every frame sent so far has a reply (or its connection dropped); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.unanswered(older_than_s=0):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.2))
        return True

    def wait_inference_after(self, t: float, timeout: float) -> float | None:
        """Seconds from t to the first inference of a frame sent after t, or None on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                hits = [r.at for fid, r in self.replies.items() if r.kind == "inference" and self.sent[fid] >= t]
                if hits:
                    return min(hits) - t
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._lock.wait(min(left, 0.1))

    def round_trips_ms(self, since: float = 0.0, until: float = float("inf")) -> list[float]:
        with self._lock:
            return [(r.at - self.sent[fid]) * 1000 for fid, r in self.replies.items()
                    if r.kind == "inference" and since <= self.sent[fid] < until]

    def codes(self, since: float = 0.0, until: float = float("inf")) -> Counter:
        with self._lock:
            return Counter(r.code or r.kind for fid, r in self.replies.items() if since <= self.sent[fid] < until)

    def unanswered(self, older_than_s: float) -> list[int]:
        """Frames without a reply, sent more than older_than_s ago, whose connection did not drop."""
        now = time.monotonic()
        with self._lock:
            out = []
            for fid, t in self.sent.items():
                if fid in self.replies or now - t < older_than_s:
                    continue
                if any(d >= t for d in self.disconnects):
                    continue  # lost with its connection: the client saw the disconnect
                out.append(fid)
            return out

    def lost_with_connection(self) -> int:
        with self._lock:
            return sum(1 for fid, t in self.sent.items()
                       if fid not in self.replies and any(d >= t for d in self.disconnects))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def verdict(name: str, failures: list[str], unanswered: int, answered: int) -> int:
    """Print the run's failures and PASS/FAIL; the exit code. A frame never answered always fails."""
    if unanswered or not answered:
        failures = failures + [f"{unanswered} frames never answered"]
    for failure in failures:
        print("FAIL", failure)
    print(f"{name}: PASS" if not failures else f"{name}: FAIL")
    return 1 if failures else 0
