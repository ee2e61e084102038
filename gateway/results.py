"""Answers in: the gateway's result stream, read by one thread, each result to its frame's sender.

Workers answer on `{sentivis}:results:<gateway id>`, a stream this gateway creates (workers never
do) and keeps alive with an expiry renewed every second, so that a gateway that is gone leaves none
behind for long and a Redis restart that lost it is followed within a second. Each result answers:
  - a one-shot request's image (frames.py), which waits for it;
  - a connection's frame still in flight: the present stage (sentivis/stages/present.py) makes its
    `inference` event (or a `frame_error` for a worker's error), sent to the connection and, when it
    records a session, to the recording.
This is the gateway's thin adapter around the present stage.
"""
from __future__ import annotations

import logging
import time

import redis

from gateway import prometheus
from gateway.admission import Admission
from gateway.background import BackgroundLoop
from gateway.connections import Connection, Connections
from gateway.frames import FrameQueue
from gateway.recording import Recording
from sentivis import redis_io, streams
from sentivis.errors import FRAME_ERRORS
from sentivis.protocol import FrameMessage, Inference, decode, frame_error
from sentivis.settings import Settings
from sentivis.stages.present import present

log = logging.getLogger(__name__)

RESULT_STREAM_TTL_S = 30  # a gateway that is gone leaves no stream behind for long
KEEPALIVE_S = 1.0
READ_BLOCK_MS = 500


class ResultReader(BackgroundLoop):
    """settings: Redis and limits; connections: whose frames are answered; frames: the one-shot
    requests; admission: told of each frame answered; recording: recorded sessions."""

    name = "results-reader"

    def __init__(self, settings: Settings, gateway_id: str, connections: Connections, frames: FrameQueue,
                 admission: Admission, recording: Recording):
        super().__init__()
        self.connections, self.frames, self.admission, self.recording = connections, frames, admission, recording
        self.stream = streams.results_stream(gateway_id)
        self._redis = redis_io.connect(settings)
        self._last_id = b"0-0"  # the stream is this gateway's own: everything in it is for us
        self._next_keepalive = 0.0

    def start(self) -> None:
        try:  # before the first connection: workers drop results for a stream that does not exist
            self.keep_alive()
        except redis.RedisError as exc:
            log.warning("Redis unavailable at start (%s); the result stream is created on reconnect", exc)
        super().start()

    def stop(self) -> None:
        super().stop()
        try:
            self._redis.delete(self.stream)
        except redis.RedisError:
            pass

    def keep_alive(self) -> None:
        """Create the result stream (if a restarted Redis lost it) and renew its expiry."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.xgroup_create(self.stream, "_keepalive", id="$", mkstream=True)
        pipe.expire(self.stream, RESULT_STREAM_TTL_S)
        pipe.execute(raise_on_error=False)
        self._next_keepalive = time.monotonic() + KEEPALIVE_S

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                if failures or time.monotonic() >= self._next_keepalive:
                    self.keep_alive()
                    failures = 0
                reply = self._redis.xread({self.stream: self._last_id}, count=64, block=READ_BLOCK_MS)
            except redis.RedisError as exc:
                failures += 1
                log.warning("results reader: %s", exc)
                self._stop.wait(redis_io.RECONNECT_BACKOFF.compute(failures))
                continue
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    self._last_id = entry_id
                    self.answer(fields)

    def answer(self, fields: dict[bytes, bytes]) -> None:
        """One result: to its one-shot request, or as an event to its connection."""
        try:
            message, _ = decode(fields)
        except ValueError as exc:
            if b"meta" in fields:  # the keepalive group's creation leaves no entry; anything else is a worker's bug
                log.warning("dropping malformed result: %s", exc)
            return
        if message.oneshot:
            self.frames.answer_once(message)
            return
        conn = self.connections.get(message.sid)
        if conn is None:
            return  # the client went away meanwhile
        with conn.lock:
            if conn.in_flight.pop(message.frame_id, None) is None:
                return  # already given up (timeout); the client has its frame_error
            self.admission.done(answered=True)
            if message.error:
                if message.error == "expired":
                    conn.dropped_frames += 1
                    prometheus.frames_dropped.labels("expired").inc()
                event, payload = "frame_error", frame_error(
                    message.frame_id, message.error if message.error in FRAME_ERRORS else "internal_error")
            else:
                try:
                    event, payload = "inference", self._present(conn, message)
                except ValueError as exc:  # a worker's face the tracker cannot use
                    log.warning("frame %s: malformed faces in the result: %s", message.frame_id, exc)
                    event, payload = "frame_error", frame_error(message.frame_id, "internal_error")
        conn.send(event, payload)
        if event == "inference":
            self.recording.record(conn.sid, payload)

    def _present(self, conn: Connection, message: FrameMessage) -> Inference:
        event = present(conn.tracker, message, conn.dropped_frames, time.time())
        prometheus.inferences.inc()
        prometheus.faces_seen.inc(len(event.faces))
        latency = event.latency
        prometheus.server_latency.observe(latency.server_ms / 1000)
        for stage in ("queue_ms", "decode_ms", "detect_ms", "classify_ms"):
            value = getattr(latency, stage)
            if value is not None:
                prometheus.stage_latency.labels(stage[:-3]).observe(value / 1000)
        return event
