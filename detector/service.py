"""The detector loop: frames from `sentivis:frames` -> faces to `sentivis:faces` (or a result).

One consumer in the "detectors" group. Every message is acknowledged exactly when its outcome
is written, in the same MULTI/EXEC pipeline, so a detector that dies mid-frame leaves the frame
pending for another replica to claim, and one that finishes never leaves it twice.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

import redis

from sentivis import protocol, redis_io, streams
from sentivis.settings import Settings, consumer_name

from detector.faces import DecodeError, FaceDetector, crop_faces, decode_jpeg

log = logging.getLogger("detector")

SERVICE = "detector"


@dataclass
class Counters:
    processed: int = 0  # frames decoded and searched for faces
    expired: int = 0
    failed: int = 0  # decode_failed, internal_error and malformed entries


class DetectorService:
    def __init__(self, settings: Settings, detector: FaceDetector | None = None):
        self.settings = settings
        self.name = consumer_name(settings, SERVICE)
        self.detector = detector or FaceDetector.from_settings(settings)
        self.counters = Counters()
        self.stopping = threading.Event()
        self._client: redis.Redis | None = None
        self._next_beat = 0.0

    def stop(self) -> None:
        self.stopping.set()

    # --- the loop -------------------------------------------------------------------------
    def run(self) -> None:
        s = self.settings
        log.info("consumer %s on %s (group %s), model %s, min score %.2f", self.name, streams.FRAMES,
                 streams.DETECTOR_GROUP, self.detector.name, self.detector.min_score)
        backoff = None
        while not self.stopping.is_set():
            try:
                if self._client is None:
                    self._client = redis_io.connect(s.redis_url)
                    redis_io.ensure_group(self._client, streams.FRAMES, streams.DETECTOR_GROUP)
                self._heartbeat_if_due()
                entries = redis_io.read_group(self._client, streams.FRAMES, streams.DETECTOR_GROUP, self.name,
                                              s.read_count, s.block_ms, s.claim_idle_ms)
                for entry_id, fields in entries:
                    self.handle(entry_id, fields)
                    self._heartbeat_if_due()
                backoff = None
            except redis.RedisError as exc:
                # A frame being handled stays pending; this consumer (or another) claims it later.
                # A fresh connection also re-creates the group, which a restarted Redis has lost.
                if not isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
                    log.warning("redis error: %s", exc)
                self._drop_client()
                backoff = backoff or redis_io.retry_forever(SERVICE)
                next(backoff)
        self._shutdown()

    def _shutdown(self) -> None:
        if self._client is not None:
            try:  # leave no stale heartbeat: the gateway's readiness should see us gone at once
                self._client.delete(streams.heartbeat_key(SERVICE, self.name))
            except redis.RedisError:
                pass
        self._drop_client()
        self.detector.close()
        log.info("stopped after %d frames (%d expired, %d failed)", self.counters.processed,
                 self.counters.expired, self.counters.failed)

    def _drop_client(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close; nothing to do
                pass
            self._client = None

    def _heartbeat_if_due(self) -> None:
        now = time.monotonic()
        if now < self._next_beat:
            return
        s = self.settings
        redis_io.heartbeat(self._client, SERVICE, self.name, {
            "service": SERVICE, "consumer": self.name, "ready": True, "model": self.detector.info(),
            "processed": self.counters.processed, "expired": self.counters.expired,
            "failed": self.counters.failed, "pid": os.getpid()}, ttl_s=3 * s.heartbeat_s)
        self._next_beat = now + s.heartbeat_s

    # --- one message ----------------------------------------------------------------------
    def handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        """Process one stream entry and acknowledge it; raises only for Redis errors."""
        try:
            message, data = protocol.decode(fields)
        except ValueError as exc:
            log.warning("entry %s is malformed, skipped: %s", entry_id.decode(), exc)
            self.counters.failed += 1
            self._client.xack(streams.FRAMES, streams.DETECTOR_GROUP, entry_id)
            return
        try:
            data_out = self.process(message, data)
        except redis.RedisError:
            raise
        except Exception:  # noqa: BLE001 - one bad frame must never stop the service
            log.exception("frame %s of %s/%s failed", message.frame_id, message.gateway, message.sid)
            message.error = "internal_error"
            message.faces = []
            data_out = b""
        self._publish(entry_id, message, data_out)

    def process(self, message: protocol.FrameMessage, data: bytes) -> bytes:
        """Fill in the message (stamps, faces, models, error); returns the crops to send."""
        s = self.settings
        message.stamp("detector_start")
        message.models[SERVICE] = self.detector.info()
        age_ms = (message.stamps["detector_start"] - message.received_at) * 1000
        if age_ms > s.max_frame_age_ms:
            message.error = "expired"
            self.counters.expired += 1
            log.info("frame %s of %s/%s expired after %.0f ms", message.frame_id, message.gateway, message.sid,
                     age_ms)
            return b""
        try:
            rgb = decode_jpeg(data, max_pixels=s.max_frame_pixels)
        except DecodeError as exc:
            message.error = "decode_failed"
            self.counters.failed += 1
            log.info("frame %s of %s/%s: %s (%d bytes)", message.frame_id, message.gateway, message.sid,
                     exc, len(data))
            return b""
        message.stamp("decode_done")
        message.height, message.width = rgb.shape[:2]
        detections = self.detector.detect(rgb)
        crops = crop_faces(rgb, detections, s.face_margin, s.face_shift)
        message.stamp("detect_done")  # detect_ms covers detection and cropping
        message.faces = [{"box": d.box, "score": round(d.score, 4), "emotion": None} for d in detections]
        self.counters.processed += 1
        return protocol.pack_crops(crops)

    def _publish(self, entry_id: bytes, message: protocol.FrameMessage, crops: bytes) -> None:
        s = self.settings
        pipe = self._client.pipeline(transaction=True)
        if message.faces and message.error is None:
            redis_io.add(pipe, streams.FACES, message, crops, s.stream_maxlen)
        else:
            redis_io.send_result(pipe, message, s.stream_maxlen)
        pipe.xack(streams.FRAMES, streams.DETECTOR_GROUP, entry_id)
        pipe.execute()
