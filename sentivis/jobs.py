"""Training jobs: a tiny job store in Redis, parameter checks, and enqueueing by task name.

The gateway creates a job and enqueues it; the trainer's Celery worker runs it and is the only
writer after that. Neither imports the other: the task is sent by name.

A job, as `get_job()` returns it (JSON-safe, so the REST API can return it as is):

    {"id": "3f2a...",                       # 32 hex digits; also the Celery task id
     "state": "queued" | "running" | "succeeded" | "failed",
     "params": {"dataset": "fer2013.csv.gz", "epochs": 40, ...},  # every TrainConfig job field
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

from sentivis import redis_io, streams, training
from sentivis.settings import Settings

TRAINING_TASK = "trainer.train_and_register"
TRAINING_QUEUE = "sentivis.training"  # the trainer worker consumes only this Celery queue
STATES = ("queued", "running", "succeeded", "failed")
JOB_ID = re.compile(r"[0-9a-f]{32}")

# One exception type for bad job parameters, whichever check finds them (sentivis/training.py).
JobParamsError = training.ParamsError


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
    """Checked parameters (the TrainConfig schema) with defaults filled in; JobParamsError names
    the first bad one. The dataset must lie inside datasets_dir."""
    clean = training.check_params(params)
    resolve_dataset(datasets_dir, clean["dataset"])
    return clean


def list_datasets(datasets_dir: str | Path) -> list[dict[str, Any]]:
    """The data sets a job can train on: FER-2013 CSVs and class-folder layouts in datasets_dir.

    Each: {"name": relative path to pass as `dataset`, "layout": "csv" | "folders", "bytes": int}.
    Only the folder's top level and its direct sub-folders are looked at (a data set is never
    buried deeper in the layout datasets/README.md describes).
    """
    root = Path(datasets_dir)
    if not root.is_dir():
        return []
    found = []
    for path in sorted([root, *(p for p in root.iterdir() if p.is_dir())]):
        if (path / "train").is_dir() and (path / "test").is_dir() and path != root:
            found.append({"name": path.relative_to(root).as_posix(), "layout": "folders",
                          "bytes": sum(f.stat().st_size for f in path.rglob("*") if f.is_file())})
        for file in sorted(path.iterdir()):
            if file.is_file() and file.name.endswith((".csv", ".csv.gz")):
                found.append({"name": file.relative_to(root).as_posix(), "layout": "csv",
                              "bytes": file.stat().st_size})
    return found


def create_job(client, params: dict[str, Any]) -> dict[str, Any]:
    """Store a new queued job; params should already be validated (validate_params)."""
    now = _now()
    job = {"id": uuid.uuid4().hex, "state": "queued", "params": params,
           "progress": {"stage": "queued", "epoch": 0, "epochs": params.get("epochs")},
           "history": [], "metrics": None, "model_version": None, "error": None,
           "created_at": now, "updated_at": now}
    pipe = client.pipeline(transaction=True)  # MULTI (explicit: a Redis Cluster client defaults to none)
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
def _celery_app(settings: Settings):
    from celery import Celery

    app = Celery("sentivis-gateway")
    connection = redis_io.celery_connection(settings)
    app.conf.update(broker_url=connection["broker_url"],
                    broker_transport_options=connection.get("broker_transport_options", {}))
    return app


def submit_training(settings: Settings, job_id: str, params: dict[str, Any]) -> str:
    """Enqueue the job for the trainer worker, by task name, on the settings' Redis (through its
    sentinels when set); returns the Celery task id (= job id)."""
    result = _celery_app(settings).send_task(TRAINING_TASK, args=[job_id, params], task_id=job_id,
                                             queue=TRAINING_QUEUE)
    return result.id
