"""The result broker: frames go to the workers' stream, their results come back as events.

`ResultBroker` owns the gateway's result stream. `submit` queues a checked frame within the
connection's in-flight cap; one reader thread turns results into `inference`/`frame_error`
events for the connection that sent the frame; one sweeper thread times out frames whose result
never came (a dead worker, a lost Redis), so no connection waits forever and its in-flight slots
come back. `analyze_once` serves one-shot requests (HTTP): it queues one image under a private
sid and waits for that result.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import redis

from gateway import prometheus
from gateway.admission import Admission, Backlog
from gateway.connections import Connection, Connections
from gateway.frame_checks import ValidFrame
from gateway.recording import Recording
from sentivis import redis_io, streams
from sentivis.protocol import ERROR_CODES, FrameMessage, decode, latency_ms
from sentivis.settings import Settings
from sentivis.tracking import PersonTracker

log = logging.getLogger(__name__)

RESULT_STREAM_TTL_S = 30  # a gateway that is gone leaves no stream behind for long


@dataclass
class OneShot:
    """An HTTP request waiting for the result of its one image."""
    done: threading.Event = field(default_factory=threading.Event)
    result: FrameMessage | None = None


@dataclass
class Submitted:
    accepted: bool
    error: dict[str, Any] | None = None


def frame_error(frame_id: int | None, code: str, message: str | None = None) -> dict[str, Any]:
    return {"frame_id": frame_id, "code": code, "message": message or ERROR_CODES[code]}


def tracked_faces(tracker: PersonTracker, message: FrameMessage) -> list[dict[str, Any]]:
    """A worker's faces with the ids and smoothed emotions of the tracker's people, without their
    appearance vectors (the tracker's alone: the browser never gets them). The clock is the
    gateway's receive time of the frame. Raises ValueError for a malformed face."""
    return tracker.update(message.faces, timestamp_ms=message.received_at * 1000.0)


def inference_event(message: FrameMessage, faces: list[dict[str, Any]], dropped_frames: int) -> dict[str, Any]:
    """The `inference` payload for a worker's result and its tracked faces."""
    models = dict(message.models)
    models.setdefault("emotion", {"ready": False, "version": None})
    return {"frame_id": message.frame_id, "width": message.width, "height": message.height,
            "faces": faces, "models": models, "latency": latency_ms(message, time.time()),
            "dropped_frames": dropped_frames}


class ResultBroker:
    """settings: limits and Redis URL; connections: the open browser connections (each sends its own
    events); recording: recorded sessions; client: the Redis connection for requests (default: a new
    one); gateway_id: names this gateway's result stream (default: a new random one)."""

    def __init__(self, settings: Settings, connections: Connections, recording: Recording,
                 client: redis.Redis | None = None, gateway_id: str | None = None):
        self.settings = settings
        self.connections = connections
        self.recording = recording  # each inference of a connection that records (a no-op for the others)
        self.gateway_id = gateway_id or uuid.uuid4().hex[:12]
        self.result_stream = streams.results_stream(self.gateway_id)
        self.redis = client or redis_io.connect(settings)
        self._reader_redis = redis_io.connect(settings)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_id = b"0-0"  # the stream is this process's own, so everything in it is for us
        self._one_shots: dict[str, OneShot] = {}  # sid -> waiting HTTP request
        self._one_shots_lock = threading.Lock()
        self.admission = Admission(settings.admission_wait_ms, settings.admission_min_frames)
        prometheus.watch_admission(self.admission)

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        try:  # before the first connection: workers drop results for a stream that does not exist
            self._keep_result_stream()
        except redis.RedisError as exc:
            log.warning("Redis unavailable at start (%s); the result stream is created on reconnect", exc)
        for target, name in ((self._read_results, "results-reader"), (self._sweep, "in-flight-sweeper")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        try:
            self.redis.delete(self.result_stream)
        except redis.RedisError:
            pass

    def _keep_result_stream(self) -> None:
        """Create the result stream (workers never create it) and keep its expiry fresh."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.xgroup_create(self.result_stream, "_keepalive", id="$", mkstream=True)
        pipe.expire(self.result_stream, RESULT_STREAM_TTL_S)
        pipe.execute(raise_on_error=False)

    # -- frames in -------------------------------------------------------------
    def submit(self, conn: Connection, frame: ValidFrame) -> Submitted:
        received_at = time.time()
        with conn.lock:
            if frame.frame_id in conn.in_flight:
                return Submitted(False, frame_error(frame.frame_id, "duplicate_frame_id"))
            if len(conn.in_flight) >= self.settings.max_in_flight:
                conn.dropped_frames += 1
                prometheus.frames_dropped.labels("in_flight_cap").inc()
                return Submitted(False, frame_error(frame.frame_id, "too_many_in_flight"))
            if not self.admission.admit(conn.sid):  # refused before it costs Redis or a worker anything
                conn.dropped_frames += 1
                prometheus.frames_dropped.labels("overloaded").inc()
                return Submitted(False, frame_error(frame.frame_id, "overloaded"))
            conn.in_flight[frame.frame_id] = received_at
        message = FrameMessage(gateway=self.gateway_id, sid=conn.sid, frame_id=frame.frame_id,
                               received_at=received_at, width=frame.width, height=frame.height)
        message.stamp("enqueued_at")
        try:
            redis_io.add(self.redis, streams.FRAMES, message, frame.jpeg, self.settings.stream_maxlen)
        except redis.RedisError as exc:
            log.warning("cannot queue frame: %s", exc)
            with conn.lock:
                conn.in_flight.pop(frame.frame_id, None)
            self.admission.done()
            return Submitted(False, frame_error(frame.frame_id, "unavailable"))
        return Submitted(True)

    def analyze_once(self, jpeg: bytes, width: int, height: int, timeout_s: float) -> FrameMessage | None:
        """Queue one image outside any connection and wait for its result.

        Returns the worker's message (its `error` may be set), or None when nothing came back
        within timeout_s. Raises redis.RedisError when the image cannot be queued.
        """
        sid = f"oneshot:{uuid.uuid4().hex}"  # never a Socket.IO sid, so no connection claims it
        waiter = OneShot()
        with self._one_shots_lock:
            self._one_shots[sid] = waiter
        try:
            message = FrameMessage(gateway=self.gateway_id, sid=sid, frame_id=0, received_at=time.time(),
                                   width=width, height=height)
            message.stamp("enqueued_at")
            redis_io.add(self.redis, streams.FRAMES, message, jpeg, self.settings.stream_maxlen)
            waiter.done.wait(timeout_s)
            return waiter.result
        finally:
            with self._one_shots_lock:
                self._one_shots.pop(sid, None)  # a late result then finds no one and is dropped

    # -- results out -----------------------------------------------------------
    def _read_results(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                if failures:
                    self._keep_result_stream()
                    failures = 0
                reply = self._reader_redis.xread({self.result_stream: self._last_id}, count=64, block=500)
            except redis.RedisError as exc:
                failures += 1
                log.warning("results reader: %s", exc)
                self._stop.wait(redis_io.RECONNECT_BACKOFF.compute(failures))
                continue
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    self._last_id = entry_id
                    self._handle_result(fields)

    def _handle_result(self, fields: dict[bytes, bytes]) -> None:
        try:
            message, _ = decode(fields)
        except ValueError as exc:
            if b"meta" in fields:
                log.warning("dropping malformed result: %s", exc)
            return
        with self._one_shots_lock:
            waiter = self._one_shots.pop(message.sid, None)
        if waiter is not None:
            waiter.result = message
            waiter.done.set()
            return
        conn = self.connections.get(message.sid)
        if conn is None:
            return  # the browser went away meanwhile
        with conn.lock:
            if conn.in_flight.pop(message.frame_id, None) is None:
                return  # already given up (timeout); the client has its frame_error
            self.admission.done(answered=True)
            if message.error:
                if message.error == "expired":
                    conn.dropped_frames += 1
                    prometheus.frames_dropped.labels("expired").inc()
                payload = frame_error(message.frame_id, message.error if message.error in ERROR_CODES else "internal_error")
                event = "frame_error"
            else:
                try:
                    event, payload = "inference", self._inference(conn, message)
                except ValueError as exc:  # a worker's face the tracker cannot read
                    log.warning("frame %s: malformed faces in the result: %s", message.frame_id, exc)
                    event, payload = "frame_error", frame_error(message.frame_id, "internal_error")
        conn.send(event, payload)
        if event == "inference":
            self.recording.record(conn.sid, payload)

    def _inference(self, conn: Connection, message: FrameMessage) -> dict[str, Any]:
        event = inference_event(message, tracked_faces(conn.tracker, message), conn.dropped_frames)
        latency = event["latency"]
        prometheus.inferences.inc()
        prometheus.faces_seen.inc(len(event["faces"]))
        prometheus.server_latency.observe(latency["server_ms"] / 1000)
        for stage in ("queue_ms", "decode_ms", "detect_ms", "classify_ms"):
            if stage in latency:
                prometheus.stage_latency.labels(stage[:-3]).observe(latency[stage] / 1000)
        return event

    # -- lost frames -------------------------------------------------------------
    def _sweep(self) -> None:
        timeout_s = self.settings.frame_timeout_ms / 1000
        next_keepalive = 0.0
        while not self._stop.wait(0.1):
            now = time.time()
            if now >= next_keepalive:  # every second: soon back after a Redis restart lost the stream
                next_keepalive = now + 1.0
                try:
                    self._keep_result_stream()
                except redis.RedisError:
                    pass  # the reader logs the outage and backs off
            if self.admission.enabled:
                self.admission.observe(self._streams_backlog())
            for conn in self.connections.all():
                with conn.lock:
                    late = [fid for fid, t in conn.in_flight.items() if now - t > timeout_s]
                    for fid in late:
                        del conn.in_flight[fid]
                        conn.dropped_frames += 1
                if late:
                    self.admission.done(len(late))
                    prometheus.frames_dropped.labels("timeout").inc(len(late))
                for fid in late:
                    conn.send("frame_error", frame_error(fid, "timeout"))

    def _streams_backlog(self) -> Backlog | None:
        """Every gateway's frames waiting or in work in the work streams, and how many the detectors
        have read (one pipelined round trip, every 100 ms); None when Redis cannot be asked."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.xinfo_groups(streams.FRAMES)
        pipe.xinfo_groups(streams.FACES)
        try:
            replies = pipe.execute(raise_on_error=False)  # a stream no worker has created yet is an error
        except redis.RedisError:
            return None

        def group(reply: Any, name: str) -> dict[str, Any]:
            if isinstance(reply, Exception):
                return {}
            return next((g for g in reply if g.get("name") in (name, name.encode())), {})

        detectors, classifiers = group(replies[0], streams.DETECTOR_GROUP), group(replies[1], streams.CLASSIFIER_GROUP)
        waiting = sum((g.get("lag") or 0) + (g.get("pending") or 0) for g in (detectors, classifiers))
        return Backlog(waiting, detectors.get("entries-read"))

    def forget(self, conn: Connection) -> None:
        """On disconnect: its frames in flight no longer count."""
        with conn.lock:
            self.admission.done(len(conn.in_flight))
            conn.in_flight.clear()
        self.admission.forget(conn.sid)
