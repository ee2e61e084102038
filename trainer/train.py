"""The train loop: one optimizer step, one epoch, the run from first epoch to last.

As pytorch/examples' ImageNet trainer: `train_one_epoch` and `validate` (trainer/evaluate.py) are
apart, the checkpoint files are trainer/checkpoint.py, and the CLI (trainer/cli.py) only parses.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from sentivis.labels import NUM_EMOTIONS
from sentivis.training import PRECISIONS, TrainConfig
from trainer import checkpoint
from trainer.augment import augment_batch, mix_batch
from trainer.data import FaceDataset, load_dataset
from trainer.evaluate import validate
from trainer.predict import to_input
from trainer.teachers import targets_for as teacher_targets

PLAN_STEPS = 12  # timed optimizer steps (after 3 warm-up steps) that set the epochs of a --minutes run


@dataclass
class EpochResult:
    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    learning_rate: float
    seconds: float  # wall clock
    cpu_seconds: float = 0.0  # CPU time of the process, all threads: what a shared machine really spent


ProgressCallback = Callable[[EpochResult, int], None]


class Schedule:
    """Linear warm-up, then cosine decay to zero, per optimizer step."""

    def __init__(self, peak: float, steps_per_epoch: int, epochs: int, warmup_epochs: float):
        self.peak, self.total = peak, steps_per_epoch * epochs
        self.warmup = int(warmup_epochs * steps_per_epoch)

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return self.peak * (step + 1) / self.warmup
        progress = (step - self.warmup) / max(1, self.total - self.warmup)
        return self.peak * 0.5 * (1 + math.cos(math.pi * progress))


def build_optimizer(cfg: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    return torch.optim.SGD([{"params": decay, "weight_decay": cfg.weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=cfg.learning_rate, momentum=cfg.momentum, nesterov=True)


def build_ema(cfg: TrainConfig, model: torch.nn.Module) -> AveragedModel | None:
    """The weights' exponential moving average (BatchNorm statistics included), or None when off.

    The decay warms up as min(decay, (1 + n) / (10 + n)) after n updates (as timm's ModelEmaV2
    does), so the average does not drag the random initial weights along for thousands of steps.
    """
    if not cfg.ema_decay:
        return None

    def average(averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        # Called once per dtype with all its tensors: one foreach kernel on a GPU, not one per tensor.
        decay = min(cfg.ema_decay, (1 + float(n)) / (10 + float(n)))
        if averaged[0].is_floating_point():
            torch._foreach_lerp_(averaged, current, 1 - decay)
        else:  # BatchNorm's num_batches_tracked: the same average, truncated to an integer
            for a, c in zip(averaged, current, strict=True):
                a.copy_(a * decay + c * (1 - decay))

    return AveragedModel(model, multi_avg_fn=average, use_buffers=True)


def loss_fn(cfg: TrainConfig, logits: torch.Tensor, targets: torch.Tensor,
            teacher: torch.Tensor | None) -> torch.Tensor:
    """Cross-entropy on the (possibly mixed) label distribution, plus distillation when teachers are given.

    Distillation (Hinton et al. 2015): KL(teacher_T || student_T) * T^2 with both distributions
    softened at temperature T; the teacher's is its probabilities raised to 1/T, renormalised.
    """
    hard = F.cross_entropy(logits, targets, label_smoothing=cfg.label_smoothing)
    if teacher is None:
        return hard
    t = cfg.distill_temperature
    soft_teacher = torch.softmax(torch.log(teacher.clamp_min(1e-6)) / t, dim=1)
    kl = F.kl_div(F.log_softmax(logits / t, dim=1), soft_teacher, reduction="batchmean") * t * t
    return cfg.distill_weight * kl + (1 - cfg.distill_weight) * hard


@dataclass
class Run:
    """What one training run carries from step to step (and into its resume file)."""

    cfg: TrainConfig
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    ema: AveragedModel | None
    generator: torch.Generator
    schedule: Schedule
    device: torch.device
    images: torch.Tensor  # uint8 [N, 48, 48], the training split
    labels: torch.Tensor
    teacher: torch.Tensor | None  # float [N, 7] averaged teacher probabilities, or None

    @property
    def evaluated(self) -> torch.nn.Module:
        """The network that is validated and saved: the moving average when there is one."""
        return self.ema.module if self.ema is not None else self.model

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.labels) / self.cfg.batch_size)


def train_step(run: Run, idx: torch.Tensor, lr: float) -> tuple[float, int]:
    """One optimizer step on the faces idx; returns (summed loss, correct predictions)."""
    cfg = run.cfg
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    x = augment_batch(to_input(run.images[idx]).to(run.device), cfg.augment, run.generator)
    y = run.labels[idx].to(run.device)
    targets = F.one_hot(y, NUM_EMOTIONS).float()
    teacher = run.teacher[idx].to(run.device) if run.teacher is not None else None
    if cfg.mixup or cfg.cutmix:
        both = targets if teacher is None else torch.cat([targets, teacher], dim=1)
        x, both = mix_batch(x, both, cfg.mixup, cfg.cutmix, cfg.mix_probability, run.generator)
        targets, teacher = (both, None) if teacher is None else (both[:, :NUM_EMOTIONS], both[:, NUM_EMOTIONS:])
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
        logits = run.model(x).float()
        loss = loss_fn(cfg, logits, targets, teacher)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    run.optimizer.step()
    if run.ema is not None:
        run.ema.update_parameters(run.model)
    return loss.item() * len(y), int((logits.argmax(1) == y).sum().item())


def train_one_epoch(run: Run, epoch: int, show_progress: bool) -> tuple[float, float, float]:
    """One pass over the training split in a fresh order; returns (mean loss, accuracy, last lr)."""
    run.model.train()
    order = torch.randperm(len(run.labels), generator=run.generator)
    loss_sum, correct, lr = 0.0, 0, 0.0
    bar = tqdm(range(run.steps_per_epoch), desc=f"epoch {epoch}/{run.cfg.epochs}", disable=not show_progress,
               leave=False, dynamic_ncols=True)
    for step in bar:
        lr = run.schedule((epoch - 1) * run.steps_per_epoch + step)
        loss, right = train_step(run, order[step * run.cfg.batch_size:(step + 1) * run.cfg.batch_size], lr)
        loss_sum, correct = loss_sum + loss, correct + right
        seen = min((step + 1) * run.cfg.batch_size, len(run.labels))
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
    return loss_sum / len(run.labels), correct / len(run.labels), lr


def plan_epochs(run: Run, val_size: int, minutes: float) -> int:
    """Epochs that fit in `minutes`, from optimizer steps timed on a throw-away copy of the run."""
    probe = Run(run.cfg, copy.deepcopy(run.model), None, None, torch.Generator().manual_seed(run.cfg.seed),
                run.schedule, run.device, run.images, run.labels, run.teacher)
    probe.optimizer = build_optimizer(run.cfg, probe.model)
    probe.model.train()
    times = []
    for _ in range(3 + PLAN_STEPS):
        idx = torch.randint(len(run.labels), (run.cfg.batch_size,), generator=probe.generator)
        started = time.perf_counter()
        train_step(probe, idx, run.cfg.learning_rate * 1e-3)
        times.append(time.perf_counter() - started)
    step_seconds = float(np.median(times[3:]))
    # Validation runs forward only on val_size faces: about a third of a training step per batch.
    epoch_seconds = step_seconds * (run.steps_per_epoch + val_size / run.cfg.batch_size / 3)
    return max(1, int(minutes * 60 // epoch_seconds))


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
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed 48x48 inputs: let cuDNN time its algorithms once
    data = dataset or load_dataset(cfg.data, seed=cfg.seed)
    teacher = None
    if cfg.teachers:
        teacher = torch.from_numpy(teacher_targets(cfg.teachers, data)["train"]).to(device)
    model = checkpoint.build_model(cfg)
    if cfg.init:
        checkpoint.load_init_weights(model, cfg)
    model = model.to(device).to(memory_format=torch.channels_last)
    state = checkpoint.load_resume(resume, device) if resume else None
    if state is not None and cfg.minutes:
        cfg = replace(cfg, epochs=state["config"]["epochs"])  # the plan made when the run began
    steps_per_epoch = math.ceil(len(data.train) / cfg.batch_size)
    # The training split lives where the network does (74 MB for FER-2013): no copy per batch on a GPU.
    run = Run(cfg, model, build_optimizer(cfg, model), build_ema(cfg, model), torch.Generator().manual_seed(cfg.seed),
              Schedule(cfg.learning_rate, steps_per_epoch, cfg.epochs, cfg.warmup_epochs), device,
              torch.from_numpy(data.train.images).to(device), torch.from_numpy(data.train.labels).to(device), teacher)
    if cfg.minutes and state is None:
        cfg = run.cfg = replace(cfg, epochs=plan_epochs(run, len(data.val), cfg.minutes))
        run.schedule = Schedule(cfg.learning_rate, steps_per_epoch, cfg.epochs, cfg.warmup_epochs)
        if show_progress:
            tqdm.write(f"{cfg.minutes:g} minutes: {cfg.epochs} epochs")
    history: list[dict] = []
    best = {"val_accuracy": -1.0, "epoch": 0}
    start_epoch = 1
    output = Path(cfg.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    if state is not None:
        history, best, start_epoch = checkpoint.restore(state, run.model, run.optimizer, run.ema, run.generator)

    for epoch in range(start_epoch, cfg.epochs + 1):
        started, cpu_started = time.perf_counter(), time.process_time()
        train_loss, train_acc, lr = train_one_epoch(run, epoch, show_progress)
        val_loss, val_acc = validate(run.evaluated, data.val, device)
        result = EpochResult(epoch, train_loss, train_acc, val_loss, val_acc, lr, time.perf_counter() - started,
                             time.process_time() - cpu_started)
        history.append(asdict(result))
        if show_progress:
            tqdm.write(f"epoch {epoch}/{cfg.epochs}  loss {train_loss:.4f}  acc {train_acc:.4f}  "
                       f"val_loss {val_loss:.4f}  val_acc {val_acc:.4f}  lr {lr:.4g}  {result.seconds:.0f}s")
        if val_acc > best["val_accuracy"]:
            best = {"val_accuracy": val_acc, "epoch": epoch}
            checkpoint.save_checkpoint(output, run.evaluated, cfg, data, history, best)
        checkpoint.save_atomic(checkpoint.resume_state(cfg, run.model, run.optimizer, run.ema, run.generator,
                                                       history, best, epoch), checkpoint.resume_path_for(output))
        if on_epoch_end:
            on_epoch_end(result, cfg.epochs)
    return checkpoint.finish_checkpoint(output, history)
