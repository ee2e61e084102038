"""Teacher predictions: small committed files that let several sessions' CPU hours add up.

A teacher is a network trained once (`python -m trainer teacher`, trainer/teacher.py); what
outlives it is its probabilities for every Training and PublicTest face, averaged over several
views (crops x mirror), in `trainer/teachers/<name>.npz` (float16, ~0.4 MB) with `<name>.json` beside it (recipe,
accuracy, time spent). The student (`train --teachers ...`) learns the ensemble's averaged
probabilities. PrivateTest is never predicted here: it stays unseen until the student's export.

Each split is stored with a fingerprint of its images and labels, so predictions are only ever
used with the exact data they were made for (row i of the file is face i of the split).
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sentivis import training
from sentivis.errors import SentivisError
from trainer.data import FaceDataset
from trainer.files import StagedFiles, write_json

SPLITS = ("train", "val")  # Training and PublicTest; PrivateTest is never predicted by a teacher
FORMAT = 1


class TeacherFileError(SentivisError, ValueError):
    """A teacher file that is missing, malformed, or made for other data; the message says which."""


@dataclass
class TeacherPredictions:
    name: str
    probabilities: dict[str, np.ndarray]  # split key ("train", "val") -> float32 [N, 7]
    labels: dict[str, np.ndarray]         # split key -> int64 [N]
    fingerprints: dict[str, str]
    info: dict

    def accuracy(self, split: str = "val") -> float:
        return float((self.probabilities[split].argmax(1) == self.labels[split]).mean())


def save(path: str | Path, name: str, probabilities: dict[str, np.ndarray], data: FaceDataset, info: dict) -> Path:
    """Write <path>.npz and <path>.json together (atomically); returns the .npz path."""
    path = Path(path).with_suffix(".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for key in SPLITS:
        split = getattr(data, key)
        probs = probabilities[key]
        if probs.shape != (len(split), 7):
            raise TeacherFileError(f"{key}: expected predictions of shape ({len(split)}, 7), got {probs.shape}")
        arrays[f"{key}_probabilities"] = probs.astype(np.float16)
        arrays[f"{key}_labels"] = split.labels.astype(np.uint8)
        arrays[f"{key}_fingerprint"] = np.array(split.fingerprint())
    arrays["format"] = np.array(FORMAT)
    with StagedFiles() as files:
        npz, card = files.stage(path), files.stage(path.with_suffix(".json"))
        with open(npz, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        write_json(card, {"name": name, "format": FORMAT, **info})
        files.commit()
    return path


def load(path: str | Path) -> TeacherPredictions:
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(".npz")
    if not path.is_file():
        raise TeacherFileError(f"{path}: no such teacher file")
    try:
        with np.load(path) as z:
            if int(z["format"]) != FORMAT:
                raise TeacherFileError(f"{path}: format {int(z['format'])}, this trainer reads {FORMAT}")
            probs = {k: z[f"{k}_probabilities"].astype(np.float32) for k in SPLITS}
            labels = {k: z[f"{k}_labels"].astype(np.int64) for k in SPLITS}
            prints = {k: str(z[f"{k}_fingerprint"]) for k in SPLITS}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, TeacherFileError):
            raise
        raise TeacherFileError(f"{path}: not a teacher file ({exc})") from None
    card = path.with_suffix(".json")
    info = json.loads(card.read_text()) if card.is_file() else {}
    return TeacherPredictions(info.get("name", path.stem), probs, labels, prints, info)


def committed_file(name: str) -> Path:
    """A committed teacher's predictions: trainer/teachers/<name>.npz (sentivis.training.TEACHERS_DIR)."""
    return training.TEACHERS_DIR / f"{name}.npz"


def resolve(name_or_path: str) -> Path:
    """A teacher given by name (a committed file) or by path. A path that is not on this machine
    (a checkpoint trained elsewhere names its teachers where they were) is taken to be the committed
    file of the same name, once it has been merged into trainer/teachers/."""
    path = Path(name_or_path)
    if path.suffix != ".npz" and not path.exists() and "/" not in name_or_path:
        return committed_file(name_or_path)
    if not path.exists() and path.suffix == ".npz" and committed_file(path.stem).is_file():
        return committed_file(path.stem)
    return path


def ensemble(teachers: list[TeacherPredictions]) -> dict[str, np.ndarray]:
    """The mean of the teachers' probabilities, per split; they must agree on the data."""
    if not teachers:
        raise TeacherFileError("no teacher files given")
    first = teachers[0]
    for t in teachers[1:]:
        if t.fingerprints != first.fingerprints:
            raise TeacherFileError(f"teachers {first.name} and {t.name} were made for different data")
    return {k: np.mean([t.probabilities[k] for t in teachers], axis=0) for k in SPLITS}


def targets_for(paths: list[str] | tuple[str, ...], data: FaceDataset) -> dict[str, np.ndarray]:
    """The averaged teacher probabilities for this data set's Training and PublicTest faces.

    Raises TeacherFileError when a file was made for other data (another CSV, another order).
    """
    teachers = [load(resolve(p)) for p in paths]
    for t in teachers:
        for key in SPLITS:
            if t.fingerprints[key] != getattr(data, key).fingerprint():
                raise TeacherFileError(f"teacher {t.name} was made for other {getattr(data, key).name} data "
                                       f"than {data.source}; it can only distill on the data it predicted")
    return ensemble(teachers)


def report(paths: list[str]) -> dict:
    """Each teacher's and the ensemble's PublicTest accuracy, from the committed files alone."""
    teachers = [load(resolve(p)) for p in paths]
    mean = ensemble(teachers)
    labels = teachers[0].labels["val"]
    return {"teachers": [{"name": t.name, "val_accuracy": t.accuracy("val"), "train_accuracy": t.accuracy("train"),
                          "views": t.info.get("views"), "cpu_hours": t.info.get("cpu_hours")} for t in teachers],
            "ensemble": {"size": len(teachers), "val_accuracy": float((mean["val"].argmax(1) == labels).mean()),
                         "train_accuracy": float((mean["train"].argmax(1) == teachers[0].labels["train"]).mean())}}
