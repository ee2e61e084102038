"""Frames out to the workers: a connection's frame, within its in-flight cap and admission, or the
one image of an HTTP request (`request_once`), whose answer that request waits for.

A connection's frames in flight are its `in_flight` map (frame_id -> when it was received); the
result reader (results.py) takes a frame out of it when its answer comes, the timeouts (timeouts.py)
when none came in time. A one-shot request's image is a FrameMessage marked `oneshot`, under a
request id of its own: its answer goes to the request, never to a connection.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field

import redis

from gateway import prometheus
from gateway.admission import Admission
from gateway.connections import Connection
from gateway.frame_checks import ValidFrame
from sentivis import redis_io, streams
from sentivis.protocol import FrameError, FrameMessage, Stamps, frame_error
from sentivis.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class OneShot:
    """An HTTP request waiting for the answer to its one image."""
    done: threading.Event = field(default_factory=threading.Event)
    result: FrameMessage | None = None


class FrameQueue:
    """settings: the limits; admission: whether the workers can take a frame now; client: Redis for
    requests; gateway_id: where the workers send the answers (this gateway's result stream)."""

    def __init__(self, settings: Settings, admission: Admission, client: redis.Redis, gateway_id: str):
        self.settings = settings
        self.admission = admission
        self.redis = client
        self.gateway_id = gateway_id
        self._waiting: dict[str, OneShot] = {}  # request id -> the request
        self._lock = threading.Lock()

    def submit(self, conn: Connection, frame: ValidFrame) -> FrameError | None:
        """Queue a checked frame of `conn`: None when it is on its way, else its refusal."""
        received_at = time.time()
        with conn.lock:
            if frame.frame_id in conn.in_flight:
                return frame_error(frame.frame_id, "duplicate_frame_id")
            if len(conn.in_flight) >= self.settings.max_in_flight:
                conn.dropped_frames += 1
                prometheus.frames_dropped.labels("in_flight_cap").inc()
                return frame_error(frame.frame_id, "too_many_in_flight")
            if not self.admission.admit(conn.sid):  # refused before it costs Redis or a worker anything
                conn.dropped_frames += 1
                prometheus.frames_dropped.labels("overloaded").inc()
                return frame_error(frame.frame_id, "overloaded")
            conn.in_flight[frame.frame_id] = received_at
        message = FrameMessage(self.gateway_id, conn.sid, frame.frame_id, received_at, frame.width, frame.height,
                               stamps=Stamps(enqueued_at=time.time()))
        try:
            redis_io.add(self.redis, streams.FRAMES, message, frame.jpeg, self.settings.stream_maxlen)
        except redis.RedisError as exc:
            log.warning("cannot queue frame: %s", exc)
            with conn.lock:
                conn.in_flight.pop(frame.frame_id, None)
            self.admission.done()
            return frame_error(frame.frame_id, "unavailable")
        return None

    def forget(self, conn: Connection) -> None:
        """On disconnect: its frames in flight no longer count."""
        with conn.lock:
            self.admission.done(len(conn.in_flight))
            conn.in_flight.clear()
        self.admission.forget(conn.sid)

    def request_once(self, jpeg: bytes, width: int, height: int, timeout_s: float) -> FrameMessage | None:
        """Queue one image outside any connection and wait for its answer: the worker's message (its
        `error` may be set), or None when none came within timeout_s. Raises redis.RedisError when the
        image cannot be queued."""
        request = uuid.uuid4().hex
        waiter = OneShot()
        with self._lock:
            self._waiting[request] = waiter
        try:
            now = time.time()
            message = FrameMessage(self.gateway_id, request, 0, now, width, height, stamps=Stamps(enqueued_at=now),
                                   oneshot=True)
            redis_io.add(self.redis, streams.FRAMES, message, jpeg, self.settings.stream_maxlen)
            waiter.done.wait(timeout_s)
            return waiter.result
        finally:
            with self._lock:
                self._waiting.pop(request, None)  # a late answer then finds no one and is dropped

    def answer_once(self, message: FrameMessage) -> None:
        """A one-shot request's answer (results.py): to the request, if it still waits."""
        with self._lock:
            waiter = self._waiting.pop(message.sid, None)
        if waiter is not None:
            waiter.result = message
            waiter.done.set()
