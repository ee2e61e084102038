"""Puts one finished training job and two model versions in the stack's Redis, as the trainer would.

Usage: python e2e/seed_training.py REDIS_URL WORKDIR
Prints JSON: {"job": id, "versions": [older, newer]}. The models are tiny valid ONNX files that
meet the classifier's contract (uniform probabilities), so activating one is safe.
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import redis
from onnx import TensorProto, helper, numpy_helper

from sentivis import jobs, registry


def uniform_model(path: Path, bias: float) -> None:
    """input [N,1,48,48] -> Flatten -> MatMul(zeros) + bias -> Softmax -> probabilities [N,7]."""
    weights = numpy_helper.from_array(np.zeros((48 * 48, 7), dtype=np.float32), "w")
    offsets = numpy_helper.from_array(np.full(7, bias, dtype=np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["input"], ["flat"], axis=1),
         helper.make_node("MatMul", ["flat", "w"], ["logits0"]),
         helper.make_node("Add", ["logits0", "b"], ["logits"]),
         helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)],
        "uniform",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 1, 48, 48])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["n", 7])],
        [weights, offsets])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main() -> None:
    client = redis.Redis.from_url(sys.argv[1])
    work = Path(sys.argv[2])
    job = jobs.create_job(client, jobs.validate_params({"dataset": "fer2013.csv.gz", "epochs": 3}, work))
    jobs.update_job(client, job["id"], state="running")
    for epoch in (1, 2, 3):
        jobs.record_epoch(client, job["id"], {
            "epoch": epoch, "train_loss": 1.8 - 0.3 * epoch, "train_accuracy": 0.3 + 0.1 * epoch,
            "val_loss": 1.85 - 0.25 * epoch, "val_accuracy": 0.28 + 0.09 * epoch, "learning_rate": 0.05,
            "seconds": 12.5}, epochs=3)
    versions = []
    for i, bias in enumerate((0.0, 0.5)):
        path = work / f"e2e-model-{i}.onnx"
        uniform_model(path, bias)
        record = registry.register_model(client, path, {"test_accuracy": 0.5 + 0.1 * i}, activate=(i == 0))
        versions.append(record["version"])
    jobs.mark_succeeded(client, job["id"], {"accuracy": 0.61, "val_accuracy": 0.55, "test_accuracy": 0.6,
                                            "macro_f1": 0.52, "onnx_path": str(work / "e2e-model-1.onnx")},
                        versions[1])
    print(json.dumps({"job": job["id"], "versions": versions}))


if __name__ == "__main__":
    main()
