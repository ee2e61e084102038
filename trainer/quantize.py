"""Exported float model -> int8 model for the CPU, checked against the float model on the validation split.

ONNX Runtime static quantization in QDQ form: per-channel int8 weights and uint8 activations
for the convolutions, pooling and the linear head, their ranges calibrated (MinMax) on a
seeded sample of *training* images. The temperature division and the softmax stay float, so
the output is still the contract's probabilities. On x86 with VNNI/AMX this runs the shipped
network about 2x faster at batch 1 (docs/BENCHMARKS.md).

Nothing is published unless the int8 model keeps the float model's validation accuracy within
`max_drop`; like export, the test split is reported once, at the end, and never used to decide.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from sentivis.errors import SentivisError
from trainer import onnx_io
from trainer.data import FaceDataset, load_dataset
from trainer.export import model_speed, sibling_paths
from trainer.files import StagedFiles, file_sha256, write_json
from trainer.metrics import classification_report
from trainer.plots import confusion_png
from trainer.predict import to_float

CALIBRATION_IMAGES = 2000
MAX_VALIDATION_DROP = 0.01  # accuracy points (as a fraction) the int8 model may lose on validation
QUANTIZED_OPS = ["Conv", "Gemm", "MaxPool", "Relu"]  # not Div/Softmax: probabilities stay float


class QuantizationError(SentivisError, RuntimeError):
    """The int8 model lost more validation accuracy than allowed; nothing was written."""


def quantize_onnx(source: Path, output: Path, calibration: np.ndarray) -> None:
    """Static QDQ int8 quantization of `source` into `output`; calibration: float32 [N,1,48,48] in 0..1."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(np.array_split(calibration, max(1, len(calibration) // 64)))

        def get_next(self) -> dict | None:
            batch = next(self.batches, None)
            return None if batch is None else {onnx_io.INPUT_NAME: np.ascontiguousarray(batch)}

    with tempfile.TemporaryDirectory(prefix="sentivis-quantize-") as scratch:
        prepared = Path(scratch) / "prepared.onnx"  # shapes inferred and graph simplified first, as ORT advises
        quant_pre_process(str(source), str(prepared))
        quantize_static(str(prepared), str(output), Batches(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, op_types_to_quantize=QUANTIZED_OPS)


def calibration_sample(data: FaceDataset, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    index = rng.choice(len(data.train), size=min(size, len(data.train)), replace=False)
    return to_float(data.train.images[np.sort(index)])


def quantize_model(source: str | Path, output: str | Path, data: str | Path | FaceDataset | None = None,
                   max_drop: float = MAX_VALIDATION_DROP, calibration_images: int = CALIBRATION_IMAGES,
                   seed: int = 0, benchmark_runs: int = 200) -> dict:
    """Quantize an exported model (its card must lie beside it); returns the int8 model's card.

    The new card is the float model's, with the file, the measurements and a `quantization`
    section replaced or added; its figures are redrawn (confusion) or copied (curves).
    """
    source, output = Path(source), Path(output)
    if output.suffix != ".onnx":
        raise ValueError(f"{output}: the quantized model's name must end in .onnx")
    if output.resolve() == source.resolve():
        raise ValueError(f"{output}: write the int8 model beside the float one, not over it")
    source_card_path = sibling_paths(source)["card"]
    if not source_card_path.is_file():
        raise onnx_io.ModelFileError(f"{source}: its model card {source_card_path} is missing; "
                                     f"quantize a model written by `python -m trainer export`")
    card = json.loads(source_card_path.read_text())
    if not isinstance(data, FaceDataset):
        data = load_dataset(data or card["data"]["source"], seed=card["training"]["config"].get("seed", 0))
    data.check_has_test()
    val_x, test_x = to_float(data.val.images), to_float(data.test.images)
    float_val = onnx_io.run(onnx_io.session(source, threads=0), val_x)

    output.parent.mkdir(parents=True, exist_ok=True)
    paths = sibling_paths(output)
    with StagedFiles() as files:
        staged = {name: files.stage(path) for name, path in paths.items()}
        staged["onnx"] = files.stage(output)
        quantize_onnx(source, staged["onnx"], calibration_sample(data, calibration_images, seed))
        sess = onnx_io.session(staged["onnx"], threads=0)
        int8_val = onnx_io.run(sess, val_x)
        float_acc = float((float_val.argmax(1) == data.val.labels).mean())
        int8_acc = float((int8_val.argmax(1) == data.val.labels).mean())
        if float_acc - int8_acc > max_drop:
            raise QuantizationError(f"int8 validation accuracy {int8_acc:.4f} is {float_acc - int8_acc:.4f} below "
                                    f"the float model's {float_acc:.4f} (at most {max_drop} allowed)")
        test_report = classification_report(onnx_io.run(sess, test_x), data.test.labels)
        val_report = classification_report(int8_val, data.val.labels)
        card["name"] = output.stem
        card["file"].update({"name": output.name, "sha256": file_sha256(staged["onnx"]),
                             "bytes": staged["onnx"].stat().st_size})
        card["accuracy"] = test_report["accuracy"]
        card["metrics"]["validation"].update({"accuracy": val_report["accuracy"], "accuracy_float": float_acc})
        card["metrics"]["test"].update({k: test_report[k] for k in (
            "samples", "accuracy", "macro_f1", "per_class", "confusion_matrix")})
        card["metrics"]["test"]["ece_after_calibration"] = test_report["ece"]
        card["quantization"] = {
            "method": "ONNX Runtime static quantization, QDQ format, per-channel int8 weights, uint8 "
                      "activations, MinMax ranges; temperature and softmax stay float",
            "quantized_ops": QUANTIZED_OPS,
            "calibration": {"split": data.train.name, "images": min(calibration_images, len(data.train)),
                            "seed": seed},
            "from": {"name": source.name, "sha256": file_sha256(source),
                     "ms_per_face": model_speed(source, benchmark_runs)["ms_per_face"]},
            "checked_on": data.val.name, "max_allowed_drop": max_drop,
            "validation_accuracy_float": float_acc, "validation_accuracy_int8": int8_acc,
            "top1_agreement": float((float_val.argmax(1) == int8_val.argmax(1)).mean()),
            "max_abs_diff_probabilities": float(np.abs(float_val - int8_val).max())}
        card["speed"] = model_speed(staged["onnx"], benchmark_runs)  # right after the float model's, same run
        confusion_png(test_report["confusion_matrix"], staged["confusion"],
                      f"{data.test.name}: accuracy {test_report['accuracy']:.3f}, "
                      f"macro-F1 {test_report['macro_f1']:.3f} (rows normalised, int8)")
        shutil.copyfile(sibling_paths(source)["curves"], staged["curves"])
        write_json(staged["card"], card)
        files.commit()
    return card

