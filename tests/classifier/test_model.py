"""EmotionModel: loading, the input/output contract, predictions, the info the UI shows."""
from __future__ import annotations

import hashlib

import msgspec
import numpy as np
import pytest
import torch
from torch import nn

from sentivis.contract import ModelFileError
from sentivis.labels import NUM_EMOTIONS
from sentivis.stages.classify import EmotionModel, card_accuracy
from tests.classifier.harness import real_faces
from tests.support.models import export


class Tiny(nn.Module):
    """A linear model over the pixels; channels and classes chosen to break the contract on purpose."""

    def __init__(self, channels=1, classes=NUM_EMOTIONS, softmax=True):
        super().__init__()
        self.linear = nn.Linear(channels * 48 * 48, classes)
        self.softmax = softmax

    def forward(self, x):
        y = self.linear(torch.flatten(x, 1))
        return torch.softmax(y, dim=1) if self.softmax else y


def test_predicts_probabilities_for_real_faces(model_files):
    model = EmotionModel.load(model_files["a"])
    faces = real_faces(10)
    probs = model.predict(faces)
    assert probs.shape == (10, NUM_EMOTIONS) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert model.predict(faces[:0]).shape == (0, NUM_EMOTIONS)


def test_small_batches_give_the_same_answers(model_files):
    faces = real_faces(10)
    whole = EmotionModel.load(model_files["a"], batch=64).predict(faces)
    in_threes = EmotionModel.load(model_files["a"], batch=3).predict(faces)
    np.testing.assert_allclose(in_threes, whole, atol=1e-6)


class MeanProbe(nn.Module):
    """Returns [mean pixel, 1 - mean pixel, 0, ...]: shows what the model was given. Its exported
    output has a symbolic second dimension, so only running it reveals the column count."""

    def __init__(self, classes=NUM_EMOTIONS):
        super().__init__()
        self.classes = classes

    def forward(self, x):
        m = x.mean(dim=(1, 2, 3)).unsqueeze(1)
        return torch.cat([m, 1 - m, torch.zeros(x.shape[0], self.classes - 2)], dim=1)


def test_pixels_are_scaled_to_0_1(tmp_path):
    model = EmotionModel.load(export(MeanProbe(), tmp_path / "probe.onnx"))
    probs = model.predict(np.full((2, 48, 48), 255, dtype=np.uint8))
    np.testing.assert_allclose(probs[:, 0], 1.0, atol=1e-6)


def test_info_carries_hash_card_version_and_accuracy(model_files):
    info = msgspec.to_builtins(EmotionModel.load(model_files["a"]).info())
    assert info["ready"] is True
    assert info["sha256"] == hashlib.sha256(model_files["a"].read_bytes()).hexdigest()
    assert info["version"] == "test-a"
    assert info["accuracy"] == pytest.approx(0.6)
    assert info["path"] == str(model_files["a"].resolve()) and info["source"] == "file"


def test_without_a_card_the_version_names_the_file_and_hash(model_files, tmp_path):
    path = tmp_path / "plain.onnx"
    path.write_bytes(model_files["a"].read_bytes())
    info = msgspec.to_builtins(EmotionModel.load(path).info())
    assert info["version"] == "plain-" + info["sha256"][:8]
    assert info["accuracy"] is None


def test_a_card_that_describes_another_file_is_ignored(model_files, tmp_path):
    path = tmp_path / "emotion.onnx"
    path.write_bytes(model_files["b"].read_bytes())
    (tmp_path / "emotion.card.json").write_text(model_files["a"].with_name("emotion-a.card.json").read_text())
    info = msgspec.to_builtins(EmotionModel.load(path).info())
    assert info["accuracy"] is None and info["version"] == "emotion-" + info["sha256"][:8]


@pytest.mark.parametrize("card, accuracy", [
    ({"accuracy": 0.71, "metrics": {"test": {"accuracy": 0.71}}}, 0.71),  # as trainer/export.py writes it
    ({"accuracy": 1}, 1.0),
    ({"metrics": {"test": {"accuracy": 0.69}}}, None),  # the card's one place is its top-level accuracy
    ({"accuracy": True}, None),
    ({}, None),
    (None, None),
])
def test_card_accuracy(card, accuracy):
    assert card_accuracy(card) == (pytest.approx(accuracy) if accuracy is not None else None)


@pytest.mark.parametrize("build, message", [
    (lambda p: export(Tiny(), p, input_name="x"), "one input named 'input'"),
    (lambda p: export(Tiny(), p, output_name="probs"), "output named 'probabilities'"),
    (lambda p: export(Tiny(channels=3), p, input_shape=(1, 3, 48, 48)), "shape [N, 1, 48, 48]"),
    (lambda p: export(Tiny(classes=5), p), "shape [N, 7]"),
    (lambda p: export(Tiny(), p, dynamic=False), "dynamic N"),
    (lambda p: export(MeanProbe(classes=5), p), "returned shape [2, 5] for 2 faces"),
    (lambda p: export(Tiny(softmax=False), p), "softmax probabilities"),
    (lambda p: p.write_bytes(b"this is not an ONNX model"), "not a loadable ONNX model"),
    (lambda p: None, "cannot read the model file"),
], ids=["input-name", "output-name", "input-shape", "output-shape", "fixed-batch", "run-shape", "logits", "garbage",
        "missing"])
def test_refuses_a_file_that_breaks_the_contract(tmp_path, build, message):
    path = tmp_path / "bad.onnx"
    build(path)
    with pytest.raises(ModelFileError) as raised:
        EmotionModel.load(path)
    assert message in str(raised.value)
    assert str(path) in str(raised.value)


def test_predict_rejects_crops_of_the_wrong_shape(model_files):
    model = EmotionModel.load(model_files["a"])
    with pytest.raises(ValueError, match=r"\[N, 48, 48\]"):
        model.predict(np.zeros((2, 32, 32), dtype=np.uint8))
