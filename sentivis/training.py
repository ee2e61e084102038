"""The training recipe: one schema for the trainer's CLI, the job API, the OpenAPI text and the page.

Every knob of a training run is a field of `TrainConfig`, with its default (the recipe that made
the shipped model), its range and one sentence of help. `trainer/cli.py` builds its flags from
it, the job API checks parameters with `check_params`, and `schema()` is what
`GET /api/v1/training/options` hands the page for its form. Pure Python: the gateway imports it
without PyTorch.
"""
from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from sentivis.errors import SentivisError

PRECISIONS = ("fp32", "bf16")
ARCHITECTURES = ("vgg", "resnet")
MAX_WIDTHS = 8
MAX_WIDTH = 1024
IMAGE_SIZE = 48
# The committed teacher predictions (trainer/teachers.py writes and reads them): NAME.npz, NAME.json.
TEACHERS_DIR = Path(__file__).resolve().parent.parent / "trainer" / "teachers"


class ParamsError(SentivisError, ValueError):
    """Training parameters that cannot be used; the message says which and why."""


def knob(default: Any, help: str, *, low: float | None = None, high: float | None = None,
         choices: tuple[str, ...] | None = None, job: bool = True, cli: bool = True, factory: Any = None):
    """A TrainConfig field with what the CLI, the job API and the page need to know about it.

    job: settable by a training job (the API and the page); cli: a `python -m trainer train` flag.
    """
    meta = {"help": help, "low": low, "high": high, "choices": choices, "job": job, "cli": cli}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class AugmentConfig:
    """Batch augmentation (trainer/augment.py); not a job parameter."""

    flip: float = 0.5
    max_rotation_deg: float = 10.0
    max_scale: float = 0.1  # zoom in/out by up to this fraction
    max_shift: float = 0.1  # translation as a fraction of the image size
    contrast: float = 0.2
    brightness: float = 0.1
    erase: float = 0.5  # probability of one random erasing rectangle
    erase_area: tuple[float, float] = (0.02, 0.2)


@dataclass
class TrainConfig:
    data: str = knob(MISSING, "fer2013.csv[.gz] or a folder with train/<class>/ and test/<class>/", job=False)
    output: str = knob("artifacts/emotion-net.pt", "checkpoint path (the best validation epoch)", job=False)
    epochs: int = knob(40, "passes over the training split", low=1, high=1000)
    minutes: float = knob(0.0, "time budget: when > 0, the number of epochs is set from the measured step "
                               "time so that training ends within this many minutes", low=0, high=7 * 24 * 60)
    batch_size: int = knob(128, "faces per optimizer step", low=1, high=4096)
    learning_rate: float = knob(0.05, "peak learning rate of SGD with Nesterov momentum, cosine schedule",
                                low=1e-6, high=10.0)
    weight_decay: float = knob(5e-4, "L2 weight decay on conv and linear weights", low=0.0, high=1.0)
    momentum: float = knob(0.9, "SGD momentum", low=0.0, high=0.999)
    warmup_epochs: float = knob(1.0, "linear learning-rate warm-up, in epochs", low=0.0, high=100.0)
    label_smoothing: float = knob(0.1, "label smoothing of the hard-label loss", low=0.0, high=0.9)
    dropout: float = knob(0.3, "dropout before the classifier layer", low=0.0, high=0.9)
    arch: str = knob("vgg", "network family: vgg (EmotionNet, two convs per stage, the shipped model's) or "
                            "resnet (two residual blocks per stage, twice as deep: a teacher)",
                     choices=ARCHITECTURES, job=False)
    widths: tuple[int, ...] = knob((24, 48, 96, 192, 384), "channels of each conv stage (wider: more "
                                   "accurate and slower)")
    precision: str = knob("bf16", "bf16 autocasts the forward pass and loss (float32 weights): about 1.7x "
                                  "faster on CPUs with AVX-512 bf16 / AMX and on recent GPUs, slower on "
                                  "CPUs without them", choices=PRECISIONS)
    ema_decay: float = knob(0.999, "decay of the exponential moving average of the weights, updated every "
                                   "step; the average is what is evaluated and exported (0: off)",
                            low=0.0, high=0.99999)
    mixup: float = knob(0.0, "mixup's Beta(a, a) parameter a (0: off)", low=0.0, high=10.0)
    cutmix: float = knob(0.0, "CutMix's Beta(a, a) parameter a (0: off)", low=0.0, high=10.0)
    mix_probability: float = knob(0.5, "share of batches mixed when mixup or CutMix is on (with both, "
                                       "half of the mixed batches each)", low=0.0, high=1.0)
    init: str = knob("", "start from this checkpoint's weights (same widths) instead of random ones: "
                         "fine-tuning, e.g. a student warm-started from one of its teachers", job=False)
    teachers: tuple[str, ...] = knob((), "committed teachers (trainer/teachers/NAME.npz) to distill from: the "
                                         "student learns their averaged probabilities; only for the data they "
                                         "predicted (FER-2013 as committed)")
    distill_weight: float = knob(0.7, "weight of the distillation loss against the hard-label loss",
                                 low=0.0, high=1.0)
    distill_temperature: float = knob(2.0, "temperature at which teacher and student distributions are "
                                           "compared (KL divergence, scaled by T^2)", low=0.5, high=20.0)
    seed: int = knob(0, "random seed (data order, augmentation, initial weights)", low=0, high=2**31 - 1)
    threads: int = knob(0, "torch CPU threads (0: torch's default)", low=0, high=256)
    device: str = knob("cpu", "torch device: cpu, cuda, cuda:1 ...", job=False)
    augment: AugmentConfig = knob(None, "batch augmentation", job=False, cli=False, factory=AugmentConfig)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["widths"] = list(self.widths)
        d["teachers"] = list(self.teachers)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """The inverse of as_dict, tolerant of keys older checkpoints carry and this version dropped."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        for name in ("widths", "teachers"):
            if name in values:
                values[name] = tuple(values[name])
        if isinstance(values.get("augment"), dict):
            values["augment"] = AugmentConfig(**{**values["augment"],
                                                 "erase_area": tuple(values["augment"].get("erase_area", (0.02, 0.2)))})
        return cls(**values)


def _fields(job: bool | None = None, cli: bool | None = None):
    for f in fields(TrainConfig):
        if job is not None and f.metadata["job"] != job:
            continue
        if cli is not None and f.metadata["cli"] != cli:
            continue
        yield f


def _kind(f) -> str:
    default = f.default
    if f.name == "widths":
        return "integer_list"
    if f.name == "teachers":
        return "string_list"
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, int):
        return "integer"
    if isinstance(default, float):
        return "number"
    return "string"


def committed_teachers() -> list[str]:
    """The names of the committed teacher files (TEACHERS_DIR/NAME.npz), read now: a teacher
    committed while the gateway runs is offered at once."""
    return sorted(p.stem for p in TEACHERS_DIR.glob("*.npz")) if TEACHERS_DIR.is_dir() else []


def schema() -> list[dict[str, Any]]:
    """The job parameters, in form order: name, type, default, range or choices, help.

    The teachers' choices are the committed teacher names at the time of the call."""
    out = []
    for f in _fields(job=True):
        m = f.metadata
        entry = {"name": f.name, "type": _kind(f), "default": list(f.default) if isinstance(f.default, tuple)
                 else f.default, "help": m["help"]}
        if m["low"] is not None:
            entry["minimum"], entry["maximum"] = m["low"], m["high"]
        if m["choices"]:
            entry["choices"] = list(m["choices"])
        if f.name == "teachers":
            entry["choices"] = committed_teachers()
        if f.name == "widths":
            entry.update(min_items=1, max_items=MAX_WIDTHS, minimum=1, maximum=MAX_WIDTH)
        out.append(entry)
    return out


def check_params(params: Any) -> dict[str, Any]:
    """Job parameters, checked against the schema, with every default filled in.

    `dataset` (a path relative to the datasets folder) is required and passed through; the caller
    checks that it lies inside that folder. ParamsError names the first bad parameter.
    """
    if not isinstance(params, dict):
        raise ParamsError("params must be a JSON object")
    allowed = ["dataset"] + [f.name for f in _fields(job=True)]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ParamsError(f"unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    if "dataset" not in params:
        raise ParamsError("dataset is required (a path relative to the datasets folder)")
    clean: dict[str, Any] = {"dataset": params["dataset"]}
    for f in _fields(job=True):
        clean[f.name] = _check_value(f, params.get(f.name, f.default))
    return clean


def as_integer(value: Any) -> int | None:
    """The int a JSON value stands for, or None. An integer is what JSON Schema (and so the OpenAPI
    document) calls one: any number without a fraction, 720.0 as well as 720, since JSON does not tell
    them apart and encoders differ in which they write. A bool is not one, though Python says so."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _check_value(f, value: Any) -> Any:
    m, kind = f.metadata, _kind(f)
    if kind == "string_list":
        return _check_teachers(f.name, value)
    if kind == "integer_list":
        widths = [as_integer(w) for w in value] if isinstance(value, (list, tuple)) else []
        if not 1 <= len(widths) <= MAX_WIDTHS or not all(w is not None and 1 <= w <= MAX_WIDTH for w in widths):
            raise ParamsError(f"{f.name} must be a list of 1..{MAX_WIDTHS} integers in 1..{MAX_WIDTH}, got {value!r}")
        return widths
    if m["choices"]:
        if value not in m["choices"]:
            raise ParamsError(f"{f.name} must be one of {', '.join(m['choices'])}, got {value!r}")
        return value
    number = as_integer(value) if kind == "integer" else value
    if number is None or isinstance(number, bool) or not isinstance(number, (int, float)):
        raise ParamsError(f"{f.name} must be {'an integer' if kind == 'integer' else 'a number'}, got {value!r}")
    # isfinite only on floats: it cannot convert a JSON integer of 400 digits, which the range refuses
    if (isinstance(number, float) and not math.isfinite(number)) or not m["low"] <= number <= m["high"]:
        raise ParamsError(f"{f.name} must lie in {m['low']}..{m['high']}, got {value!r}")
    return number if kind == "integer" else float(number)


def _check_teachers(name: str, value: Any) -> list[str]:
    """Names of committed teachers, each once (never a path: a job reads only committed files)."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ParamsError(f"{name} must be a list of committed teacher names, got {value!r}")
    offered = committed_teachers()
    for teacher in value:
        if teacher not in offered:
            raise ParamsError(f"{name}: {teacher!r} is not a committed teacher; committed: "
                              f"{', '.join(offered) or 'none'}")
    if len(set(value)) != len(value):
        raise ParamsError(f"{name} names a teacher more than once: {', '.join(value)}")
    return list(value)


def config_from_params(params: dict[str, Any], data: str, output: str) -> TrainConfig:
    """The TrainConfig of a checked job (check_params)."""
    values = {f.name: params[f.name] for f in _fields(job=True) if f.name in params}
    for name in ("widths", "teachers"):
        if name in values:
            values[name] = tuple(values[name])
    return TrainConfig(data=data, output=output, **values)


def multiply_adds(widths: tuple[int, ...] | list[int], image_size: int = IMAGE_SIZE, classes: int = 7) -> int:
    """Multiply-adds of one EmotionNet forward pass (two 3x3 convs per stage, 2x2 pooling between).

    trainer.model.count_multiply_adds measures the same number on the real network (tested equal);
    this one needs no PyTorch, so the gateway can estimate a job's duration.
    """
    total, cin, size = 0, 1, image_size
    for i, width in enumerate(widths):
        if i:
            size //= 2
        total += size * size * 9 * (cin * width + width * width)
        cin = width
    return total + cin * classes


# Speed of a training step by precision, relative to float32: 142 against 86 ms per batch of 128
# for the default network on the CPU that trained the shipped model (AVX-512 bf16 / AMX).
PRECISION_SPEEDUP = {"fp32": 1.0, "bf16": 142 / 86}


def estimate_basis(card: dict[str, Any] | None) -> dict[str, Any] | None:
    """The measured reference for `estimate_seconds`, from a model card the trainer exported.

    card: the model card (its training summary and config, its data and speed sections); None,
    or a card without a training run, gives None. The result is JSON-safe.
    """
    try:
        training = card["training"]
        summary = training["summary"]
        epochs = int(summary["epochs_run"])
        # The median epoch, where the card has it: a run paused for a while is not slower per epoch.
        seconds = (float(summary["epoch_seconds_median"]) * epochs if "epoch_seconds_median" in summary
                   else float(summary["training_seconds"]))
        widths = [int(w) for w in training["config"]["widths"]]
        precision = training["config"].get("precision", "fp32")
    except (KeyError, TypeError, ValueError):
        return None
    if seconds <= 0 or epochs <= 0 or not widths or precision not in PRECISION_SPEEDUP:
        return None
    faces = ((card.get("data") or {}).get("splits") or {}).get("train", {}).get("size")
    return {"seconds": seconds, "epochs": epochs, "widths": widths, "precision": precision,
            "multiply_adds": multiply_adds(widths), "training_faces": faces,
            "threads": training["config"].get("threads"), "cpu": (card.get("speed") or {}).get("cpu")}


def estimate_seconds(params: dict[str, Any], basis: dict[str, Any]) -> float:
    """Roughly how long training with `params` (checked by check_params) takes on the machine
    and data of `basis` (estimate_basis): its time per epoch, scaled by the network's
    multiply-adds and the precision's speed, times the epochs; a `minutes` budget is the answer
    itself. Export and evaluation afterwards add a minute or two. Teachers add nothing per epoch:
    their probabilities are read from a file once, and the distillation term is a softmax over
    7 classes beside the network's millions of multiply-adds per face.
    """
    if params["minutes"] > 0:
        return params["minutes"] * 60.0
    per_epoch = (basis["seconds"] / basis["epochs"] * multiply_adds(params["widths"]) / basis["multiply_adds"]
                 * PRECISION_SPEEDUP[basis["precision"]] / PRECISION_SPEEDUP[params["precision"]])
    return per_epoch * params["epochs"]
