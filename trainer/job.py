"""One training job from start to finish: check, train, export with parity, register, activate.

A plain function, so the Celery task (trainer/tasks.py) is only glue. Every outcome is written
to the shared job store (sentivis/jobs.py); a job that fails at any step activates nothing.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable

from sentivis import jobs, registry
from sentivis.settings import Settings
from sentivis.training import TrainConfig, config_from_params
from trainer.data import load_dataset
from trainer.export import export_model, float_path_for, sibling_paths
from trainer.quantize import QuantizationError, quantize_model
from trainer.teachers import committed_file
from trainer.train import EpochResult, train

log = logging.getLogger(__name__)
MODEL_NAME = "emotion-net"

ProgressReport = Callable[[dict[str, Any]], None]  # called with the job after each change of progress


def model_path(settings: Settings, job_id: str) -> Path:
    return Path(settings.models_dir) / job_id / f"{MODEL_NAME}.onnx"


def train_config(settings: Settings, job_id: str, params: dict[str, Any], dataset: Path) -> TrainConfig:
    """The run's config; teacher names (checked against the committed ones) become their files."""
    cfg = config_from_params(params, data=str(dataset), output=str(model_path(settings, job_id).with_suffix(".pt")))
    return replace(cfg, teachers=tuple(str(committed_file(name)) for name in cfg.teachers))


def export_served_model(checkpoint: str, onnx_path: Path, data) -> tuple[Path, dict[str, Any]]:
    """Export the float model, then the int8 one that the classifiers serve; returns the served
    file and its model card.

    When int8 loses too much validation accuracy (trainer/quantize.py), the float model is
    served instead: a slower model beats no model.
    """
    float_path = float_path_for(onnx_path)
    float_card = export_model(checkpoint, float_path, data=data)
    try:
        return onnx_path, quantize_model(float_path, onnx_path, data=data)
    except QuantizationError as exc:
        log.warning("serving the float model: %s", exc)
        return float_path, float_card


def run_job(client, settings: Settings, job_id: str, params: Any,
            report: ProgressReport | None = None) -> dict[str, Any]:
    """Run the job; returns the finished job, or raises after marking it failed."""
    report = report or (lambda job: None)
    if jobs.get_job(client, job_id) is None:
        # The id also names the model folder, so only ids the job store made are accepted.
        raise jobs.JobParamsError(f"no training job {job_id!r} in the job store")
    report(jobs.update_job(client, job_id, state="running", progress={"stage": "loading", "epoch": 0}))
    try:
        clean = jobs.validate_params(params, settings.datasets_dir)
        dataset_path = jobs.resolve_dataset(settings.datasets_dir, clean["dataset"])
        cfg = train_config(settings, job_id, clean, dataset_path)
        data = load_dataset(dataset_path, seed=cfg.seed)
        report(jobs.update_job(client, job_id, params=clean,
                               progress={"stage": "training", "epoch": 0, "epochs": cfg.epochs}))

        def on_epoch_end(result: EpochResult, epochs: int) -> None:
            report(jobs.record_epoch(client, job_id, asdict(result), epochs))

        train(cfg, on_epoch_end=on_epoch_end, dataset=data, show_progress=False)
        report(jobs.set_stage(client, job_id, "exporting"))
        onnx_path, card = export_served_model(cfg.output, model_path(settings, job_id), data)
        report(jobs.set_stage(client, job_id, "registering"))
        test = card["metrics"]["test"]
        metrics = {"accuracy": test["accuracy"], "test_accuracy": test["accuracy"], "macro_f1": test["macro_f1"],
                   "val_accuracy": card["metrics"]["validation"]["accuracy"],
                   "ece": test["ece_after_calibration"], "temperature": card["calibration"]["temperature"],
                   "job_id": job_id, "onnx_path": str(onnx_path), "card_path": str(sibling_paths(onnx_path)["card"])}
        record = registry.register_model(client, onnx_path, metrics, activate=True)
    except Exception as exc:
        error = str(exc) or type(exc).__name__
        log.warning("training job %s failed: %s", job_id, error)
        report(jobs.mark_failed(client, job_id, error))
        raise
    job = jobs.mark_succeeded(client, job_id, metrics, record["version"])
    log.info("training job %s registered and activated model %s", job_id, record["version"])
    report(job)
    return job
