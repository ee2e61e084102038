"""REST API under /api/v1: one-shot image analysis, model versions, training options and jobs.

The gateway only records and enqueues: training runs in the trainer's Celery worker, and
classifiers follow the registry's active version by themselves. The training form's fields,
ranges and defaults come from `sentivis.training` (TrainConfig), never from a copy here.
"""
from __future__ import annotations

import logging
import time
from typing import Any

import msgspec
import redis
from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge

from gateway.analyze import WORKER_ERROR_STATUS, ImageRejected, max_request_bytes, prepare_image, read_upload
from gateway.openapi import openapi_document
from sentivis import jobs, redis_io, registry, training
from sentivis.errors import FRAME_ERRORS
from sentivis.records import SessionRefused, check_session_name
from sentivis.settings import Settings
from sentivis.stages.present import present

log = logging.getLogger(__name__)
api = Blueprint("api", __name__, url_prefix="/api/v1")


def _ctx():
    ext = current_app.extensions["sentivis"]
    return ext["settings"], ext["redis"]


def error(status: int, message: str, code: str | None = None):
    body = {"error": message} if code is None else {"error": message, "code": code}
    return jsonify(body), status


@api.errorhandler(redis.RedisError)
def redis_unavailable(exc):
    log.warning("API request failed, Redis unavailable: %s", exc)
    return error(503, "Redis is unavailable; try again shortly")


@api.errorhandler(RequestEntityTooLarge)
def request_too_large(exc):
    return error(413, "the request body is larger than the limit", "frame_too_large")


@api.app_errorhandler(NotFound)
@api.app_errorhandler(MethodNotAllowed)
def api_routing_error(exc):
    """An unknown route or a wrong method under /api answers JSON, as every API error does (the
    page's catch-all route does not claim these paths: gateway/app.py PagePath)."""
    if not (request.path == "/api" or request.path.startswith("/api/")):
        return exc
    if isinstance(exc, MethodNotAllowed):
        allowed = ", ".join(exc.valid_methods)
        response, status = error(405, f"{request.method} is not allowed here; allowed: {allowed}")
        response.headers["Allow"] = allowed
        return response, status
    return error(404, f"no API route {request.path}")


@api.get("/openapi.json")
def openapi():
    settings, _ = _ctx()
    return jsonify(openapi_document(settings))


@api.post("/analyze")
def analyze():
    """One JPEG or PNG -> the same JSON as an `inference` event, through the detector and classifier.

    Each image stands alone: a fresh tracker numbers its faces 1..n and smooths nothing. A
    sequence of images is tracked by the client (`sentivis analyze --url` does, with
    sentivis.tracking), which knows the frames' times; `?appearance=1` gives it each face's
    appearance vector for that.
    """
    settings, client = _ctx()
    ext = current_app.extensions["sentivis"]
    with_appearance = request.args.get("appearance", "0")
    if with_appearance not in ("0", "1"):
        return error(400, f"appearance must be 0 or 1, not {with_appearance!r}", "invalid_parameter")
    session_name = request.args.get("session")  # store the answer as a recorded session of one image
    if session_name is not None:
        try:
            check_session_name({"name": session_name})
            ext["recording"].check_available()
        except SessionRefused as exc:
            return error(400 if exc.code == "invalid_session_name" else 503, exc.message, exc.code)
    request.max_content_length = max_request_bytes(settings)  # Werkzeug answers 413 beyond it, unread
    try:
        image = prepare_image(read_upload(request, settings), settings)
    except ImageRejected as exc:
        return error(exc.status, exc.message, exc.code)
    if not (redis_io.live_services(client, "detector") and redis_io.live_services(client, "classifier")):
        return error(503, "no detector or no classifier is running; try again shortly", "unavailable")
    message = ext["frames"].request_once(image.jpeg, image.width, image.height, settings.frame_timeout_ms / 1000)
    if message is None:
        return error(503, FRAME_ERRORS["timeout"], "timeout")
    if message.error:
        code = message.error if message.error in FRAME_ERRORS else "internal_error"
        return error(WORKER_ERROR_STATUS.get(code, 503), FRAME_ERRORS[code], code)
    try:
        event = present(ext["connections"].new_tracker(), message, 0, time.time())
    except ValueError as exc:
        log.warning("analyze: malformed faces in the result: %s", exc)
        return error(500, FRAME_ERRORS["internal_error"], "internal_error")
    body = msgspec.to_builtins(event)
    if with_appearance == "1":
        for face, given in zip(body["faces"], message.faces, strict=True):
            vector = given.appearance_vector()
            face["appearance"] = None if vector is None else vector.astype(float).round(4).tolist()
    if session_name is not None:
        try:
            body["session"] = ext["recording"].record_once(session_name, event)
        except SessionRefused as exc:
            return error(503, exc.message, exc.code)
    return jsonify(body)


@api.get("/models")
def list_models():
    """Every version, the shipped one marked; `active` is what classifiers serve (the shipped
    version while no other is active)."""
    _, client = _ctx()
    shipped = registry.shipped_version(client)
    versions = [{**record, "shipped": record["version"] == shipped} for record in registry.list_versions(client)]
    return jsonify(active=registry.served_version(client), shipped=shipped, versions=versions)


@api.post("/models/<version>/activate")
def activate_model(version: str):
    _, client = _ctx()
    try:
        record = registry.activate(client, version)
    except registry.UnknownVersion as exc:
        return error(404, str(exc))
    log.info("model version %s activated", version)
    return jsonify(active=version, model=record)


def duration_estimate(params: dict[str, Any], settings: Settings) -> dict[str, Any] | None:
    """How long a job with these checked params trains, scaled from the shipped model's own
    training run (its card beside SENTIVIS_EMOTION_WEIGHTS); None when that card has no run."""
    basis = training.estimate_basis(registry.read_card(settings.emotion_weights))
    if basis is None:
        return None
    return {"seconds": round(training.estimate_seconds(params, basis)), "basis": basis}


@api.get("/training/options")
def training_options():
    """What the training form needs: the job parameters (TrainConfig's schema, defaults = the
    shipped model's recipe), the data sets in the datasets folder, the defaults' duration."""
    settings, _ = _ctx()
    defaults = training.check_params({"dataset": None})
    return jsonify(parameters=training.schema(), datasets=jobs.list_datasets(settings.datasets_dir),
                   estimate=duration_estimate(defaults, settings))


@api.post("/training/estimate")
def estimate_training():
    """The duration estimate for the form's current values (the dataset is not needed)."""
    settings, _ = _ctx()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "the body must be a JSON object with the training parameters")
    try:
        params = training.check_params({"dataset": None, **body})
    except training.ParamsError as exc:
        return error(400, str(exc))
    return jsonify(estimate=duration_estimate(params, settings))


@api.post("/training-jobs")
def create_training_job():
    settings, client = _ctx()
    body = request.get_json(silent=True)
    if body is None:
        return error(400, "the body must be a JSON object with the training parameters")
    try:
        params = jobs.validate_params(body, settings.datasets_dir)
    except jobs.JobParamsError as exc:
        return error(400, str(exc))
    dataset = jobs.resolve_dataset(settings.datasets_dir, params["dataset"])
    if not dataset.exists():
        return error(400, f"dataset {params['dataset']!r} does not exist in the datasets folder")
    job = jobs.create_job(client, params)
    try:
        jobs.submit_training(settings, job["id"], params)
    except Exception as exc:  # noqa: BLE001 - any broker failure means the job will never run
        jobs.mark_failed(client, job["id"], f"could not enqueue the job: {exc}")
        return error(503, "the training queue is unavailable")
    return jsonify(job), 202, {"Location": f"/api/v1/training-jobs/{job['id']}"}


@api.get("/training-jobs")
def list_training_jobs():
    _, client = _ctx()
    return jsonify(jobs=jobs.list_jobs(client))


@api.get("/training-jobs/<job_id>")
def get_training_job(job_id: str):
    _, client = _ctx()
    job = jobs.get_job(client, job_id)
    if job is None:
        return error(404, f"no training job {job_id!r}")
    return jsonify(job)
