"""Evaluation: `validate`, the train loop's per-epoch check, and a model file's full report on one split.

`evaluate_file` takes a .pt checkpoint or an .onnx file, optionally with ten-crop test-time views
(reporting only: the live classifier runs one 48x48 crop per face).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from sentivis.labels import NUM_EMOTIONS
from trainer import onnx_io
from trainer.checkpoint import load_model
from trainer.data import FaceSplit, load_dataset
from trainer.metrics import classification_report
from trainer.predict import predict_logits, ten_crops, to_float

Predictor = Callable[[np.ndarray], np.ndarray]  # float32 [N,1,48,48] in 0..1 -> probabilities [N,7]


def validate(model: torch.nn.Module, split: FaceSplit, device: torch.device) -> tuple[float, float]:
    """(loss, accuracy) of the plain softmax on a split, one pass per face."""
    logits = predict_logits(model, split.images, device=str(device))
    loss = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(split.labels)).item()
    return loss, float((logits.argmax(1) == split.labels).mean())


def load_predictor(model_path: str | Path) -> tuple[Predictor, dict]:
    """A predictor and a description of the model (its kind, temperature, checkpoint data path)."""
    path = Path(model_path)
    if not path.is_file():
        raise onnx_io.ModelFileError(f"{path}: no such model file")
    if path.suffix == ".onnx":
        sess = onnx_io.session(path, threads=0)
        return (lambda x: onnx_io.run(sess, x)), {"kind": "onnx", "calibrated": True}
    try:
        model, checkpoint = load_model(path)
    except Exception as exc:  # torch.load raises many types for a file that is not a checkpoint
        raise onnx_io.ModelFileError(f"{path}: cannot load the checkpoint: {exc}") from None

    @torch.no_grad()
    def predict(x: np.ndarray) -> np.ndarray:
        out = [torch.softmax(model(torch.from_numpy(x[i:i + 256])), dim=1) for i in range(0, len(x), 256)]
        return torch.cat(out).numpy() if out else np.zeros((0, NUM_EMOTIONS), np.float32)

    # A checkpoint carries no temperature: its probabilities are the plain softmax (T = 1).
    return predict, {"kind": "checkpoint", "calibrated": False, "data": checkpoint["config"].get("data"),
                     "seed": checkpoint["config"].get("seed", 0)}


def predict_split(predict: Predictor, split: FaceSplit, ten_crop: bool = False) -> np.ndarray:
    x = to_float(split.images)
    if not ten_crop:
        return predict(x)
    return np.mean([predict(np.ascontiguousarray(view)) for view in ten_crops(x)], axis=0)


def evaluate_file(model_path: str | Path, data_path: str | Path | None, split: str = "PrivateTest",
                  ten_crop: bool = False) -> dict:
    """Accuracy, macro-F1, per-class P/R/F1, confusion matrix and ECE of a model file on a split."""
    predict, info = load_predictor(model_path)
    data_path = data_path or info.get("data")
    if not data_path:
        raise ValueError("no data given and the model file does not name its training data")
    # The seed matters for the folder layout only, whose validation slice is drawn from train/.
    face_split = load_dataset(data_path, seed=info.get("seed", 0)).split(split)
    report = classification_report(predict_split(predict, face_split, ten_crop), face_split.labels)
    return {"model": str(model_path), "model_kind": info["kind"], "calibrated": info["calibrated"],
            "data": str(data_path), "split": face_split.name, "ten_crop": ten_crop, **report}


def format_report(report: dict) -> str:
    lines = [f"{report['model']} ({report['model_kind']}) on {report['split']} of {report['data']}"
             f"{' with ten-crop' if report['ten_crop'] else ''}: {report['samples']} faces",
             f"accuracy {report['accuracy']:.4f}   macro-F1 {report['macro_f1']:.4f}   "
             f"ECE {report['ece']:.4f}{'' if report['calibrated'] else ' (uncalibrated softmax)'}",
             "", f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for name, s in report["per_class"].items():
        lines.append(f"{name:<10}{s['precision']:>10.3f}{s['recall']:>10.3f}{s['f1']:>10.3f}{s['support']:>10}")
    names = list(report["per_class"])
    lines += ["", "confusion (rows true, columns predicted)", " " * 10 + "".join(f"{n[:7]:>8}" for n in names)]
    for name, row in zip(names, report["confusion_matrix"], strict=True):
        lines.append(f"{name:<10}" + "".join(f"{v:>8}" for v in row))
    return "\n".join(lines)


def per_class_markdown(report: dict) -> str:
    """The per-class scores of a report, or of a model card's test section, as a Markdown table
    (docs/MODEL.md holds the shipped card's: `python -m trainer card`)."""
    rows = report["per_class"]
    lines = ["| class | precision | recall | F1 | faces |", "|---|---:|---:|---:|---:|"]
    for name, s in rows.items():
        lines.append(f"| {name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']:,} |")
    mean = {k: sum(s[k] for s in rows.values()) / len(rows) for k in ("precision", "recall")}
    lines.append(f"| macro average | {mean['precision']:.3f} | {mean['recall']:.3f} | {report['macro_f1']:.3f} "
                 f"| {report['samples']:,} |")
    return "\n".join(lines)
