"""The emotion-model registry in Redis: which ONNX models exist and which one classifiers serve.

`streams.MODEL_VERSIONS` is a hash version -> JSON record; `streams.MODEL_ACTIVE` holds the
active version; `streams.MODEL_SHIPPED` the version of the model file classifiers are configured
with (SENTIVIS_EMOTION_WEIGHTS, the shipped model by default), which they register themselves.
Classifiers poll the active version and load it without a restart; with none active they
serve their configured file. The trainer registers what it exports and the gateway's REST API
lists and activates versions.

Versions are content-addressed: a version id is the file's stem and the start of its sha256
(`emotion-net-33761054`, the name a classifier gives a file it serves), and registering bytes
that are already registered returns that record instead of adding another.

The model's bytes live in Redis too (`streams.model_bytes_key(sha256)`, written once per
content), so a classifier on any node serves any version without a shared disk. They are kept
for the KEEP_BYTES newest versions, the active and the shipped one (about 3 MB each for an int8
model, 11 MB for a float one): an older version is served only where its file is on disk.

A record (JSON-safe):
    {"version": "emotion-net-1a2b3c4d", "path": "/abs/emotion-net.onnx", "sha256": "...",
     "created_at": 1764054062.5, "metrics": {...}, "card": {...} | None}
`path` is where the file was registered, on the node that registered it.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import redis

from sentivis import streams
from sentivis.contract import ModelFileError
from sentivis.errors import SentivisError

KEEP_BYTES = 10  # newest versions whose bytes stay in Redis, besides the active and the shipped one


class ModelBytesGone(ModelFileError):
    """Redis no longer holds a version's bytes (only KEEP_BYTES versions and the active and the
    shipped one keep them)."""


class UnknownVersion(SentivisError, KeyError):
    """activate() was given a version that was never registered."""

    def __str__(self) -> str:  # KeyError would print the repr of its argument
        return str(self.args[0]) if self.args else "unknown model version"


def card_path(onnx_path: str | Path) -> Path:
    """The model card beside a model file: emotion-net.onnx -> emotion-net.card.json."""
    path = Path(onnx_path)
    return path.with_name(path.stem + ".card.json")


def read_card(onnx_path: str | Path) -> dict[str, Any] | None:
    """The model card as a dict, or None when there is none or it is not valid JSON."""
    try:
        card = json.loads(card_path(onnx_path).read_text())
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def version_id(path: str | Path, sha256: str) -> str:
    """The id of a new version: the file's stem and the first 8 hex digits of its content hash."""
    return f"{Path(path).stem}-{sha256[:8]}"


def find_by_sha256(client: redis.Redis, sha256: str) -> dict[str, Any] | None:
    """The record of these exact bytes, or None when they were never registered."""
    return next((r for r in list_versions(client) if r.get("sha256") == sha256), None)


def register_model(client: redis.Redis, onnx_path: str | Path, metrics: dict[str, Any],
                   activate: bool = True, shipped: bool = False) -> dict[str, Any]:
    """Record a model file, store its bytes in Redis, and return its record.

    onnx_path: the file, which must exist; metrics: JSON-safe figures to show beside it;
    activate: make it the version classifiers serve; shipped: it is the classifiers' configured
    file (MODEL_SHIPPED points at it, activation is left alone). Bytes already registered keep
    their version and creation time: the record takes the new path, card and metrics. The bytes
    of versions beyond the KEEP_BYTES newest (but the active and the shipped one) are dropped.
    """
    path = Path(onnx_path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    records = list_versions(client)
    existing = next((r for r in records if r.get("sha256") == sha256), {})
    record = {"version": existing.get("version") or version_id(path, sha256), "path": str(path),
              "sha256": sha256, "created_at": existing.get("created_at") or time.time(),
              "metrics": {**existing.get("metrics", {}), **metrics},
              "card": read_card(path) or existing.get("card")}
    active, current_shipped = (_decoded(v) for v in client.mget(streams.MODEL_ACTIVE, streams.MODEL_SHIPPED))
    keep = {record["version"], record["version"] if activate else active,
            record["version"] if shipped else current_shipped}
    others = [r for r in records if r.get("version") != record["version"]]
    newest = sorted([record, *others], key=_age, reverse=True)[:KEEP_BYTES]
    keep |= {r["version"] for r in newest}
    pipe = client.pipeline(transaction=True)  # MULTI: the record, its bytes and the pointers change together
    if not client.exists(streams.model_bytes_key(sha256)):  # once per content: ~3 MB over the wire
        pipe.set(streams.model_bytes_key(sha256), data)
    pipe.hset(streams.MODEL_VERSIONS, record["version"], json.dumps(record))
    if activate:
        pipe.set(streams.MODEL_ACTIVE, record["version"])
    if shipped:
        pipe.set(streams.MODEL_SHIPPED, record["version"])
    dropped = [streams.model_bytes_key(r["sha256"]) for r in others if r["version"] not in keep and r.get("sha256")]
    if dropped:
        pipe.delete(*dropped)
    pipe.execute()
    return record


def model_bytes(client: redis.Redis, record: dict[str, Any]) -> bytes:
    """The registered bytes of a version's record, checked against its sha256.

    Raises ModelBytesGone when Redis no longer holds them (an old version: see KEEP_BYTES), and
    ModelFileError when they do not hash to the record's sha256 (corrupted): never serve other bytes.
    """
    key = streams.model_bytes_key(record["sha256"])
    data = client.get(key)
    if data is None:
        raise ModelBytesGone(f"the bytes of model version {record['version']} are no longer in Redis (only the "
                             f"{KEEP_BYTES} newest versions, the active and the shipped one keep them)")
    digest = hashlib.sha256(data).hexdigest()
    if digest != record["sha256"]:
        raise ModelFileError(f"the bytes of model version {record['version']} in Redis ({key}) are corrupted: "
                             f"sha256 {digest[:12]}, registered {record['sha256'][:12]}")
    return data


def activate(client: redis.Redis, version: str) -> dict[str, Any]:
    """Make a registered version the one classifiers serve (the shipped one too: a rollback);
    returns its record.

    Raises UnknownVersion (a KeyError) when the version was never registered.
    """
    raw = client.hget(streams.MODEL_VERSIONS, version)
    if raw is None:
        raise UnknownVersion(f"unknown model version {version!r}")
    client.set(streams.MODEL_ACTIVE, version)
    return json.loads(raw)


def _decoded(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def active_version(client: redis.Redis) -> str | None:
    """The version activated in the registry (None: classifiers serve their configured file)."""
    return _decoded(client.get(streams.MODEL_ACTIVE))


def shipped_version(client: redis.Redis) -> str | None:
    """The version of the classifiers' configured file, once a classifier registered it."""
    return _decoded(client.get(streams.MODEL_SHIPPED))


def served_version(client: redis.Redis) -> str | None:
    """What classifiers serve: the active version, else the shipped one."""
    active, shipped = client.mget(streams.MODEL_ACTIVE, streams.MODEL_SHIPPED)
    return _decoded(active or shipped)


def active_record(client: redis.Redis) -> dict[str, Any] | None:
    """The record of the active version, or None when none is active (or it was removed)."""
    version = active_version(client)
    if version is None:
        return None
    raw = client.hget(streams.MODEL_VERSIONS, version)
    return None if raw is None else json.loads(raw)


def _age(record: dict[str, Any]) -> tuple:
    return record.get("created_at", 0), record.get("version", "")


def list_versions(client: redis.Redis) -> list[dict[str, Any]]:
    """Every registered record, newest first."""
    return sorted((json.loads(raw) for raw in client.hvals(streams.MODEL_VERSIONS)), key=_age, reverse=True)
