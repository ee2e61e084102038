"""The emotion model file contract, shared by the trainer that writes models and everything that runs them.

- input `input`: float32 [N, 1, 48, 48], one grey face crop per row, pixels scaled to 0..1
  (`to_input`), with a dynamic N;
- output `probabilities`: float32 [N, 7], softmax rows in `sentivis.labels.EMOTIONS` order;
- the crops are CROP_SIZE x CROP_SIZE uint8 grey images (what the detector cuts and the wire carries).

A file that breaks it is refused with ModelFileError, so a bad export never reaches the users.
Only numpy here: the gateway and the detector import this without ONNX Runtime.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sentivis.errors import SentivisError
from sentivis.labels import EMOTIONS, NUM_EMOTIONS

CROP_SIZE = 48
INPUT_NAME = "input"
OUTPUT_NAME = "probabilities"
INPUT_SHAPE = (1, CROP_SIZE, CROP_SIZE)  # after the batch dimension
LABELS = EMOTIONS


class ModelFileError(SentivisError, ValueError):
    """A model file that cannot be served: unreadable, not ONNX, or breaking this contract."""


def to_input(crops: np.ndarray) -> np.ndarray:
    """uint8 crops [N, 48, 48] -> the model's input, float32 [N, 1, 48, 48] in 0..1."""
    return np.asarray(crops).astype(np.float32).reshape(-1, *INPUT_SHAPE) / 255.0


def _fits(shape: list[Any], expected: tuple[int, ...]) -> bool:
    """A declared shape fits when its batch dimension is dynamic and every other one is
    either the expected size or symbolic (the probe run below checks those)."""
    dynamic = lambda dim: dim is None or isinstance(dim, str)  # noqa: E731
    return (len(shape) == len(expected) + 1 and dynamic(shape[0])
            and all(dynamic(d) or d == e for d, e in zip(shape[1:], expected, strict=False)))


def check_session(session: Any) -> None:
    """Raise ModelFileError unless an ONNX Runtime session has exactly the contract's input and output."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if [i.name for i in inputs] != [INPUT_NAME]:
        raise ModelFileError(f"the model must have one input named {INPUT_NAME!r}; it has {[i.name for i in inputs]}")
    if OUTPUT_NAME not in [o.name for o in outputs]:
        raise ModelFileError(f"the model must have an output named {OUTPUT_NAME!r}; "
                             f"it has {[o.name for o in outputs]}")
    inp = inputs[0]
    out = next(o for o in outputs if o.name == OUTPUT_NAME)
    if inp.type != "tensor(float)" or out.type != "tensor(float)":
        raise ModelFileError(f"input and output must be float32 tensors; they are {inp.type} and {out.type}")
    if not _fits(inp.shape, INPUT_SHAPE):
        raise ModelFileError(f"input {INPUT_NAME!r} must have shape [N, 1, {CROP_SIZE}, {CROP_SIZE}] with a dynamic N; "
                             f"it has {inp.shape}")
    if not _fits(out.shape, (NUM_EMOTIONS,)):
        raise ModelFileError(f"output {OUTPUT_NAME!r} must have shape [N, {NUM_EMOTIONS}] with a dynamic N; "
                             f"it has {out.shape}")
    # The declared shapes can lie; one small run shows what the graph really returns.
    probe = np.full((2, *INPUT_SHAPE), 0.5, dtype=np.float32)
    try:
        (probs,) = session.run([OUTPUT_NAME], {INPUT_NAME: probe})
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelFileError(f"the model fails on a [2, 1, {CROP_SIZE}, {CROP_SIZE}] input: {exc}") from exc
    if probs.shape != (2, NUM_EMOTIONS):
        raise ModelFileError(f"the model returned shape {list(probs.shape)} for 2 faces; expected [2, {NUM_EMOTIONS}]")
    if not np.all(np.isfinite(probs)) or np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
        raise ModelFileError(f"{OUTPUT_NAME!r} must be softmax probabilities (non-negative, rows summing to 1)")
