"""The detector: frames from `{sentivis}:frames` -> faces to `{sentivis}:faces` (or a result).

A stream worker (sentivis/worker.py) in the "detectors" group. Each frame is decoded, searched
for faces and cropped by the detect stage (sentivis/stages/detect.py), each entry decoded once; the outcomes of
one read are written on with their XACK in one MULTI/EXEC (one round trip per read, not per
frame): faces go to the classifiers, a frame without faces (or one that failed) goes straight
back to its gateway.
"""
from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import msgspec
import redis

from sentivis import protocol, redis_io, streams
from sentivis.protocol import FrameMessage
from sentivis.settings import Settings
from sentivis.stages.detect import DecodeError, FaceDetector, decode, detect
from sentivis.warmup import face_jpeg
from sentivis.worker import Entry, StreamWorker

log = logging.getLogger("detector")


@dataclass
class Counters:
    processed: int = 0  # frames decoded and searched for faces
    expired: int = 0
    failed: int = 0  # decode_failed, internal_error and malformed entries


class DetectorService(StreamWorker):
    service = "detector"
    stream = streams.FRAMES
    group = streams.DETECTOR_GROUP

    def __init__(self, settings: Settings, detector: FaceDetector | None = None, consumer: str | None = None):
        super().__init__(settings, consumer)
        self.detector = detector or FaceDetector.from_settings(settings)  # also what heartbeats describe
        # MediaPipe releases the GIL while it detects, so a batch of frames is spread over
        # detector_threads threads, each with its own graph (a graph is not thread-safe).
        threads = max(1, settings.detector_threads)
        self._graphs: queue.SimpleQueue[FaceDetector] = queue.SimpleQueue()
        self._graphs.put(self.detector)
        for _ in range(threads - 1):
            self._graphs.put(FaceDetector.from_settings(settings))
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="detect") if threads > 1 else None
        self.counters = Counters()
        self._counters_lock = threading.Lock()

    def warm_up(self) -> None:
        """The warm-up frame decoded, searched and cropped on every graph (each thread has its own)."""
        s = self.settings
        rgb = decode(face_jpeg(), max_pixels=s.max_frame_pixels)
        graphs = [self._graphs.get() for _ in range(max(1, s.detector_threads))]
        try:
            for graph in graphs:
                faces, _ = detect(graph, rgb, s.face_margin, s.face_shift)
                if not faces:
                    log.warning("the warm-up frame's face was not found (detector_min_score %s)", s.detector_min_score)
        finally:
            for graph in graphs:
                self._graphs.put(graph)

    def heartbeat_info(self) -> dict[str, Any]:
        c = self.counters
        return {"ready": True, "model": msgspec.to_builtins(self.detector.info()), "processed": c.processed,
                "expired": c.expired, "failed": c.failed}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        while not self._graphs.empty():
            self._graphs.get().close()
        log.info("stopped after %d frames (%d expired, %d failed)", self.counters.processed,
                 self.counters.expired, self.counters.failed)

    def _count(self, counter: str) -> None:
        with self._counters_lock:
            setattr(self.counters, counter, getattr(self.counters, counter) + 1)

    # --- one batch ------------------------------------------------------------------------
    def handle(self, client: redis.Redis, entries: list[Entry]) -> None:
        """Decode every entry of one read once, process the frames (on the thread pool when there
        are several), then write every outcome and acknowledge every entry in one transaction;
        raises only for Redis errors (then nothing of the batch is written and every entry stays
        pending)."""
        decoded = [(entry_id, *self._decode(entry_id, fields)) for entry_id, fields in entries]
        newest = newest_per_connection(decoded)
        work = [(message, data, entry_id not in newest) for entry_id, message, data in decoded if message is not None]
        if self._pool is None or len(work) < 2:
            crops = [self.outcome(*item) for item in work]
        else:
            crops = [future.result() for future in [self._pool.submit(self.outcome, *item) for item in work]]
        outcomes = [(message, c) for (message, _, _), c in zip(work, crops, strict=True)]
        self._publish(client, [entry_id for entry_id, _, _ in decoded], outcomes)

    def _decode(self, entry_id: bytes, fields: dict[bytes, bytes]) -> tuple[FrameMessage | None, bytes]:
        try:
            return protocol.decode(fields)
        except ValueError as exc:
            log.warning("entry %s is malformed, skipped: %s", entry_id.decode(), exc)
            self._count("failed")
            return None, b""

    def outcome(self, message: FrameMessage, data: bytes, superseded: bool = False) -> bytes:
        """One frame processed: the message filled in (stamps, faces, models or error) -> its crops.
        Never raises: a frame that fails is answered internal_error. `superseded`: a newer frame of
        the same connection is waiting behind this one."""
        try:
            return self.process(message, data, superseded)
        except Exception:  # noqa: BLE001 - one bad frame must never stop the service
            log.exception("frame %s of %s/%s failed", message.frame_id, message.gateway, message.sid)
            message.error = "internal_error"
            message.faces = []
            return b""

    def process(self, message: FrameMessage, data: bytes, superseded: bool = False) -> bytes:
        """The detect stage for one frame (sentivis.stages.detect), within the age limits."""
        s = self.settings
        message.stamps.detector_start = protocol.now()
        message.models.detector = self.detector.info()
        age_ms = (message.stamps.detector_start - message.received_at) * 1000
        if superseded and age_ms > s.superseded_after_ms:
            # Under overload a connection's frames queue up; its newest one is the one worth the
            # time. Dropping the older ones keeps the latency bounded (measured in benchmarks/).
            message.error = "expired"
            self._count("expired")
            return b""
        if age_ms > s.max_frame_age_ms:
            message.error = "expired"
            self._count("expired")
            log.info("frame %s of %s/%s expired after %.0f ms", message.frame_id, message.gateway, message.sid,
                     age_ms)
            return b""
        try:
            rgb = decode(data, max_pixels=s.max_frame_pixels)
        except DecodeError as exc:
            message.error = "decode_failed"
            self._count("failed")
            log.info("frame %s of %s/%s: %s (%d bytes)", message.frame_id, message.gateway, message.sid,
                     exc, len(data))
            return b""
        message.stamps.decode_done = protocol.now()
        message.height, message.width = rgb.shape[:2]
        graph = self._graphs.get()  # never waits: there are as many graphs as threads
        try:
            message.faces, crops = detect(graph, rgb, s.face_margin, s.face_shift)
        finally:
            self._graphs.put(graph)
        message.stamps.detect_done = protocol.now()  # detect_ms covers detection and cropping
        self._count("processed")
        return protocol.pack_crops(crops)

    def _publish(self, client: redis.Redis, entry_ids: list[bytes], outcomes: list[tuple[FrameMessage, bytes]]) -> None:
        """Faces on to the classifiers, a frame without any (or failed) straight back to its gateway;
        every entry of the read acknowledged in the same MULTI/EXEC."""
        s = self.settings
        pipe = client.pipeline(transaction=True)
        for message, crops in outcomes:
            if message.faces and message.error is None:
                redis_io.add(pipe, streams.FACES, message, crops, s.stream_maxlen)
            else:
                redis_io.send_result(pipe, message, s.stream_maxlen)
        pipe.xack(self.stream, self.group, *entry_ids)
        pipe.execute()


def newest_per_connection(decoded: list[tuple[bytes, FrameMessage | None, bytes]]) -> set[bytes]:
    """The ids of the entries that are the newest of their connection (gateway, sid) in a batch:
    stream ids grow with time, so the last one of a connection is its newest."""
    newest = {(m.gateway, m.sid): entry_id for entry_id, m, _ in decoded if m is not None}
    return set(newest.values())
