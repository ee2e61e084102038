"""The classifier: faces from `{sentivis}:faces` -> emotions -> the gateway's result stream.

A stream worker (sentivis/worker.py) in the "classifiers" group: the faces of every message of
one read go through the classify stage (sentivis/stages/classify.py: the emotion model and each
crop's appearance vector, for the gateway's tracker) in one batch, and every result and the XACK go
in one MULTI/EXEC. Before each read it checks for a new model (classifier/watcher.py)
and swaps it in without a restart.
"""
from __future__ import annotations

import logging
import time
from typing import Any

import msgspec
import numpy as np
import redis

from classifier.watcher import ModelWatcher
from sentivis import redis_io, streams
from sentivis.protocol import EmotionInfo, FrameMessage, decode, unpack_crops
from sentivis.settings import Settings
from sentivis.stages.classify import EmotionModel, classify, not_loaded_info
from sentivis.worker import Entry, StreamWorker

log = logging.getLogger(__name__)


class ClassifierService(StreamWorker):
    service = "classifier"
    stream = streams.FACES
    group = streams.CLASSIFIER_GROUP

    def __init__(self, settings: Settings, consumer: str | None = None):
        super().__init__(settings, consumer)
        self.watcher = ModelWatcher(settings)
        self.processed = 0  # stream messages answered
        self._next_poll = 0.0

    # -- between reads -------------------------------------------------------------
    def connected(self, client: redis.Redis) -> None:
        self._next_poll = 0.0  # check the model at once

    def housekeeping(self, client: redis.Redis) -> None:
        now = time.monotonic()
        if now >= self._next_poll:
            self._next_poll = now + self.settings.model_poll_s
            if self.watcher.poll(client):
                self.beat_now()  # tell the gateway about the new model now

    def model_info(self, model: EmotionModel | None) -> EmotionInfo:
        return model.info() if model else not_loaded_info(self.settings.emotion_weights)

    def heartbeat_info(self) -> dict[str, Any]:
        """"ready": an emotion model is loaded (the replica answers either way); "last_error": why
        the newest candidate model was refused, None after a successful load."""
        model = self.watcher.model
        return {"ready": model is not None, "model": msgspec.to_builtins(self.model_info(model)),
                "processed": self.processed, "last_error": self.watcher.last_error}

    def close(self) -> None:
        log.info("stopped after %d messages", self.processed)

    # -- one batch ---------------------------------------------------------------
    def handle(self, client: redis.Redis, messages: list[Entry]) -> None:
        """Classify the faces of several messages in one model run; answer and ack them together."""
        started = time.time()
        model = self.watcher.model  # one model for the whole batch, even if a reload happens later
        parsed = [(message_id, *self._parse(message_id, fields, started)) for message_id, fields in messages]
        todo = [(message, crops) for _, message, crops in parsed if message is not None and message.error is None]
        if todo:
            try:
                classify(model, [f for message, _ in todo for f in message.faces], np.concatenate([c for _, c in todo]))
            except Exception:
                log.exception("the model failed on a batch of %d faces", sum(len(c) for _, c in todo))
                for message, _ in todo:
                    message.error = "internal_error"
        info = self.model_info(model)
        done = time.time()
        pipe = client.pipeline()  # MULTI: results and acks are applied together
        for _, message, _ in parsed:
            if message is None:
                continue
            message.models.emotion = info
            message.stamps.classify_done = done
            redis_io.send_result(pipe, message, self.settings.stream_maxlen)
        pipe.xack(self.stream, self.group, *[message_id for message_id, _ in messages])
        pipe.execute()
        self.processed += len(messages)

    def _parse(self, message_id: bytes, fields: dict[bytes, bytes],
               started: float) -> tuple[FrameMessage | None, np.ndarray | None]:
        """-> (message, crops). message None: unreadable, only acked. message.error set: answer as is."""
        try:
            message, data = decode(fields)
        except ValueError as exc:
            log.warning("dropping unreadable message %s: %s", message_id, exc)
            return None, None
        message.stamps.classifier_start = started
        if message.error is not None:
            return message, None  # failed upstream; pass the error on
        try:
            return message, unpack_crops(data, len(message.faces))
        except ValueError as exc:
            log.warning("message %s (frame %s): %s", message_id, message.frame_id, exc)
            message.error = "internal_error"
            return message, None
