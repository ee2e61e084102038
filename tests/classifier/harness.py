"""A classifier service in a thread, and the detector's and gateway's ends of its streams."""
from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import redis

from classifier.service import ClassifierService
from sentivis import redis_io, streams
from sentivis.protocol import Box, DetectorInfo, Face, FrameMessage, Models, decode, pack_crops
from sentivis.settings import Settings
from tests.support.waiting import wait_for
from toolkit.samples import fer_faces

GATEWAY = "gw-test"
_consumers = itertools.count(1)


def real_faces(count: int) -> np.ndarray:
    """`count` (<= 16) real FER-2013 faces, uint8 [count, 48, 48]; one cached read of the CSV."""
    return fer_faces(16, "Training")[0][:count]  # the first rows of the file: a quick read


def service_settings(redis_url: str, weights: Path | str, **overrides) -> Settings:
    values = dict(redis_url=redis_url, emotion_weights=str(weights), model_poll_s=0.1, heartbeat_s=0.2,
                  block_ms=50, consumer_name=f"classifier-test-{next(_consumers)}")
    return Settings(**{**values, **overrides})


class Ends:
    """What the detector writes and what the gateway reads, for one test gateway."""

    def __init__(self, redis_url: str, consumer: str):
        self.client = redis.Redis.from_url(redis_url)
        self.consumer = consumer
        self._last_id = b"0-0"
        self.open_results()

    def open_results(self) -> None:
        # Workers never create a result stream (the gateway does), so the test creates it.
        self.client.xgroup_create(streams.results_stream(GATEWAY), "_keepalive", id="$", mkstream=True)

    def heartbeat(self) -> dict | None:
        raw = self.client.get(streams.heartbeat_key("classifier", self.consumer))
        return None if raw is None else json.loads(raw)

    def wait_heartbeat(self, predicate: Callable[[dict], bool], timeout: float = 20.0) -> dict:
        return wait_for(lambda: (hb := self.heartbeat()) is not None and predicate(hb) and hb, "heartbeat condition",
                        timeout)

    @staticmethod
    def message(frame_id: int, faces: int) -> FrameMessage:
        now = time.time()
        return FrameMessage(
            gateway=GATEWAY, sid="sid-1", frame_id=frame_id, received_at=now, width=320, height=240,
            faces=[Face(Box(10 * i, 5, 48, 48), 0.9) for i in range(faces)],
            stamps={"enqueued_at": now, "detector_start": now, "decode_done": now, "detect_done": now},
            models=Models(detector=DetectorInfo(True, "test-detector")))

    def send(self, *frames: tuple[int, np.ndarray]) -> None:
        """(frame_id, crops) pairs, added in one transaction so one read sees them all."""
        pipe = self.client.pipeline()
        for frame_id, crops in frames:
            redis_io.add(pipe, streams.FACES, self.message(frame_id, len(crops)), pack_crops(list(crops)), 1000)
        pipe.execute()

    def send_raw(self, message: FrameMessage, data: bytes) -> None:
        redis_io.add(self.client, streams.FACES, message, data, 1000)

    def results(self, count: int, timeout: float = 20.0) -> list[FrameMessage]:
        out: list[FrameMessage] = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(out)} of {count} results within {timeout} s")
            reply = self.client.xread({streams.results_stream(GATEWAY): self._last_id}, count=count,
                                      block=max(1, int(min(left, 0.5) * 1000)))
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    self._last_id = entry_id
                    out.append(decode(fields)[0])
        return out

    def pending(self) -> int:
        return self.client.xpending(streams.FACES, streams.CLASSIFIER_GROUP)["pending"]


class ServiceThread:
    def __init__(self, settings: Settings):
        self.service = ClassifierService(settings)
        self.thread = threading.Thread(target=self.service.run, name="classifier", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.service.stop()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the classifier loop did not stop"
