"""Admission's view of the workers (gateway/admission.py), sampled every 100 ms, never per frame:
every gateway's frames waiting or in work in the work streams (consumer-group lag + pending of the
frames and faces streams) and how many the detectors have read, in one pipelined round trip."""
from __future__ import annotations

from typing import Any

import redis

from gateway.admission import Admission, Backlog
from gateway.background import BackgroundLoop
from sentivis import redis_io, streams
from sentivis.settings import Settings

SAMPLE_EVERY_S = 0.1


def streams_backlog(client: redis.Redis) -> Backlog | None:
    """One sample of the work streams; None when Redis cannot be asked."""
    pipe = client.pipeline(transaction=False)
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


class BacklogSampler(BackgroundLoop):
    """Feeds `admission` a sample every SAMPLE_EVERY_S (when admission is on)."""

    name = "backlog-sampler"

    def __init__(self, settings: Settings, admission: Admission):
        super().__init__()
        self.admission = admission
        self._redis = redis_io.connect(settings)

    def start(self) -> None:
        if not self.admission.enabled:
            return
        super().start()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.admission.observe(streams_backlog(self._redis))
