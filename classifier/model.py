"""EmotionModel: one ONNX emotion model in ONNX Runtime (CPU), checked against the file contract.

The contract (DESIGN.md): input `input` float32 [N, 1, 48, 48] with grey pixels in 0..1 and a
dynamic N; output `probabilities` float32 [N, 7], softmax in sentivis.labels.EMOTIONS order.
A file that breaks it is refused with ModelError, so a bad export never reaches the users.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from sentivis.labels import NUM_EMOTIONS
from sentivis.protocol import CROP_SIZE
from sentivis.registry import read_card

log = logging.getLogger(__name__)

INPUT_NAME = "input"
OUTPUT_NAME = "probabilities"
INPUT_SHAPE = (1, CROP_SIZE, CROP_SIZE)  # after the batch dimension


class ModelError(ValueError):
    """The file cannot be served: unreadable, not ONNX, or breaking the input/output contract."""


def session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1  # one small graph at a time: no parallel branches to run
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; ORT's warnings about the graph are not ours to act on
    return options


# Where a model card may keep its test accuracy, most specific first.
_ACCURACY_KEYS = (("test_accuracy",), ("test", "accuracy"), ("metrics", "test_accuracy"),
                  ("metrics", "test", "accuracy"), ("accuracy",), ("metrics", "accuracy"))


def card_accuracy(card: dict[str, Any] | None) -> float | None:
    """Test accuracy from a model card, or None when it has none."""
    for keys in _ACCURACY_KEYS:
        value: Any = card or {}
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _fits(shape: list[Any], expected: tuple[int, ...]) -> bool:
    """A declared shape fits when its batch dimension is dynamic and every other one is
    either the expected size or symbolic (the probe run below checks those)."""
    dynamic = lambda dim: dim is None or isinstance(dim, str)  # noqa: E731
    return (len(shape) == len(expected) + 1 and dynamic(shape[0])
            and all(dynamic(d) or d == e for d, e in zip(shape[1:], expected)))


def check_contract(session: ort.InferenceSession) -> None:
    """Raise ModelError unless the session has exactly the contract's input and output."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if [i.name for i in inputs] != [INPUT_NAME]:
        raise ModelError(f"the model must have one input named {INPUT_NAME!r}; it has {[i.name for i in inputs]}")
    if OUTPUT_NAME not in [o.name for o in outputs]:
        raise ModelError(f"the model must have an output named {OUTPUT_NAME!r}; it has {[o.name for o in outputs]}")
    inp = inputs[0]
    out = next(o for o in outputs if o.name == OUTPUT_NAME)
    if inp.type != "tensor(float)" or out.type != "tensor(float)":
        raise ModelError(f"input and output must be float32 tensors; they are {inp.type} and {out.type}")
    if not _fits(inp.shape, INPUT_SHAPE):
        raise ModelError(f"input {INPUT_NAME!r} must have shape [N, 1, 48, 48] with a dynamic N; it has {inp.shape}")
    if not _fits(out.shape, (NUM_EMOTIONS,)):
        raise ModelError(f"output {OUTPUT_NAME!r} must have shape [N, {NUM_EMOTIONS}] with a dynamic N; "
                         f"it has {out.shape}")
    # The declared shapes can lie; one small run shows what the graph really returns.
    probe = np.full((2, *INPUT_SHAPE), 0.5, dtype=np.float32)
    try:
        (probs,) = session.run([OUTPUT_NAME], {INPUT_NAME: probe})
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"the model fails on a [2, 1, 48, 48] input: {exc}") from exc
    if probs.shape != (2, NUM_EMOTIONS):
        raise ModelError(f"the model returned shape {list(probs.shape)} for 2 faces; expected [2, {NUM_EMOTIONS}]")
    if not np.all(np.isfinite(probs)) or np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
        raise ModelError(f"{OUTPUT_NAME!r} must be softmax probabilities (non-negative, rows summing to 1)")


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
        """Load and check a model file; raises ModelError with the reason when it cannot be served.

        The bytes are read once, so the hash always describes exactly what was loaded.
        """
        path = Path(path).resolve()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read the model file {path}: {exc.strerror or exc}") from exc
        try:
            session = ort.InferenceSession(data, sess_options=session_options(threads),
                                           providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelError(f"{path} is not a loadable ONNX model: {exc}") from exc
        try:
            check_contract(session)
        except ModelError as exc:
            raise ModelError(f"{path} breaks the model contract: {exc}") from None
        sha256 = hashlib.sha256(data).hexdigest()
        card = read_card(path)
        card_sha = ((card or {}).get("file") or {}).get("sha256")
        if card_sha and card_sha != sha256:  # a stale card would show another model's accuracy
            log.warning("ignoring %s: it describes another file (sha256 %s)", path.stem + ".card.json", card_sha[:12])
            card = None
        if version is None:
            card_version = card.get("version") if card else None
            version = str(card_version) if card_version else f"{path.stem}-{sha256[:8]}"
        return cls(path=str(path), sha256=sha256, session=session, card=card, version=version,
                   source=source, batch=max(1, batch))

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """uint8 crops [N, 48, 48] -> float32 probabilities [N, 7], in batches of at most `batch`."""
        crops = np.asarray(crops)
        if crops.ndim != 3 or crops.shape[1:] != (CROP_SIZE, CROP_SIZE):
            raise ValueError(f"crops must have shape [N, {CROP_SIZE}, {CROP_SIZE}]; got {list(crops.shape)}")
        if len(crops) == 0:
            return np.zeros((0, NUM_EMOTIONS), dtype=np.float32)
        pixels = crops.astype(np.float32).reshape(-1, *INPUT_SHAPE) / 255.0
        parts = [self.session.run([OUTPUT_NAME], {INPUT_NAME: pixels[i:i + self.batch]})[0]
                 for i in range(0, len(pixels), self.batch)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def info(self) -> dict[str, Any]:
        """What results and heartbeats carry as models["emotion"]."""
        return {"ready": True, "version": self.version, "sha256": self.sha256,
                "accuracy": card_accuracy(self.card), "path": self.path, "source": self.source}


def not_loaded_info(path: str | None, source: str = "file") -> dict[str, Any]:
    """models["emotion"] while no model is loaded: the UI shows "Not loaded"."""
    return {"ready": False, "version": None, "sha256": None, "accuracy": None, "path": path, "source": source}
