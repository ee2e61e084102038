"""The classify stage: face crops -> each face's Emotion (the model in ONNX Runtime, CPU) and appearance.

`classify` (sentivis/stages/__init__.py has the whole journey) and the model it runs.
`EmotionModel.load` (and `from_bytes`) refuses a file that breaks the model file contract
(sentivis.contract) with ModelFileError. Needs onnxruntime: the detector and gateway images do
not import this module.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from sentivis.contract import CROP_SIZE, INPUT_NAME, LABELS, OUTPUT_NAME, ModelFileError, check_session, to_input
from sentivis.labels import NUM_EMOTIONS
from sentivis.protocol import Emotion, EmotionInfo, Face
from sentivis.registry import read_card
from sentivis.tracking.appearance import appearance_bytes

log = logging.getLogger(__name__)


def session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1  # one small graph at a time: no parallel branches to run
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; ORT's warnings about the graph are not ours to act on
    return options


def card_accuracy(card: dict[str, Any] | None) -> float | None:
    """The test accuracy of the model file a card describes (its top-level `accuracy`, as
    trainer/export.py and trainer/quantize.py write it), or None."""
    value = (card or {}).get("accuracy")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass
class EmotionModel:
    path: str
    sha256: str
    session: ort.InferenceSession = field(repr=False)
    card: dict[str, Any] | None = None
    version: str | None = None
    source: str = "file"  # "registry" when the registry's active version chose the file
    batch: int = 64

    @classmethod
    def load(cls, path: str | Path, threads: int = 1, batch: int = 64, source: str = "file",
             version: str | None = None) -> "EmotionModel":
        """Load and check a model file and the card beside it; raises ModelFileError with the
        reason when it cannot be served.

        The bytes are read once, so the hash always describes exactly what was loaded.
        """
        path = Path(path).resolve()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelFileError(f"cannot read the model file {path}: {exc.strerror or exc}") from exc
        return cls.from_bytes(data, str(path), read_card(path), threads, batch, source, version)

    @classmethod
    def from_bytes(cls, data: bytes, name: str, card: dict[str, Any] | None = None, threads: int = 1,
                   batch: int = 64, source: str = "file", version: str | None = None) -> "EmotionModel":
        """Load and check a model's bytes (a file's, or the registry's in Redis); raises ModelFileError.

        name: where the bytes come from (a path, a Redis key), for errors and `info()`; card: the
        model card, dropped when it describes other bytes; version: default the card's, else
        name's stem and the start of the sha256.
        """
        try:
            session = ort.InferenceSession(data, sess_options=session_options(threads),
                                           providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelFileError(f"{name} is not a loadable ONNX model: {exc}") from exc
        try:
            check_session(session)
        except ModelFileError as exc:
            raise ModelFileError(f"{name} breaks the model contract: {exc}") from None
        sha256 = hashlib.sha256(data).hexdigest()
        card_sha = ((card or {}).get("file") or {}).get("sha256")
        if card_sha and card_sha != sha256:  # a stale card would show another model's accuracy
            log.warning("ignoring the model card of %s: it describes another file (sha256 %s)", name, card_sha[:12])
            card = None
        if version is None:
            card_version = card.get("version") if card else None
            version = str(card_version) if card_version else f"{Path(name).stem}-{sha256[:8]}"
        return cls(path=name, sha256=sha256, session=session, card=card, version=version,
                   source=source, batch=max(1, batch))

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """uint8 crops [N, 48, 48] -> float32 probabilities [N, 7], in batches of at most `batch`."""
        crops = np.asarray(crops)
        if crops.ndim != 3 or crops.shape[1:] != (CROP_SIZE, CROP_SIZE):
            raise ValueError(f"crops must have shape [N, {CROP_SIZE}, {CROP_SIZE}]; got {list(crops.shape)}")
        if len(crops) == 0:
            return np.zeros((0, NUM_EMOTIONS), dtype=np.float32)
        pixels = to_input(crops)
        parts = [self.session.run([OUTPUT_NAME], {INPUT_NAME: pixels[i:i + self.batch]})[0]
                 for i in range(0, len(pixels), self.batch)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def warm_up(self) -> None:
        """One run at batch 1 and one at the largest batch: ONNX Runtime's first run of each shape
        allocates and plans, which a served frame should not pay."""
        for n in sorted({1, self.batch}):
            self.predict(np.zeros((n, CROP_SIZE, CROP_SIZE), dtype=np.uint8))

    def info(self) -> EmotionInfo:
        """What results and heartbeats carry as models.emotion."""
        return EmotionInfo(ready=True, version=self.version, sha256=self.sha256, accuracy=card_accuracy(self.card),
                           path=self.path, source=self.source)


def not_loaded_info(path: str | None, source: str = "file") -> EmotionInfo:
    """models.emotion while no model is loaded: the UI shows "Not loaded"."""
    return EmotionInfo(ready=False, path=path, source=source)


def emotion_of(probabilities: np.ndarray) -> Emotion:
    """One face's model output -> its Emotion, probabilities in label order."""
    best = int(np.argmax(probabilities))
    return Emotion(LABELS[best], float(probabilities[best]),
                   {label: float(p) for label, p in zip(LABELS, probabilities, strict=True)})


def classify(model: EmotionModel | None, faces: list[Face], crops: np.ndarray) -> None:
    """Each face's emotion (None without a model) and appearance, from its crop (uint8 [N, 48, 48],
    in the order of `faces`): one model run for all of them, whatever frames they come from. The
    appearance is set with or without a model: the gateway tells people apart by their look either way."""
    probabilities = model.predict(crops) if model is not None and len(faces) else None
    for i, face in enumerate(faces):
        face.emotion = None if probabilities is None else emotion_of(probabilities[i])
        face.appearance = appearance_bytes(crops[i])
