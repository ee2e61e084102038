"""Checkpoint -> calibrated ONNX model file, checked against PyTorch, with its model card and figures.

Order of work, so that nothing half-done is ever published:
1. fit the temperature on the validation split (the split that also selected the checkpoint);
2. export CalibratedEmotionNet to a hidden temporary file;
3. run it in ONNX Runtime on the real validation images and compare with PyTorch (parity);
4. report the test split once, measure speed, draw the figures, write the card;
5. rename card and figures into place, the .onnx last. Any failure removes every temporary file.
"""
from __future__ import annotations

import os
import statistics
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from sentivis import contract
from sentivis.labels import EMOTIONS
from sentivis.settings import Settings
from trainer import onnx_io, teachers
from trainer.calibrate import fit_temperature, negative_log_likelihood
from trainer.checkpoint import load_model
from trainer.data import FaceDataset, FaceSplit, load_dataset
from trainer.files import StagedFiles, file_sha256, write_json
from trainer.machine import cpu_name
from trainer.metrics import classification_report, expected_calibration_error
from trainer.model import CalibratedEmotionNet, count_multiply_adds, count_parameters
from trainer.plots import confusion_png, curves_png
from trainer.predict import predict_logits, to_float

CARD_FORMAT = 1
PARITY_TOLERANCE = 1e-4


ARCHITECTURE_NAMES = {"vgg": "EmotionNet, VGG-style CNN (trainer/model.py)",
                      "resnet": "ResEmotionNet, residual CNN (trainer/model.py)"}


def sibling_paths(onnx_path: Path) -> dict[str, Path]:
    """The files that travel with a model: <stem>.card.json, <stem>.confusion.png, <stem>.curves.png."""
    stem = onnx_path.with_suffix("")
    return {"card": Path(f"{stem}.card.json"), "confusion": Path(f"{stem}.confusion.png"),
            "curves": Path(f"{stem}.curves.png")}


def float_path_for(onnx_path: Path) -> Path:
    """Where `export --int8` keeps the float model: emotion-net.onnx -> emotion-net.float.onnx."""
    return onnx_path.with_name(f"{onnx_path.stem}.float.onnx")


def _softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return torch.softmax(torch.from_numpy(logits) / temperature, dim=1).numpy()


def _split_summary(split: FaceSplit, used_for: str) -> dict:
    return {"name": split.name, "size": len(split), "used_for": used_for,
            "class_counts": dict(zip(EMOTIONS, split.class_counts(), strict=True))}


def _history_summary(history: list[dict], best_epoch: int) -> dict:
    if not history:
        return {"epochs_run": 0}
    last = history[-1]
    return {"epochs_run": len(history), "best_epoch": best_epoch,
            "best_val_accuracy": max(h["val_accuracy"] for h in history),
            "final": {k: last[k] for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")},
            "training_seconds": round(sum(h["seconds"] for h in history), 1),
            # Wall time includes any pause of the run; the median epoch does not (duration estimates).
            "epoch_seconds_median": round(statistics.median(h["seconds"] for h in history), 1)}


def export_model(checkpoint_path: str | Path, output: str | Path, data: str | Path | FaceDataset | None = None,
                 parity_tolerance: float = PARITY_TOLERANCE, benchmark_runs: int = 200, threads: int = 0,
                 mirror_average: bool = False) -> dict:
    """Export, check and document one checkpoint; returns the model card (also written beside it).

    mirror_average: the graph averages each crop with its mirror image (see CalibratedEmotionNet);
    the card records validation accuracy with and without it, the evidence for the choice.

    threads: CPU threads for PyTorch and ONNX Runtime while evaluating (0: their defaults); the
    speed benchmark always uses one thread.
    """
    output = Path(output)
    if threads:
        torch.set_num_threads(threads)
    if output.suffix != ".onnx":
        raise ValueError(f"{output}: the exported model's name must end in .onnx")
    net, checkpoint = load_model(checkpoint_path)
    config = checkpoint["config"]
    if not isinstance(data, FaceDataset):
        data = load_dataset(data or config["data"], seed=config.get("seed", 0))
    data.check_has_test()  # before any work: the card reports PrivateTest, which a compact file lacks

    # Calibration on validation only; the test split is looked at once, below, for the report.
    val_logits = _logits(net, data.val.images, mirror_average)
    temperature = fit_temperature(val_logits, data.val.labels)
    calibrated = CalibratedEmotionNet(net, temperature, mirror_average).eval()
    val_x = to_float(data.val.images)

    output.parent.mkdir(parents=True, exist_ok=True)
    paths = sibling_paths(output)
    with StagedFiles() as files:
        # Staged in the order they are renamed: the .onnx appears last, when its card is there.
        staged = {name: files.stage(path) for name, path in paths.items()}
        staged["onnx"] = files.stage(output)
        onnx_io.export_onnx(calibrated, staged["onnx"])
        sess = onnx_io.session(staged["onnx"], threads=threads)
        val_probabilities = onnx_io.run(sess, val_x)
        max_diff = onnx_io.check_parity(val_probabilities, onnx_io.torch_probabilities(calibrated, val_x),
                                        parity_tolerance)
        test_report = classification_report(onnx_io.run(sess, to_float(data.test.images)), data.test.labels)
        card = {
            "card_format": CARD_FORMAT,
            "name": output.stem,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "file": _file_section(output, staged["onnx"]),
            "labels": list(EMOTIONS),
            "preprocessing": PREPROCESSING,
            "accuracy": test_report["accuracy"],
            "data": _data_section(data, checkpoint),
            "metrics": {"validation": _validation_section(net, checkpoint, data, val_logits, val_probabilities,
                                                          temperature),
                        "test": _test_section(net, data, test_report, mirror_average)},
            "calibration": {"method": "temperature scaling (Guo et al. 2017), LBFGS on the validation NLL",
                            "temperature": temperature, "fitted_on": data.val.name, "inside_graph": True},
            "parity": {"runtime": "onnxruntime", "split": data.val.name, "samples": len(data.val),
                       "max_abs_diff": max_diff, "tolerance": parity_tolerance},
            "inference": {"mirror_average": mirror_average,
                          "passes_per_face": 2 if mirror_average else 1,
                          "note": ("each 48x48 crop is run with its mirror image in one batch and the logits "
                                   "averaged, inside the graph" if mirror_average else "one pass per crop")},
            "model": {"architecture": ARCHITECTURE_NAMES[config.get("arch", "vgg")],
                      "widths": list(config["widths"]), "parameters": count_parameters(net),
                      "multiply_adds": count_multiply_adds(net)},
            "speed": model_speed(staged["onnx"], benchmark_runs),
            "training": _training_section(checkpoint_path, checkpoint),
        }
        confusion_png(test_report["confusion_matrix"], staged["confusion"],
                      f"{data.test.name}: accuracy {test_report['accuracy']:.3f}, "
                      f"macro-F1 {test_report['macro_f1']:.3f} (rows normalised)")
        curves_png(checkpoint["metrics"]["history"], staged["curves"], checkpoint["metrics"]["best_epoch"])
        write_json(staged["card"], card)
        files.commit()
    return card


PREPROCESSING = {
    "input": "one grey (luma) face crop of 48x48 pixels per face",
    "scale": "pixel / 255, so 0..1, float32, layout [N, 1, 48, 48]",
    "face_crop": (f"the detector's face box grown by a margin on each side (SENTIVIS_FACE_MARGIN, "
                  f"default {Settings.face_margin} of the box size), resized to 48x48: FER-2013 "
                  f"faces are loosely cropped like this"),
    "normalisation": "mean/std normalisation is inside the graph; do not normalise again"}


def _file_section(output: Path, staged: Path) -> dict:
    return {"name": output.name, "sha256": file_sha256(staged), "bytes": staged.stat().st_size,
            "opset": onnx_io.OPSET,
            "input": {"name": onnx_io.INPUT_NAME, "dtype": "float32", "shape": ["N", *contract.INPUT_SHAPE]},
            "output": {"name": onnx_io.OUTPUT_NAME, "dtype": "float32", "shape": ["N", len(EMOTIONS)],
                       "meaning": "softmax probabilities in label order, temperature inside"}}


def _data_section(data: FaceDataset, checkpoint: dict) -> dict:
    return {
        "source": data.source, "layout": data.layout,
        "splits": {
            "train": _split_summary(data.train, "training"),
            "validation": {**_split_summary(data.val, "selecting the checkpoint (best epoch) and fitting the "
                                                      "temperature"), "from": data.val_from},
            "test": _split_summary(data.test, "reported once, at export; never used for selection or tuning")},
        "checkpoint_selected_on": data.val.name,
        "calibration_fitted_on": data.val.name,
        "reported_on": data.test.name,
        "checkpoint_data": checkpoint.get("data")}


def _validation_section(net: torch.nn.Module, checkpoint: dict, data: FaceDataset, val_logits: np.ndarray,
                        val_probabilities: np.ndarray, temperature: float) -> dict:
    labels = data.val.labels
    return {"split": data.val.name, "samples": len(data.val),
            "accuracy": classification_report(val_probabilities, labels)["accuracy"],
            "checkpoint_accuracy": checkpoint["metrics"]["val_accuracy"],
            "accuracy_single_pass": float((_logits(net, data.val.images, False).argmax(1) == labels).mean()),
            "accuracy_mirror_average": float((_logits(net, data.val.images, True).argmax(1) == labels).mean()),
            "ece_after_calibration": expected_calibration_error(val_probabilities, labels),
            "nll_before_calibration": negative_log_likelihood(val_logits, labels),
            "nll_after_calibration": negative_log_likelihood(val_logits, labels, temperature)}


def _test_section(net: torch.nn.Module, data: FaceDataset, report: dict, mirror_average: bool) -> dict:
    """The test split's one report: the calibrated model's, and the ECE the plain softmax had."""
    plain = _softmax(_logits(net, data.test.images, mirror_average))
    return {"split": data.test.name,
            **{k: report[k] for k in ("samples", "accuracy", "macro_f1", "per_class", "confusion_matrix")},
            "ece_before_calibration": expected_calibration_error(plain, data.test.labels),
            "ece_after_calibration": report["ece"]}


def _training_section(checkpoint_path: str | Path, checkpoint: dict) -> dict:
    config, metrics = checkpoint["config"], checkpoint["metrics"]
    section = {"checkpoint": str(checkpoint_path), "config": config,
               "summary": _history_summary(metrics["history"], metrics["best_epoch"]),
               "history": metrics["history"]}
    if config.get("teachers"):
        section["distillation"] = distillation_summary(config["teachers"])
    return section


def distillation_summary(teacher_files: list[str]) -> dict:
    """The teachers a student learned from, as their committed files tell (PublicTest only)."""
    result = teachers.report(list(teacher_files))
    return {"teachers": result["teachers"], "ensemble_val_accuracy": result["ensemble"]["val_accuracy"],
            "files": list(teacher_files)}


def _logits(net: torch.nn.Module, images: np.ndarray, mirror_average: bool) -> np.ndarray:
    logits = predict_logits(net, images)
    if mirror_average:
        logits = (logits + predict_logits(net, np.ascontiguousarray(images[:, :, ::-1]))) / 2
    return logits


def model_speed(onnx_path: Path, runs: int) -> dict:
    import onnxruntime

    return {"ms_per_face": onnx_io.ms_per_face(onnx_path, runs=runs), "statistic": "median", "batch": 1,
            "threads": 1, "runs": runs, "runtime": f"onnxruntime {onnxruntime.__version__} CPUExecutionProvider",
            "cpu": cpu_name(), "load_average_1m": round(os.getloadavg()[0], 2)}
