"""The load generator: N Socket.IO clients, each sending frames at F fps (open loop).

Each client sends on a fixed schedule whatever the answers do, as a camera would, and records
per frame: when it was sent, the event that answered it (`inference` or `frame_error`), the
round trip, the server's stage split (`inference.latency`) and `dropped_frames`.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import socketio

from benchmarks.frames import BenchFrame


@dataclass
class FrameRecord:
    client: int
    frame_id: int
    faces_sent: int
    sent: float  # perf_counter seconds
    done: float | None = None
    event: str | None = None  # "inference" | "frame_error" | None (never answered)
    code: str | None = None
    latency: dict[str, float] = field(default_factory=dict)
    faces: int = 0
    dropped_frames: int | None = None

    @property
    def rtt_ms(self) -> float | None:
        return None if self.done is None else (self.done - self.sent) * 1000


class LoadClient:
    def __init__(self, index: int, url: str, frames: list[BenchFrame]):
        self.index = index
        self.frames = frames
        self.records: dict[int, FrameRecord] = {}
        self.late_events = 0  # answers to frames this client never sent (must stay 0)
        self.skipped = 0  # frames not sent because the sender thread ran late (see run)
        self._lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("inference", self._on_inference)
        self.sio.on("frame_error", self._on_error)
        self.sio.connect(url, transports=["websocket"], wait_timeout=10)

    def _record(self, payload: Any) -> FrameRecord | None:
        now = time.perf_counter()
        fid = payload.get("frame_id") if isinstance(payload, dict) else None
        with self._lock:
            record = self.records.get(fid)
            if record is None or record.done is not None:
                self.late_events += 1
                return None
            record.done = now
            return record

    def _on_inference(self, payload: dict) -> None:
        record = self._record(payload)
        if record is not None:
            record.event = "inference"
            record.latency = payload.get("latency") or {}
            record.faces = len(payload.get("faces") or [])
            record.dropped_frames = payload.get("dropped_frames")

    def _on_error(self, payload: dict) -> None:
        record = self._record(payload)
        if record is not None:
            record.event = "frame_error"
            record.code = payload.get("code")

    def prime(self, timeout: float = 30.0) -> None:
        """One frame, answered, before the timed run: connection set-up and first-use costs
        (a model loaded per thread in the monolith) are not part of the figures."""
        record = FrameRecord(self.index, 0, 0, time.perf_counter())
        with self._lock:
            self.records[0] = record
        self.sio.emit("frame", {"frame_id": 0, "image": self.frames[0].jpeg})
        deadline = time.perf_counter() + timeout
        while record.done is None and time.perf_counter() < deadline:
            time.sleep(0.01)
        with self._lock:
            del self.records[0]
        if record.done is None:
            raise TimeoutError(f"client {self.index}: no answer to the priming frame within {timeout} s")

    def run(self, start: float, fps: float, duration: float, stop: threading.Event) -> None:
        """Send frames at `fps` from perf_counter time `start` for `duration` seconds (ids from 1)."""
        i = 1
        while not stop.is_set():
            due = start + (i - 1) / fps
            if due >= start + duration:
                return
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif delay < -1 / fps:
                # More than a frame late (this process was not scheduled): a camera skips the frames
                # it missed rather than sending them in a burst, so this client does too.
                behind = int(-delay * fps)
                self.skipped += behind
                i += behind
                continue
            frame = self.frames[(i + self.index) % len(self.frames)]
            record = FrameRecord(self.index, i, frame.faces, time.perf_counter())
            with self._lock:
                self.records[i] = record
            try:
                self.sio.emit("frame", {"frame_id": i, "image": frame.jpeg})
            except socketio.exceptions.SocketIOError:
                return
            i += 1

    def close(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:  # noqa: BLE001 - a server that is gone already closed it
            pass


@dataclass
class LoadResult:
    clients: int
    fps_per_client: float
    duration: float
    start: float
    end: float  # when the last frame was due
    records: list[FrameRecord]
    late_events: int
    skipped: int  # frames the clients skipped because they ran late


def run_load(url: str, frames: list[BenchFrame], clients: int, fps: float, duration: float,
             drain_s: float = 4.0) -> LoadResult:
    """Connect `clients` clients, send for `duration` s, then wait up to `drain_s` for the answers."""
    load_clients = [LoadClient(i, url, frames) for i in range(clients)]
    primers = [threading.Thread(target=c.prime, daemon=True) for c in load_clients]
    for t in primers:
        t.start()
    for t in primers:
        t.join(35)
    stop = threading.Event()
    start = time.perf_counter() + 0.3
    threads = []
    for c in load_clients:
        # Spread the clients' phases so their frames do not all arrive at the same instant.
        phase = c.index / (fps * clients)
        threads.append(threading.Thread(target=c.run, args=(start + phase, fps, duration, stop), daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 30)
    end = start + duration
    deadline = time.perf_counter() + drain_s
    while time.perf_counter() < deadline:
        if all(r.done is not None for c in load_clients for r in list(c.records.values())):
            break
        time.sleep(0.05)
    stop.set()
    for c in load_clients:
        c.close()
    records = [r for c in load_clients for r in c.records.values()]
    return LoadResult(clients, fps, duration, start, end, records, sum(c.late_events for c in load_clients),
                      sum(c.skipped for c in load_clients))
