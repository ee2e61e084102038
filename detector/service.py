"""The detector loop: frames from `sentivis:frames` -> faces to `sentivis:faces` (or a result).

One consumer in the "detectors" group. Every message is acknowledged exactly when its outcome
is written, in the same MULTI/EXEC pipeline, so a detector that dies mid-frame leaves the frame
pending for another replica to claim, and one that finishes never leaves it twice.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

import msgpack
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
        self.stopping = threading.Event()
        self._client: redis.Redis | None = None
        self._next_beat = 0.0
        self._next_claim = 0.0

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
                self._handle_batch(self._read())
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
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        while not self._graphs.empty():
            self._graphs.get().close()
        log.info("stopped after %d frames (%d expired, %d failed)", self.counters.processed,
                 self.counters.expired, self.counters.failed)

    def _drop_client(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close; nothing to do
                pass
            self._client = None

    def _read(self) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """New frames, and twice per claim_idle_ms first any frames a dead consumer left pending.

        Claiming before every read cost one more Redis round trip per frame (profiled: ~0.5 ms
        of wall time and 0.1 ms of CPU each on the 2-core machine); a pending frame only becomes
        claimable after claim_idle_ms anyway, so looking twice per that interval loses nothing.
        """
        s = self.settings
        now = time.monotonic()
        if now >= self._next_claim:
            self._next_claim = now + s.claim_idle_ms / 2000
            claimed = self._client.xautoclaim(streams.FRAMES, streams.DETECTOR_GROUP, self.name,
                                              min_idle_time=s.claim_idle_ms, start_id="0-0", count=s.read_count)
            messages = [m for m in claimed[1] if m[1]]  # [next_id, messages, deleted_ids] on Redis 7
            if messages:
                self._next_claim = now  # there may be more
                return messages
        reply = self._client.xreadgroup(streams.DETECTOR_GROUP, self.name, {streams.FRAMES: ">"},
                                        count=s.read_count, block=s.block_ms)
        return reply[0][1] if reply else []

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

    def _handle_batch(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Handle every entry of one read, on the thread pool when there is more than one."""
        newest = newest_per_connection(entries)
        if self._pool is None or len(entries) < 2:
            for entry_id, fields in entries:
                self.handle(entry_id, fields, superseded=entry_id not in newest)
            return
        futures = [self._pool.submit(self.handle, entry_id, fields, entry_id not in newest)
                   for entry_id, fields in entries]
        wait(futures)  # all done before a Redis error drops the shared client
        for future in futures:
            future.result()  # re-raises a Redis error: the loop reconnects; unacked frames stay pending

    def _count(self, counter: str) -> None:
        with self._counters_lock:
            setattr(self.counters, counter, getattr(self.counters, counter) + 1)

    # --- one message ----------------------------------------------------------------------
    def handle(self, entry_id: bytes, fields: dict[bytes, bytes], superseded: bool = False) -> None:
        """Process one stream entry and acknowledge it; raises only for Redis errors.

        `superseded`: a newer frame of the same connection is waiting behind this one."""
        try:
            message, data = protocol.decode(fields)
        except ValueError as exc:
            log.warning("entry %s is malformed, skipped: %s", entry_id.decode(), exc)
            self._count("failed")
            self._client.xack(streams.FRAMES, streams.DETECTOR_GROUP, entry_id)
            return
        try:
            data_out = self.process(message, data, superseded)
        except redis.RedisError:
            raise
        except Exception:  # noqa: BLE001 - one bad frame must never stop the service
            log.exception("frame %s of %s/%s failed", message.frame_id, message.gateway, message.sid)
            message.error = "internal_error"
            message.faces = []
            data_out = b""
        self._publish(entry_id, message, data_out)

    def process(self, message: protocol.FrameMessage, data: bytes, superseded: bool = False) -> bytes:
        """Fill in the message (stamps, faces, models, error); returns the crops to send."""
        s = self.settings
        message.stamp("detector_start")
        message.models[SERVICE] = self.detector.info()
        age_ms = (message.stamps["detector_start"] - message.received_at) * 1000
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
            rgb = decode_jpeg(data, max_pixels=s.max_frame_pixels)
        except DecodeError as exc:
            message.error = "decode_failed"
            self._count("failed")
            log.info("frame %s of %s/%s: %s (%d bytes)", message.frame_id, message.gateway, message.sid,
                     exc, len(data))
            return b""
        message.stamp("decode_done")
        message.height, message.width = rgb.shape[:2]
        graph = self._graphs.get()  # never waits: there are as many graphs as threads
        try:
            detections = graph.detect(rgb)
        finally:
            self._graphs.put(graph)
        crops = crop_faces(rgb, detections, s.face_margin, s.face_shift)
        message.stamp("detect_done")  # detect_ms covers detection and cropping
        message.faces = [{"box": d.box, "score": round(d.score, 4), "emotion": None} for d in detections]
        self._count("processed")
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


def newest_per_connection(entries: list[tuple[bytes, dict[bytes, bytes]]]) -> set[bytes]:
    """The ids of the entries that are the newest of their connection (gateway, sid) in a batch.

    Stream ids grow with time, so the last entry of a connection in the batch is its newest. An
    entry whose meta cannot be read counts as newest: handle() reports it as malformed.
    """
    newest: dict[tuple, bytes] = {}
    for entry_id, fields in entries:
        try:
            meta = msgpack.unpackb(fields[b"meta"], raw=False)
            key = (meta["gateway"], meta["sid"])
            hash(key)
        except Exception:  # noqa: BLE001 - any unreadable meta: left to handle()
            key = ("", entry_id)
        newest[key] = entry_id
    return set(newest.values())
