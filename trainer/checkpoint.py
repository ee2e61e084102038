"""Checkpoint I/O: the network a config names, the best-epoch checkpoint, resume files, --init weights.

Two kinds of file, both written atomically (temporary sibling, then rename):
- the checkpoint (`train --output`): the weights that scored best on validation (the moving
  average when there is one), the config, the history and the data summary; what `evaluate`,
  `export` and `teacher --checkpoint` read;
- the resume file beside it (`<stem>.resume.pt`): the last weights, optimizer, moving average and
  random states, so that `train --resume` continues exactly where a run stopped.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch.optim.swa_utils import AveragedModel

from sentivis.labels import EMOTIONS
from sentivis.training import TrainConfig
from trainer.data import FaceDataset
from trainer.files import temp_path_for
from trainer.model import build_network

CHECKPOINT_FORMAT = 1


def build_model(cfg: TrainConfig) -> torch.nn.Module:
    """A freshly initialised network of the run's architecture and widths."""
    return build_network(cfg.arch, cfg.widths, cfg.dropout)


def save_atomic(obj: dict, path: Path) -> None:
    """torch.save to a temporary sibling, then rename: a crash mid-write never corrupts a checkpoint."""
    temp = temp_path_for(Path(path))
    try:
        torch.save(obj, temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def save_checkpoint(path: Path, model: torch.nn.Module, cfg: TrainConfig, data: FaceDataset, history: list[dict],
                    best: dict) -> None:
    save_atomic({
        "format": CHECKPOINT_FORMAT,
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
        "labels": dict(enumerate(EMOTIONS)),
        "config": cfg.as_dict(),
        "metrics": {"best_epoch": best["epoch"], "val_accuracy": best["val_accuracy"], "history": list(history)},
        "data": {"source": data.source, "layout": data.layout, "validation": data.val_from,
                 "train_size": len(data.train), "val_size": len(data.val), "test_size": len(data.test),
                 "train_class_counts": data.train.class_counts()},
    }, path)


def finish_checkpoint(path: Path, history: list[dict]) -> dict:
    """Give the best checkpoint the complete history (it was saved with the one up to its own
    epoch); returns its metrics."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    checkpoint["metrics"]["history"] = history
    save_atomic(checkpoint, path)
    return checkpoint["metrics"]


def load_model(checkpoint_path: str | Path, device: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """The checkpoint's network in eval mode on `device`, and the checkpoint itself."""
    checkpoint = torch.load(checkpoint_path, map_location=device, weights_only=False)
    if "state_dict" not in checkpoint:
        raise ValueError(f"{checkpoint_path}: not a Sentivis checkpoint (no state_dict)")
    cfg = checkpoint["config"]
    model = build_network(cfg.get("arch", "vgg"), cfg["widths"], cfg["dropout"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.to(device).eval(), checkpoint


def load_init_weights(model: torch.nn.Module, cfg: TrainConfig) -> None:
    """`--init`: copy a checkpoint's weights into the new network, which must be the same one."""
    start, start_ckpt = load_model(cfg.init)
    theirs = (start_ckpt["config"].get("arch", "vgg"), tuple(start_ckpt["config"]["widths"]))
    if theirs != (cfg.arch, tuple(cfg.widths)):
        raise ValueError(f"--init {cfg.init}: its network {theirs} differs from {(cfg.arch, tuple(cfg.widths))}")
    model.load_state_dict(start.state_dict())


def resume_path_for(output: Path) -> Path:
    return output.with_name(output.stem + ".resume.pt")


def load_resume(path: str | Path, device: torch.device) -> dict:
    return torch.load(path, map_location=device, weights_only=False)


def resume_state(cfg: TrainConfig, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 ema: AveragedModel | None, generator: torch.Generator, history: list[dict], best: dict,
                 epoch: int) -> dict:
    """Everything a run needs to continue after `epoch`, for the resume file."""
    return {"format": CHECKPOINT_FORMAT, "last_state_dict": model.state_dict(),
            "ema_state_dict": ema.state_dict() if ema is not None else None,
            "optimizer": optimizer.state_dict(), "generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(), "history": history, "best": best, "epoch": epoch,
            "config": cfg.as_dict()}


def restore(state: dict, model: torch.nn.Module, optimizer: torch.optim.Optimizer, ema: AveragedModel | None,
            generator: torch.Generator) -> tuple[list[dict], dict, int]:
    """Load a resume file's state into a run's parts; returns (history, best, the next epoch)."""
    model.load_state_dict(state["last_state_dict"])
    optimizer.load_state_dict(state["optimizer"])
    if ema is not None and state.get("ema_state_dict") is not None:
        ema.load_state_dict(state["ema_state_dict"])
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    return state["history"], state["best"], state["epoch"] + 1
