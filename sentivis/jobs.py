"""Training jobs: a tiny job store in Redis, parameter checks, and enqueueing by task name.

The gateway creates a job and enqueues it; the trainer's Celery worker runs it and is the only
writer after that. Neither imports the other: the task is sent by name.

A job, as `get_job()` returns it (JSON-safe, so the REST API can return it as is):

    {"id": "3f2a...",                       # 32 hex digits; also the Celery task id
     "state": "queued" | "running" | "succeeded" | "failed",
     "params": {"dataset": "fer2013.csv.gz", "epochs": 30, "batch_size": 128, "learning_rate": 0.05, ...},
     "progress": {"stage": "queued" | "loading" | "training" | "exporting" | "registering" | "done",
                  "epoch": 3, "epochs": 30,            # epochs finished so far / planned
                  "train_loss": .., "train_accuracy": .., "val_loss": .., "val_accuracy": ..,
                  "learning_rate": .., "seconds": ..}, # the latest epoch's numbers, once there is one
     "history": [{"epoch": 1, "train_loss": .., "train_accuracy": .., "val_loss": .., "val_accuracy": ..,
                  "learning_rate": .., "seconds": ..}, ...],   # one per finished epoch: the curves so far
     "metrics": null | {"accuracy": .., "val_accuracy": .., "test_accuracy": .., "macro_f1": .., "ece": ..,
                        "temperature": .., "onnx_path": .., "card_path": ..},
     "model_version": null | "...",         # the registered (and activated) model version
     "error": null | "a sentence saying what went wrong",
     "created_at": "2026-11-25T07:00:00.000+00:00", "updated_at": "..."}
"""
from __future__ import annotations

import json
import os
import re
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from sentivis import streams

TRAINING_TASK = "trainer.train_and_register"
TRAINING_QUEUE = "sentivis.training"  # the trainer worker consumes only this Celery queue
STATES = ("queued", "running", "succeeded", "failed")
JOB_ID = re.compile(r"[0-9a-f]{32}")

# name: (type, minimum, maximum, default); `dataset` is required and checked on its own.
PARAMS: dict[str, tuple[type, float, float, Any]] = {
    "epochs": (int, 1, 500, 30),
    "batch_size": (int, 1, 4096, 128),
    "learning_rate": (float, 1e-6, 10.0, 0.05),
    "weight_decay": (float, 0.0, 1.0, 5e-4),
    "label_smoothing": (float, 0.0, 0.9, 0.1),
    "dropout": (float, 0.0, 0.9, 0.3),
    "seed": (int, 0, 2**31 - 1, 0),
    "threads": (int, 0, 256, 0),  # torch CPU threads, 0: torch's default
}
MAX_WIDTHS = 8
PRECISIONS = ("fp32", "bf16")  # TrainConfig.precision; the first is the default


class JobParamsError(ValueError):
    """Training parameters that cannot be used; the message says which and why."""


def job_key(job_id: str) -> str:
    return f"{streams.TRAINING_JOBS}:{job_id}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def resolve_dataset(datasets_dir: str | Path, dataset: str) -> Path:
    """The dataset's absolute path, which must lie inside datasets_dir.

    Relative paths are taken from datasets_dir. The check is on the normalised path (no `..`
    escapes); symlinks the operator placed inside datasets_dir are followed when reading.
    """
    if not isinstance(dataset, str) or not dataset.strip():
        raise JobParamsError("dataset must be a non-empty path (relative to the datasets folder)")
    root = os.path.normpath(os.path.abspath(datasets_dir))
    path = os.path.normpath(os.path.join(root, dataset))
    if os.path.commonpath([root, path]) != root:
        raise JobParamsError(f"dataset {dataset!r} is outside the datasets folder {root}; "
                             f"only data below it can be used for training")
    return Path(path)


def validate_params(params: Any, datasets_dir: str | Path) -> dict[str, Any]:
    """Checked parameters with defaults filled in; JobParamsError names the first bad one."""
    if not isinstance(params, dict):
        raise JobParamsError("params must be a JSON object")
    unknown = sorted(set(params) - set(PARAMS) - {"dataset", "widths", "precision"})
    if unknown:
        raise JobParamsError(f"unknown parameter(s) {', '.join(unknown)}; "
                             f"allowed: dataset, widths, precision, {', '.join(PARAMS)}")
    if "dataset" not in params:
        raise JobParamsError("dataset is required (a path relative to the datasets folder)")
    resolve_dataset(datasets_dir, params["dataset"])
    clean: dict[str, Any] = {"dataset": params["dataset"]}
    for name, (kind, low, high, default) in PARAMS.items():
        value = params.get(name, default)
        # bool is an int to Python, never a sensible value here.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
            raise JobParamsError(f"{name} must be {'an integer' if kind is int else 'a number'}, got {value!r}")
        if not low <= value <= high:
            raise JobParamsError(f"{name} must lie in {low}..{high}, got {value!r}")
        clean[name] = kind(value)
    if "widths" in params:
        widths = params["widths"]
        if (not isinstance(widths, list) or not 1 <= len(widths) <= MAX_WIDTHS
                or not all(isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= 1024 for w in widths)):
            raise JobParamsError(f"widths must be a list of 1..{MAX_WIDTHS} integers in 1..1024, got {widths!r}")
        clean["widths"] = list(widths)
    precision = params.get("precision", PRECISIONS[0])
    if precision not in PRECISIONS:
        raise JobParamsError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    clean["precision"] = precision
    return clean


def create_job(client, params: dict[str, Any]) -> dict[str, Any]:
    """Store a new queued job; params should already be validated (validate_params)."""
    now = _now()
    job = {"id": uuid.uuid4().hex, "state": "queued", "params": params,
           "progress": {"stage": "queued", "epoch": 0, "epochs": params.get("epochs")},
           "history": [], "metrics": None, "model_version": None, "error": None,
           "created_at": now, "updated_at": now}
    pipe = client.pipeline()
    pipe.set(job_key(job["id"]), json.dumps(job))
    pipe.zadd(streams.TRAINING_JOBS, {job["id"]: datetime.now(timezone.utc).timestamp()})
    pipe.execute()
    return job


def get_job(client, job_id: str) -> dict[str, Any] | None:
    if not isinstance(job_id, str) or not JOB_ID.fullmatch(job_id):
        return None
    raw = client.get(job_key(job_id))
    return json.loads(raw) if raw is not None else None


def list_jobs(client, limit: int = 50) -> list[dict[str, Any]]:
    """The newest jobs first."""
    ids = client.zrevrange(streams.TRAINING_JOBS, 0, max(0, limit - 1))
    ids = [i.decode() if isinstance(i, bytes) else i for i in ids]
    raws = client.mget([job_key(i) for i in ids]) if ids else []
    return [json.loads(raw) for raw in raws if raw is not None]


def update_job(client, job_id: str, **changes: Any) -> dict[str, Any]:
    """Apply changes to a stored job. Only the job's own worker writes after creation."""
    job = get_job(client, job_id)
    if job is None:
        raise KeyError(f"no training job {job_id!r}")
    if "state" in changes and changes["state"] not in STATES:
        raise ValueError(f"unknown job state {changes['state']!r}")
    job.update(changes)
    job["updated_at"] = _now()
    client.set(job_key(job_id), json.dumps(job))
    return job


def set_stage(client, job_id: str, stage: str, **state: Any) -> dict[str, Any]:
    job = get_job(client, job_id)
    if job is None:
        raise KeyError(f"no training job {job_id!r}")
    return update_job(client, job_id, progress={**job["progress"], "stage": stage}, **state)


def record_epoch(client, job_id: str, epoch: dict[str, Any], epochs: int) -> dict[str, Any]:
    """Append one finished epoch to the history and make it the current progress."""
    job = get_job(client, job_id)
    if job is None:
        raise KeyError(f"no training job {job_id!r}")
    return update_job(client, job_id, history=job["history"] + [epoch],
                      progress={"stage": "training", **epoch, "epochs": epochs})


def mark_succeeded(client, job_id: str, metrics: dict[str, Any], model_version: str) -> dict[str, Any]:
    job = get_job(client, job_id)
    return update_job(client, job_id, state="succeeded", metrics=metrics, model_version=model_version,
                      progress={**(job or {}).get("progress", {}), "stage": "done"})


def mark_failed(client, job_id: str, error: str) -> dict[str, Any]:
    return update_job(client, job_id, state="failed", error=error)


@lru_cache(maxsize=4)
def _celery_app(redis_url: str):
    from celery import Celery

    return Celery("sentivis-gateway", broker=redis_url)


def submit_training(redis_url: str, job_id: str, params: dict[str, Any]) -> str:
    """Enqueue the job for the trainer worker, by task name; returns the Celery task id (= job id)."""
    result = _celery_app(redis_url).send_task(TRAINING_TASK, args=[job_id, params], task_id=job_id,
                                              queue=TRAINING_QUEUE)
    return result.id
