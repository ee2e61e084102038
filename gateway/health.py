"""Health and metrics: GET /healthz (the process runs), /readyz (a frame sent now would be answered
at normal speed), /metrics."""
from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway import prometheus
from gateway.probe import ReadinessProbe
from sentivis import redis_io

health = Blueprint("health", __name__)


def _ext() -> dict:
    return current_app.extensions["sentivis"]


@health.get("/healthz")
def healthz():
    return jsonify(status="ok", gateway=_ext()["gateway_id"])


@health.get("/readyz")
def readyz():
    status = readiness(_ext()["redis"], _ext()["probe"])
    return jsonify(status), (200 if status["ready"] else 503)


@health.get("/metrics")
def metrics():
    return Response(generate_latest(prometheus.REGISTRY), mimetype=CONTENT_TYPE_LATEST)


def readiness(client: redis.Redis, probe: ReadinessProbe) -> dict[str, Any]:
    """Ready when Redis answers, at least one detector and one classifier beat (each warmed up before
    its first beat) and the warm-up frame has been answered in time the last few times
    (gateway/probe.py); with the emotion model a classifier reports."""
    probed = probe.status()
    try:
        client.ping()
    except redis.RedisError as exc:
        return {"ready": False, "redis": False, "error": str(exc), "detectors": 0, "classifiers": 0, "probe": probed}
    detectors = redis_io.live_services(client, "detector")
    classifiers = redis_io.live_services(client, "classifier")
    emotion = next((c.get("model") for c in classifiers if c.get("model")), None)
    return {"ready": bool(detectors and classifiers and probed["ready"]), "redis": True, "detectors": len(detectors),
            "classifiers": len(classifiers), "models": {"emotion": emotion or {"ready": False, "version": None}},
            "probe": probed}
