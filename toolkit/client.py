"""A Socket.IO client of the gateway that sends frames and records every answer.

One client for the tests, the benchmarks' load generator and the fault tools: it sends single
frames (`send`, `send_raw`) or streams them at a steady rate in a thread (`start`), open loop as
a camera does (on schedule whatever the answers do, skipping the ticks it missed after a stall
rather than sending them in a burst), or, with adaptive=True, sending only as many of the
camera's frames as the page would (toolkit.adaptive: fewer on `overloaded` and slow round
trips, more again on recovery). Every frame it sent is then answered (an `inference` or a
`frame_error`, see `records`), lost with a connection that dropped while it was in flight, or
unanswered: the last is a hang, which the tools report. Times are time.monotonic() seconds.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import socketio

from sentivis.protocol import SOCKETIO_PATHS
from toolkit.adaptive import AdaptiveRate


@dataclass
class FrameRecord:
    frame_id: int
    sent: float
    faces_sent: int = 0  # faces placed in the frame, when the sender knows (the detector's count is `faces`)
    done: float | None = None  # when the answer came
    event: str | None = None  # "inference" | "frame_error" | None (no answer yet)
    code: str | None = None  # the frame_error's code
    latency: dict[str, float] = field(default_factory=dict)  # the server's stage split
    faces: int = 0
    dropped_frames: int | None = None

    @property
    def rtt_ms(self) -> float | None:
        return None if self.done is None else (self.done - self.sent) * 1000


def _jpeg_and_faces(frame: Any) -> tuple[bytes, int]:
    """A frame to stream: JPEG bytes, or an object with .jpeg and .faces (toolkit.samples.SampleFrame)."""
    return (frame, 0) if isinstance(frame, (bytes, bytearray)) else (frame.jpeg, frame.faces)


class FrameClient:
    """parser: "msgpack" (a frame is one binary message) or "default" (JSON and an attachment, as any
    Socket.IO client without configuration); each has its own endpoint (sentivis.protocol.SOCKETIO_PATHS)."""

    def __init__(self, url: str, token: str | None = None, reconnection: bool = False, connect: bool = True,
                 timeout: float = 10.0, parser: str = "msgpack", **connect_kwargs: Any):
        self.url, self.token, self.parser = url, token, parser
        self.sio = socketio.Client(reconnection=reconnection, reconnection_delay=0.2, reconnection_delay_max=1.0,
                                   serializer="default" if parser == "default" else "msgpack")
        self.events: list[tuple[str, dict]] = []  # every event received, in order
        self.records: dict[int, FrameRecord] = {}  # every frame sent with an int frame_id
        self.late_events = 0  # answers to frames this client never sent, or sent and answered already
        self.connects: list[float] = []
        self.disconnects: list[float] = []
        self.not_sent = 0  # stream ticks while disconnected, or whose emit failed
        self.skipped = 0  # stream ticks missed because the sender thread ran late
        self.held = 0  # stream ticks an adaptive client did not send (it had lowered its rate)
        self.rate_control: AdaptiveRate | None = None  # while an adaptive stream runs
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        for name in ("inference", "frame_error"):
            self.sio.on(name, self._recorder(name))
        for name in ("session", "session_error"):  # recorded sessions: kept in `events` too
            self.sio.on(name, self._noting(name))
        self.sio.on("connect", lambda: self._mark(self.connects))
        self.sio.on("disconnect", lambda *_: self._mark(self.disconnects))
        if connect:
            self.connect(timeout, **connect_kwargs)

    # -- connection ---------------------------------------------------------------
    def connect(self, timeout: float = 10.0, **connect_kwargs: Any) -> "FrameClient":
        if self.token:
            connect_kwargs.setdefault("auth", {"token": self.token})
        connect_kwargs.setdefault("transports", ["websocket"])
        connect_kwargs.setdefault("socketio_path", SOCKETIO_PATHS[self.parser])
        self.sio.connect(self.url, wait_timeout=timeout, **connect_kwargs)
        return self

    def close(self) -> None:
        self.stop()
        try:
            self.sio.disconnect()
        except Exception:  # noqa: BLE001 - a server that is gone already closed it
            pass

    def _mark(self, times: list[float]) -> None:
        with self._cond:
            times.append(time.monotonic())
            self._cond.notify_all()

    def _noting(self, name: str) -> Callable[[Any], None]:
        def note(payload: Any = None) -> None:
            with self._cond:
                self.events.append((name, payload))
                self._cond.notify_all()
        return note

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(payload: Any) -> None:
            now = time.monotonic()
            with self._cond:
                fid = payload.get("frame_id") if isinstance(payload, dict) else None
                self.events.append((name, payload))
                rec = self.records.get(fid) if isinstance(fid, int) else None
                if rec is None or rec.done is not None:
                    self.late_events += 1
                else:
                    rec.done, rec.event = now, name
                    if name == "inference":
                        rec.latency = payload.get("latency") or {}
                        rec.faces = len(payload.get("faces") or [])
                        rec.dropped_frames = payload.get("dropped_frames")
                    else:
                        rec.code = payload.get("code")
                    if self.rate_control is not None:
                        if rec.code == "overloaded":
                            self.rate_control.overloaded(now * 1000)
                        elif name == "inference":
                            self.rate_control.answered(rec.rtt_ms, now * 1000)
                self._cond.notify_all()
        return record

    # -- sending ------------------------------------------------------------------
    def send(self, frame_id: Any, image: Any, **extra: Any) -> bool:
        """One `frame` event; an int frame_id is recorded. False when the emit failed."""
        return self._send(frame_id, image, 0, extra)

    def _send(self, frame_id: Any, image: Any, faces_sent: int, extra: dict[str, Any]) -> bool:
        if isinstance(frame_id, int):
            with self._cond:
                self.records[frame_id] = FrameRecord(frame_id, time.monotonic(), faces_sent)
        try:
            self.sio.emit("frame", {"frame_id": frame_id, "image": image, **extra})
            return True
        except (socketio.exceptions.SocketIOError, OSError):
            with self._cond:
                self.records.pop(frame_id, None)
            return False

    def send_raw(self, payload: Any) -> None:
        """Any payload as the `frame` event, recorded nowhere (malformed input)."""
        self.sio.emit("frame", payload)

    def prime(self, frame: Any, frame_id: int = 0, timeout: float = 30.0) -> None:
        """One frame answered before a timed run, then forgotten: connection set-up and first-use
        costs (a model loaded per thread in the benchmark's monolith) stay out of the figures."""
        jpeg, _ = _jpeg_and_faces(frame)
        self.send(frame_id, jpeg)
        try:
            self.wait(lambda _: self.records[frame_id].done is not None, timeout)
        finally:
            with self._cond:
                self.records.pop(frame_id, None)

    # -- streaming ----------------------------------------------------------------
    def start(self, frames: Sequence[Any], rate: float, first_frame_id: int = 1, duration: float | None = None,
              at: float | None = None, offset: int = 0, adaptive: bool = False) -> "FrameClient":
        """Stream `frames` (cycling from `offset`) at `rate` fps in a thread, from monotonic time `at`
        (default now), for `duration` seconds or until stop(); frame ids from first_frame_id.
        adaptive: send only the share of the camera's frames the page would (toolkit.adaptive)."""
        self._stop.clear()
        self.rate_control = AdaptiveRate(rate) if adaptive else None
        self._thread = threading.Thread(target=self._stream, name="frame-stream", daemon=True,
                                        args=(list(frames), rate, first_frame_id, duration, at, offset))
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _stream(self, frames: list[Any], rate: float, first_id: int, duration: float | None, at: float | None,
                offset: int) -> None:
        period = 1.0 / rate
        start = time.monotonic() if at is None else at
        tick = 0
        credit = 0.0  # an adaptive client sends a camera frame each time this reaches one
        while not self._stop.is_set():
            due = start + tick * period
            if duration is not None and due >= start + duration:
                return
            delay = due - time.monotonic()
            if delay > 0:
                if self._stop.wait(delay):
                    return
            elif delay < -period:
                # More than a frame late (this process was not scheduled): a camera skips the frames
                # it missed rather than sending them in a burst, so this client does too.
                behind = int(-delay / period)
                self.skipped += behind
                tick += behind
                continue
            if self.rate_control is not None:
                with self._cond:
                    self.rate_control.tick(time.monotonic() * 1000)
                    credit = min(1.0, credit + self.rate_control.fps / rate)
                if credit < 1.0:
                    self.held += 1
                    tick += 1
                    continue
                credit -= 1.0
            jpeg, faces = _jpeg_and_faces(frames[(tick + offset) % len(frames)])
            if not (self.sio.connected and self._send(first_id + tick, jpeg, faces, {})):
                self.not_sent += 1
            tick += 1

    # -- waiting ------------------------------------------------------------------
    def wait(self, predicate: Callable[[list[tuple[str, dict]]], bool], timeout: float = 15.0) -> None:
        """Until predicate(events) holds; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.events):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"condition not met in {timeout} s; events: {self.events[-5:]}")
                self._cond.wait(min(left, 0.2))

    def of(self, frame_id: Any) -> list[tuple[str, dict]]:
        with self._cond:
            return [(n, p) for n, p in self.events if isinstance(p, dict) and p.get("frame_id") == frame_id]

    def wait_frame(self, frame_id: Any, timeout: float = 15.0) -> tuple[str, dict]:
        """The first event that answers frame_id."""
        self.wait(lambda ev: any(isinstance(p, dict) and p.get("frame_id") == frame_id for _, p in ev), timeout)
        return self.of(frame_id)[0]

    def wait_count(self, count: int, timeout: float = 15.0) -> None:
        self.wait(lambda ev: len(ev) >= count, timeout)

    def wait_answered(self, timeout: float) -> bool:
        """Until every frame sent so far has an answer (or its connection dropped); False on timeout."""
        try:
            self.wait(lambda _: not self.unanswered(), timeout)
            return True
        except TimeoutError:
            return False

    def wait_inference_after(self, t: float, timeout: float) -> float | None:
        """Seconds from t to the first inference of a frame sent after t, or None on timeout."""
        def hits() -> list[float]:
            return [r.done for r in self.records.values() if r.event == "inference" and r.sent >= t]

        try:
            self.wait(lambda _: bool(hits()), timeout)
        except TimeoutError:
            return None
        with self._cond:
            return min(hits()) - t

    # -- results ------------------------------------------------------------------
    def answered(self, since: float = 0.0, until: float = float("inf")) -> list[FrameRecord]:
        with self._cond:
            return [r for r in self.records.values() if r.done is not None and since <= r.sent < until]

    def round_trips_ms(self, since: float = 0.0, until: float = float("inf")) -> list[float]:
        """The round trips of the inferences of frames sent in [since, until)."""
        return [r.rtt_ms for r in self.answered(since, until) if r.event == "inference"]

    def codes(self, since: float = 0.0, until: float = float("inf")) -> Counter:
        """Answers of frames sent in [since, until): "inference" or the frame_error's code."""
        return Counter(r.code or r.event for r in self.answered(since, until))

    def _lost(self, record: FrameRecord) -> bool:
        return any(d >= record.sent for d in self.disconnects)

    def unanswered(self, older_than_s: float = 0.0) -> list[int]:
        """Frames without an answer, sent more than older_than_s ago, whose connection did not drop."""
        now = time.monotonic()
        with self._cond:
            return [r.frame_id for r in self.records.values()
                    if r.done is None and now - r.sent >= older_than_s and not self._lost(r)]

    def lost_with_connection(self) -> int:
        with self._cond:
            return sum(1 for r in self.records.values() if r.done is None and self._lost(r))
