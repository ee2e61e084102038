"""The emotion-model registry in Redis: which ONNX files exist and which one classifiers serve.

`streams.MODEL_VERSIONS` is a hash version -> JSON record; `streams.MODEL_ACTIVE` holds the
active version. Classifiers poll the active version and load its file without a restart; the
trainer registers what it exports and the gateway's REST API lists and activates versions.

A record:
    {"version": "20261125T070102Z-1a2b3c4d", "path": "/abs/emotion-net.onnx",
     "sha256": "...", "created_at": 1764054062.5, "metrics": {...}, "card": {...} | None}
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import redis

from sentivis import streams


class UnknownVersion(KeyError):
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


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def register_model(client: redis.Redis, onnx_path: str | Path, metrics: dict[str, Any],
                   activate: bool = True) -> dict[str, Any]:
    """Record an exported model file (and make it the active one unless activate=False).

    The file must exist; it is identified by its content hash, so classifiers can tell a
    replaced file from the registered one. Returns the record.
    """
    path = Path(onnx_path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    sha256 = file_sha256(path)
    created_at = time.time()
    version = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(created_at)) + "-" + sha256[:8]
    record = {"version": version, "path": str(path), "sha256": sha256, "created_at": created_at,
              "metrics": dict(metrics), "card": read_card(path)}
    pipe = client.pipeline()  # MULTI: the record and the active pointer change together
    pipe.hset(streams.MODEL_VERSIONS, version, json.dumps(record))
    if activate:
        pipe.set(streams.MODEL_ACTIVE, version)
    pipe.execute()
    return record


def activate(client: redis.Redis, version: str) -> dict[str, Any]:
    """Make a registered version the one classifiers serve; returns its record.

    Raises UnknownVersion (a KeyError) when the version was never registered.
    """
    raw = client.hget(streams.MODEL_VERSIONS, version)
    if raw is None:
        raise UnknownVersion(f"unknown model version {version!r}")
    client.set(streams.MODEL_ACTIVE, version)
    return json.loads(raw)


def active_version(client: redis.Redis) -> str | None:
    version = client.get(streams.MODEL_ACTIVE)
    return version.decode() if isinstance(version, bytes) else version


def active_record(client: redis.Redis) -> dict[str, Any] | None:
    """The record of the active version, or None when none is active (or it was removed)."""
    version = active_version(client)
    if version is None:
        return None
    raw = client.hget(streams.MODEL_VERSIONS, version)
    return None if raw is None else json.loads(raw)


def list_versions(client: redis.Redis) -> list[dict[str, Any]]:
    """Every registered record, newest first."""
    records = [json.loads(raw) for raw in client.hvals(streams.MODEL_VERSIONS)]
    return sorted(records, key=lambda r: (r.get("created_at", 0), r.get("version", "")), reverse=True)
