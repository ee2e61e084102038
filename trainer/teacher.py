"""`python -m trainer teacher`: train a teacher (or take a checkpoint) and write its predictions file.

The checkpoint itself is not kept in the repository: only the predictions are (trainer/teachers.py),
with what it cost and where it ran.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from sentivis import training
from sentivis.training import TrainConfig
from trainer import teachers
from trainer.checkpoint import load_model
from trainer.data import load_dataset
from trainer.files import file_sha256
from trainer.machine import cpu_name
from trainer.model import count_multiply_adds
from trainer.predict import VIEWS, predict_views
from trainer.train import train


def make_teacher(name: str, cfg: TrainConfig, checkpoint: str | None = None, resume: str | None = None,
                 out_dir: str | Path | None = None) -> dict:
    """Train a teacher with cfg (or take `checkpoint`), then write its predictions file; returns its info.

    The predictions are made on cfg.device (a GPU's ten views of 32,000 faces take seconds).
    """
    data = load_dataset(cfg.data, seed=cfg.seed)
    if checkpoint is None:
        train(cfg, resume=resume, dataset=data)
        checkpoint = cfg.output
    model, ckpt = load_model(checkpoint, device=cfg.device)
    started = time.perf_counter()
    bf16 = ckpt["config"].get("precision") == "bf16"
    probabilities = {key: predict_views(model, getattr(data, key).images, bf16=bf16, device=cfg.device)
                     for key in teachers.SPLITS}
    history = ckpt["metrics"]["history"]
    train_seconds = sum(h["seconds"] for h in history)
    # CPU time where the history has it; older runs only know wall time, times their threads.
    cpu_seconds = (sum(h["cpu_seconds"] for h in history) if all("cpu_seconds" in h for h in history)
                   else train_seconds * (ckpt["config"].get("threads") or 1))
    device = ckpt["config"].get("device", "cpu")
    info = {"recipe": ckpt["config"], "checkpoint_sha256": file_sha256(checkpoint),
            "multiply_adds": count_multiply_adds(model), "views": VIEWS,
            "val_accuracy": ckpt["metrics"]["val_accuracy"], "best_epoch": ckpt["metrics"]["best_epoch"],
            "val_accuracy_views": float((probabilities["val"].argmax(1) == data.val.labels).mean()),
            "train_accuracy_views": float((probabilities["train"].argmax(1) == data.train.labels).mean()),
            "training_seconds": round(train_seconds, 1), "prediction_seconds": round(time.perf_counter() - started, 1),
            "cpu_hours": round(cpu_seconds / 3600, 2) if cfg.device == "cpu" else None,
            "device": device, "cpu": cpu_name(),
            "data": {"source": data.source, "train": data.train.name, "val": data.val.name}}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    path = teachers.save(Path(out_dir or training.TEACHERS_DIR) / name, name, probabilities, data, info)
    return {**info, "file": str(path)}
