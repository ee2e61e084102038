"""Which emotion model to serve, and hot reload without a restart.

The registry's active version wins (MODEL_ACTIVE -> its record); with none active, the configured
file (SENTIVIS_EMOTION_WEIGHTS). A registered version is loaded from its bytes in Redis, so a
classifier on any node serves it without a shared disk; only when Redis no longer holds them (an
old version) from its registered path, if this node has that file. Either way the bytes must hash
to the registered sha256. A new candidate is loaded completely before it replaces the served
model, and a candidate that fails to load, is corrupted or breaks the contract is never served:
the old model stays, the error is kept for the heartbeat. A missing file never unloads a working
model.

The configured file is also registered, as the shipped version (idempotent: by content hash,
and never made active), so the page lists it and can roll back to it after a trained model.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import redis

from sentivis import registry, streams
from sentivis.contract import ModelFileError
from sentivis.settings import Settings
from sentivis.stages.classify import EmotionModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    source: str  # "registry" | "file"
    path: str
    version: str | None = None
    sha256: str | None = None  # what the registry recorded; the loaded bytes must match it
    signature: tuple = ()  # changes when the candidate (or its file on disk) changes
    record: dict[str, Any] | None = field(default=None, compare=False)  # the registry's, for "registry"


def _file_signature(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    # A new inode, mtime or size means a new file or new content: worth a (re)load.
    return st.st_ino, st.st_mtime_ns, st.st_size


class ModelWatcher:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.model: EmotionModel | None = None
        self.last_error: str | None = None
        self._tried: tuple | None = None  # signature of the candidate last loaded or refused
        self._offered: tuple | None = None  # signature of the configured file last registered or refused

    def candidate(self, client: redis.Redis) -> Candidate | None:
        record = registry.active_record(client)
        if record is not None:
            path = record["path"]
            return Candidate("registry", path, record["version"], record.get("sha256"),
                             ("registry", record["version"], path, _file_signature(path)), record)
        path = self.settings.emotion_weights
        signature = _file_signature(path)
        if signature is None:
            return None
        return Candidate("file", path, signature=("file", path, signature))

    def poll(self, client: redis.Redis) -> bool:
        """Check for a new model and swap it in; True when the served model changed.

        Raises redis.RedisError when the registry cannot be read (the caller reconnects).
        """
        self.register_configured(client)
        candidate = self.candidate(client)
        if candidate is None or candidate.signature == self._tried:
            return False
        self._tried = candidate.signature
        try:
            model = self._load(client, candidate)
            if candidate.sha256 and model.sha256 != candidate.sha256:
                raise ModelFileError(f"{model.path} does not match the registered version {candidate.version} "
                                     f"(sha256 {model.sha256[:12]}, registered {candidate.sha256[:12]})")
            model.warm_up()  # before it serves: the first faces it classifies are not slower than the rest
        except ModelFileError as exc:
            self.last_error = str(exc)
            log.error("not using the new model (%s): %s", "still serving " + self.model.version
                      if self.model else "no model loaded", exc)
            return False
        previous, self.model, self.last_error = self.model, model, None
        log.info("serving emotion model %s from %s (%s)%s", model.version, model.path, model.source,
                 f", replacing {previous.version}" if previous else "")
        return True

    def _load(self, client: redis.Redis, candidate: Candidate) -> EmotionModel:
        """The candidate as a model: a registered version from its bytes in Redis (else its file,
        when they are gone and this node has it), the configured file from disk. Raises
        ModelFileError; redis.RedisError when Redis cannot be read."""
        options = dict(threads=self.settings.ort_threads, batch=self.settings.classifier_batch,
                       source=candidate.source, version=candidate.version)
        record = candidate.record
        if record is None or not record.get("sha256"):
            return EmotionModel.load(candidate.path, **options)
        try:
            data = registry.model_bytes(client, record)
        except registry.ModelBytesGone as exc:
            if _file_signature(candidate.path) is None:
                raise ModelFileError(f"{exc}, and its file {candidate.path} is not on this node") from None
            return EmotionModel.load(candidate.path, **options)
        return EmotionModel.from_bytes(data, streams.model_bytes_key(record["sha256"]), record.get("card"), **options)

    def register_configured(self, client: redis.Redis) -> None:
        """Register the configured file as the shipped version, once per change of the file.

        Only a file that meets the model contract is offered. Raises redis.RedisError (the next
        poll tries again).
        """
        path = self.settings.emotion_weights
        signature = _file_signature(path)
        if signature is None or signature == self._offered:
            return
        try:
            EmotionModel.load(path, threads=1, batch=1)
        except ModelFileError as exc:
            self._offered = signature
            log.warning("not registering the configured model: %s", exc)
            return
        record = registry.register_model(client, path, {}, activate=False, shipped=True)
        self._offered = signature
        log.info("configured model %s registered as the shipped version %s", path, record["version"])
