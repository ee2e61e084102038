"""The ONNX side of the model file contract: export, ONNX Runtime sessions, parity and speed."""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sentivis.contract import CROP_SIZE as IMAGE_SIZE
from sentivis.contract import INPUT_NAME, OUTPUT_NAME, ModelFileError, check_session
from sentivis.errors import SentivisError
from sentivis.labels import NUM_EMOTIONS

# The model file contract (names, crop size, the one exception for a file that breaks it) is
# sentivis/contract.py; the trainer's modules use those names through this one.
OPSET = 17


class ParityError(SentivisError, RuntimeError):
    """ONNX Runtime and PyTorch disagree on the same inputs by more than the tolerance."""


def export_onnx(model: nn.Module, path: Path) -> None:
    """model: grey [N,1,48,48] in 0..1 -> probabilities [N,7]; N stays dynamic in the graph."""
    model = model.cpu().eval()
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of dynamo, which needs onnxscript;
        # this one is what the project pins and tests.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, torch.rand(1, 1, IMAGE_SIZE, IMAGE_SIZE), str(path), dynamo=False,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=OPSET,
                          dynamic_axes={INPUT_NAME: {0: "n"}, OUTPUT_NAME: {0: "n"}})
    import onnx

    onnx.checker.check_model(str(path), full_check=True)


def session(path: str | Path, threads: int = 1):
    """A CPU ONNX Runtime session that checks the model file contract."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types for missing and broken files
        raise ModelFileError(f"{path}: cannot load the ONNX model: {exc}") from None
    try:
        check_session(sess)
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    return sess


def run(sess, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """float32 [N,1,48,48] in 0..1 -> probabilities float32 [N,7]."""
    out = [sess.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(x[i:i + batch_size], dtype=np.float32)})[0]
           for i in range(0, len(x), batch_size)]
    probabilities = np.concatenate(out) if out else np.zeros((0, NUM_EMOTIONS), np.float32)
    if probabilities.shape != (len(x), NUM_EMOTIONS):
        raise ModelFileError(f"model output has shape {probabilities.shape}, expected ({len(x)}, {NUM_EMOTIONS})")
    return probabilities


@torch.no_grad()
def torch_probabilities(model: nn.Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    model.eval()
    return torch.cat([model(torch.from_numpy(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]).numpy()


def check_parity(onnx_probabilities: np.ndarray, torch_probabilities: np.ndarray, tolerance: float) -> float:
    """Max abs difference between ONNX Runtime's and PyTorch's probabilities on the same images."""
    if onnx_probabilities.shape != torch_probabilities.shape or len(onnx_probabilities) == 0:
        raise ParityError(f"cannot compare outputs of shapes {onnx_probabilities.shape} and "
                          f"{torch_probabilities.shape}")
    diff = float(np.abs(onnx_probabilities - torch_probabilities).max())
    if not diff <= tolerance:  # also catches NaN
        raise ParityError(f"ONNX Runtime and PyTorch differ by up to {diff:.3g} on the probabilities of "
                          f"{len(onnx_probabilities)} images (tolerance {tolerance:g})")
    return diff


def ms_per_face(path: str | Path, runs: int = 200, warmup: int = 20) -> float:
    """Median latency of one face (batch 1) on one CPU thread, in milliseconds."""
    if runs < 1:
        raise ValueError(f"benchmark runs must be at least 1, got {runs}")
    sess = session(path, threads=1)
    x = np.random.default_rng(0).random((1, 1, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    timings = []
    for i in range(warmup + runs):
        started = time.perf_counter()
        sess.run([OUTPUT_NAME], {INPUT_NAME: x})
        if i >= warmup:
            timings.append(time.perf_counter() - started)
    return float(np.median(timings) * 1000)
