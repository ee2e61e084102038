"""The train loop, one evaluation pass, and checkpoints that can be resumed."""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from sentivis.jobs import PRECISIONS
from sentivis.labels import EMOTIONS
from trainer.augment import AugmentConfig, augment_batch
from trainer.data import FaceDataset, FaceSplit, load_dataset
from trainer.files import temp_path_for
from trainer.metrics import classification_report
from trainer.model import EmotionNet

CHECKPOINT_FORMAT = 1


@dataclass
class TrainConfig:
    data: str
    output: str = "artifacts/emotion-net.pt"
    epochs: int = 50
    batch_size: int = 128
    learning_rate: float = 0.05
    weight_decay: float = 5e-4
    momentum: float = 0.9
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    num_workers: int = 0
    device: str = "cpu"
    seed: int = 0
    threads: int = 0  # 0: torch's default
    widths: tuple[int, ...] = (16, 32, 64, 128, 256)
    dropout: float = 0.3
    # "bf16": forward pass and loss under bfloat16 autocast (weights and optimizer stay float32);
    # about 1.7-2x faster on CPUs with AVX-512 bf16 / AMX and on recent GPUs.
    precision: str = "fp32"
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class EpochResult:
    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    learning_rate: float
    seconds: float


ProgressCallback = Callable[[EpochResult, int], None]


def to_input(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 [N, 48, 48] -> float [N, 1, 48, 48] in 0..1, as the model file's contract asks."""
    x = torch.as_tensor(images)
    return x.unsqueeze(1).float().div_(255.0)


@torch.no_grad()
def predict_logits(model: torch.nn.Module, images: np.ndarray, batch_size: int = 512, device: str = "cpu") -> np.ndarray:
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        x = to_input(images[start:start + batch_size]).to(device).contiguous(memory_format=torch.channels_last)
        out.append(model(x).float().cpu())
    return torch.cat(out).numpy()


def evaluate(model: torch.nn.Module, split: FaceSplit, device: str = "cpu", temperature: float = 1.0) -> dict:
    """Full report (accuracy, macro-F1, per class, confusion, ECE) of a torch model on one split."""
    logits = predict_logits(model, split.images, device=device)
    probabilities = torch.softmax(torch.from_numpy(logits) / temperature, dim=1).numpy()
    report = classification_report(probabilities, split.labels)
    report["split"] = split.name
    return report


def _lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def build_model(cfg: TrainConfig) -> EmotionNet:
    return EmotionNet(widths=tuple(cfg.widths), dropout=cfg.dropout)


def train(cfg: TrainConfig, resume: str | None = None, on_epoch_end: ProgressCallback | None = None,
          dataset: FaceDataset | None = None, show_progress: bool = True) -> dict:
    """Train, keep the checkpoint with the best PublicTest (validation) accuracy, return its summary.

    The test split is not touched here: it is reported once, by the caller, at the end.
    """
    if cfg.precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {cfg.precision!r}")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    device = torch.device(cfg.device)
    data = dataset or load_dataset(cfg.data, seed=cfg.seed)
    model = build_model(cfg).to(device).to(memory_format=torch.channels_last)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": cfg.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=cfg.learning_rate, momentum=cfg.momentum, nesterov=True)
    generator = torch.Generator().manual_seed(cfg.seed)
    history: list[dict] = []
    best = {"val_accuracy": -1.0, "epoch": 0}
    start_epoch = 1
    output = Path(cfg.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    resume_path = resume_path_for(output)
    if resume:
        state = torch.load(resume, map_location=device, weights_only=False)
        model.load_state_dict(state["last_state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        history, best, start_epoch = state["history"], state["best"], state["epoch"] + 1

    train_split = data.train
    steps_per_epoch = math.ceil(len(train_split) / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    warmup = int(cfg.warmup_epochs * steps_per_epoch)
    images = torch.from_numpy(train_split.images)
    labels = torch.from_numpy(train_split.labels)

    for epoch in range(start_epoch, cfg.epochs + 1):
        model.train()
        started = time.perf_counter()
        order = torch.randperm(len(train_split), generator=generator)
        loss_sum, correct, seen = 0.0, 0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{cfg.epochs}", disable=not show_progress,
                   leave=False, dynamic_ncols=True)
        for step in bar:
            lr = _lr_at((epoch - 1) * steps_per_epoch + step, total_steps, warmup, cfg.learning_rate)
            for group in optimizer.param_groups:
                group["lr"] = lr
            idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            x = augment_batch(to_input(images[idx]), cfg.augment, generator)
            x = x.to(device).contiguous(memory_format=torch.channels_last)
            y = labels[idx].to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
                logits = model(x)
                loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
        val_logits = predict_logits(model, data.val.images, device=str(device))
        val_loss = F.cross_entropy(torch.from_numpy(val_logits), torch.from_numpy(data.val.labels)).item()
        val_acc = float((val_logits.argmax(1) == data.val.labels).mean())
        result = EpochResult(epoch, loss_sum / seen, correct / seen, val_loss, val_acc, lr,
                             time.perf_counter() - started)
        history.append(asdict(result))
        if show_progress:
            tqdm.write(f"epoch {epoch}/{cfg.epochs}  loss {result.train_loss:.4f}  acc {result.train_accuracy:.4f}  "
                       f"val_loss {val_loss:.4f}  val_acc {val_acc:.4f}  lr {lr:.4g}  {result.seconds:.0f}s")
        if val_acc > best["val_accuracy"]:
            best = {"val_accuracy": val_acc, "epoch": epoch}
            save_checkpoint(output, model, cfg, data, history, best)
        save_atomic({"format": CHECKPOINT_FORMAT, "last_state_dict": model.state_dict(),
                    "optimizer": optimizer.state_dict(), "generator": generator.get_state(),
                    "torch_rng": torch.get_rng_state(), "history": history, "best": best, "epoch": epoch,
                    "config": config_dict(cfg)}, resume_path)
        if on_epoch_end:
            on_epoch_end(result, cfg.epochs)
    # The best checkpoint carries the complete history, not the one up to its own epoch.
    checkpoint = torch.load(output, map_location="cpu", weights_only=False)
    checkpoint["metrics"]["history"] = history
    save_atomic(checkpoint, output)
    return checkpoint["metrics"]


def resume_path_for(output: Path) -> Path:
    return output.with_name(output.stem + ".resume.pt")


def config_dict(cfg: TrainConfig) -> dict:
    d = asdict(cfg)
    d["widths"] = list(cfg.widths)
    return d


def save_atomic(obj: dict, path: Path) -> None:
    """torch.save to a temporary sibling, then rename: a crash mid-write never corrupts a checkpoint."""
    temp = temp_path_for(Path(path))
    try:
        torch.save(obj, temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def save_checkpoint(path: Path, model: EmotionNet, cfg: TrainConfig, data: FaceDataset, history: list[dict],
                    best: dict) -> None:
    save_atomic({
        "format": CHECKPOINT_FORMAT,
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
        "labels": dict(enumerate(EMOTIONS)),
        "config": config_dict(cfg),
        "metrics": {"best_epoch": best["epoch"], "val_accuracy": best["val_accuracy"], "history": list(history)},
        "data": {"source": data.source, "layout": data.layout, "validation": data.val_from,
                 "train_size": len(data.train), "val_size": len(data.val), "test_size": len(data.test),
                 "train_class_counts": data.train.class_counts()},
    }, path)


def load_model(checkpoint_path: str | Path, device: str = "cpu") -> tuple[EmotionNet, dict]:
    checkpoint = torch.load(checkpoint_path, map_location=device, weights_only=False)
    if "state_dict" not in checkpoint:
        raise ValueError(f"{checkpoint_path}: not a Sentivis checkpoint (no state_dict)")
    cfg = checkpoint["config"]
    model = EmotionNet(widths=tuple(cfg["widths"]), dropout=cfg["dropout"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.to(device).eval(), checkpoint
