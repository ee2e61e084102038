"""Load -> train one epoch -> checkpoint -> export (calibration, parity, card, figures) -> evaluate."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image

from sentivis.labels import EMOTIONS
from sentivis.training import TrainConfig
from tests.support.fer import SPLIT_SIZES, TINY_WIDTHS, write_class_folders
from trainer import onnx_io
from trainer.checkpoint import load_model, resume_path_for
from trainer.cli import main
from trainer.export import export_model, sibling_paths
from trainer.predict import ten_crops, to_float
from trainer.train import train


def train_tiny(data, output, epochs: int = 1):
    cfg = TrainConfig(data=str(data), output=str(output), epochs=epochs, batch_size=32, widths=TINY_WIDTHS,
                      threads=1, learning_rate=0.02)
    return train(cfg, show_progress=False)


@pytest.fixture
def checkpoint(tmp_path, fer_csv_gz):
    out = tmp_path / "run" / "net.pt"
    train_tiny(fer_csv_gz, out, epochs=2)
    return out


def test_training_writes_a_resumable_checkpoint(tmp_path, fer_csv):
    out = tmp_path / "net.pt"
    metrics = train_tiny(fer_csv, out)
    assert out.is_file() and resume_path_for(out).is_file()
    assert not list(tmp_path.glob(".*.tmp"))  # checkpoints are written atomically
    assert [h["epoch"] for h in metrics["history"]] == [1]
    model, ckpt = load_model(out)
    assert tuple(ckpt["config"]["widths"]) == TINY_WIDTHS
    assert ckpt["data"]["val_size"] == SPLIT_SIZES["PublicTest"]
    assert model(torch.rand(3, 1, 48, 48)).shape == (3, 7)
    # Resuming runs the remaining epochs only and keeps the earlier history.
    cfg = TrainConfig(data=str(fer_csv), output=str(out), epochs=2, batch_size=32, widths=TINY_WIDTHS, threads=1,
                      learning_rate=0.02)
    resumed = train(cfg, resume=str(resume_path_for(out)), show_progress=False)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2]


def test_bf16_training_learns_and_its_checkpoint_exports_with_float_parity(tmp_path, fer_csv):
    out = tmp_path / "net.pt"
    cfg = TrainConfig(data=str(fer_csv), output=str(out), epochs=2, batch_size=32, widths=TINY_WIDTHS, threads=1,
                      learning_rate=0.02, precision="bf16")
    metrics = train(cfg, show_progress=False)
    history = metrics["history"]
    assert [h["epoch"] for h in history] == [1, 2] and all(np.isfinite(h["train_loss"]) for h in history)
    assert history[1]["train_loss"] < history[0]["train_loss"]  # it learns under autocast
    model, ckpt = load_model(out)
    assert ckpt["config"]["precision"] == "bf16"
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay float32
    card = export_model(out, tmp_path / "m.onnx", benchmark_runs=5)
    assert card["parity"]["max_abs_diff"] <= 1e-4
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16"):
        train(TrainConfig(data=str(fer_csv), output=str(out), precision="fp16"), show_progress=False)


def test_export_writes_a_checked_model_and_its_card(tmp_path, checkpoint, fer_csv_gz, capsys):
    output = tmp_path / "models" / "emotion-net.onnx"
    assert main(["export", str(checkpoint), "--output", str(output), "--benchmark-runs", "5"]) == 0
    assert "exported" in capsys.readouterr().out
    paths = sibling_paths(output)
    assert output.is_file() and all(p.is_file() for p in paths.values())
    assert sorted(p.name for p in output.parent.iterdir()) == sorted(
        ["emotion-net.onnx", "emotion-net.card.json", "emotion-net.confusion.png", "emotion-net.curves.png"])

    # The file follows the contract: input [N,1,48,48] 0..1, output softmax [N,7], N dynamic.
    sess = onnx_io.session(output)
    assert sess.get_inputs()[0].shape[1:] == [1, 48, 48]
    faces = to_float(np.stack([np.asarray(Image.new("L", (48, 48), 128))] * 5))
    probabilities = onnx_io.run(sess, faces, batch_size=5)
    assert probabilities.shape == (5, 7) and np.allclose(probabilities.sum(1), 1, atol=1e-5)

    card = json.loads(paths["card"].read_text())
    assert card["labels"] == list(EMOTIONS)
    assert card["file"]["sha256"] == hashlib.sha256(output.read_bytes()).hexdigest()
    splits = card["data"]["splits"]
    assert {k: splits[k]["size"] for k in splits} == {"train": 160, "validation": 48, "test": 72}
    assert splits["validation"]["name"] == "PublicTest" and splits["test"]["name"] == "PrivateTest"
    assert sum(splits["test"]["class_counts"].values()) == 72
    assert card["data"]["checkpoint_selected_on"] == card["data"]["calibration_fitted_on"] == "PublicTest"
    test = card["metrics"]["test"]
    assert test["split"] == "PrivateTest" and test["samples"] == 72
    assert np.array(test["confusion_matrix"]).sum() == 72 and set(test["per_class"]) == set(EMOTIONS)
    assert card["metrics"]["validation"]["samples"] == 48
    assert card["accuracy"] == test["accuracy"]
    assert 0 <= test["ece_before_calibration"] <= 1 and 0 <= test["ece_after_calibration"] <= 1
    # Temperature scaling is fitted to lower the validation NLL, never to raise it.
    val = card["metrics"]["validation"]
    assert val["nll_after_calibration"] <= val["nll_before_calibration"] + 1e-9
    assert card["calibration"]["temperature"] > 0
    assert card["parity"]["max_abs_diff"] <= 1e-4 and card["parity"]["samples"] == 48
    assert card["model"]["parameters"] > 0 and card["model"]["multiply_adds"] > card["model"]["parameters"]
    assert card["speed"]["ms_per_face"] > 0 and card["speed"]["batch"] == 1 and card["speed"]["threads"] == 1
    assert card["training"]["summary"]["epochs_run"] == 2 and len(card["training"]["history"]) == 2
    seconds = sorted(h["seconds"] for h in card["training"]["history"])
    assert card["training"]["summary"]["epoch_seconds_median"] == pytest.approx(sum(seconds) / 2, abs=0.051)
    assert card["training"]["config"]["widths"] == list(TINY_WIDTHS)
    assert "48x48" in card["preprocessing"]["input"] and card["created_at"]
    for figure in ("confusion", "curves"):
        with Image.open(paths[figure]) as image:
            assert image.format == "PNG" and image.width > 300

    # Evaluating the exported file reports the requested split, and agrees with the checkpoint
    # (temperature scaling never changes the predicted class).
    assert main(["evaluate", str(output), str(fer_csv_gz), "--split", "PrivateTest", "--json"]) == 0
    onnx_report = json.loads(capsys.readouterr().out)
    assert onnx_report["split"] == "PrivateTest" and onnx_report["samples"] == 72
    assert onnx_report["accuracy"] == pytest.approx(test["accuracy"])
    assert onnx_report["confusion_matrix"] == test["confusion_matrix"]
    assert main(["evaluate", str(checkpoint), "--split", "PublicTest", "--json"]) == 0
    pt_val = json.loads(capsys.readouterr().out)
    assert pt_val["samples"] == 48 and pt_val["model_kind"] == "checkpoint"
    assert pt_val["accuracy"] == pytest.approx(card["metrics"]["validation"]["checkpoint_accuracy"])
    assert main(["evaluate", str(checkpoint), str(fer_csv_gz)]) == 0
    text = capsys.readouterr().out
    assert "PrivateTest" in text and "72 faces" in text and "macro-F1" in text


def test_ten_crop_evaluation(tmp_path, checkpoint, fer_csv_gz, capsys):
    x = to_float(np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8))
    views = ten_crops(x)
    assert len(views) == 10 and all(v.shape == x.shape for v in views)
    assert np.allclose(views[1], views[0][..., ::-1])  # each crop is followed by its mirror image
    assert main(["evaluate", str(checkpoint), str(fer_csv_gz), "--ten-crop", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ten_crop"] is True and report["samples"] == 72 and 0 <= report["accuracy"] <= 1


def test_failed_parity_leaves_no_model_behind(tmp_path, checkpoint):
    output = tmp_path / "models" / "emotion-net.onnx"
    output.parent.mkdir()
    (output.parent / "keep.txt").write_text("unrelated")
    # A negative tolerance can never be met: the export must stop after the ONNX Runtime run.
    with pytest.raises(onnx_io.ParityError, match="tolerance"):
        export_model(checkpoint, output, parity_tolerance=-1.0, benchmark_runs=5)
    assert sorted(p.name for p in output.parent.iterdir()) == ["keep.txt"]


def test_export_cli_fails_with_non_zero_exit_on_parity(tmp_path, checkpoint, capsys):
    output = tmp_path / "emotion-net.onnx"
    assert main(["export", str(checkpoint), "--output", str(output), "--parity-tolerance", "-1"]) == 1
    assert "no model written" in capsys.readouterr().err
    assert list(tmp_path.glob("emotion-net*")) == []


def test_parity_check_catches_a_different_model():
    a = np.full((4, 7), 1 / 7, np.float32)
    b = a.copy()
    b[2, 3] += 2e-4
    assert onnx_io.check_parity(a, a + 5e-5, 1e-4) == pytest.approx(5e-5, rel=1e-3)
    with pytest.raises(onnx_io.ParityError, match="differ by up to 0.0002"):
        onnx_io.check_parity(a, b, 1e-4)
    with pytest.raises(onnx_io.ParityError):
        onnx_io.check_parity(a, np.full_like(a, np.nan), 1e-4)


def test_folder_layout_end_to_end(tmp_path, fer_rows):
    root = write_class_folders(tmp_path / "faces", fer_rows, n_train=200)
    out = tmp_path / "net.pt"
    train_tiny(root, out)
    card = export_model(out, tmp_path / "m.onnx", benchmark_runs=5)
    assert card["data"]["layout"] == "folders" and card["metrics"]["test"]["samples"] == len(fer_rows) - 200
    assert card["data"]["splits"]["validation"]["from"].endswith("of train/, seed 0")


def test_evaluate_reports_a_missing_or_broken_model(tmp_path, fer_csv, capsys):
    assert main(["evaluate", str(tmp_path / "none.onnx"), str(fer_csv)]) == 2
    assert "no such model file" in capsys.readouterr().err
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not onnx")
    assert main(["evaluate", str(broken), str(fer_csv)]) == 2
    assert "cannot load the ONNX model" in capsys.readouterr().err


def test_mirror_averaged_export_is_flip_invariant_and_matches_pytorch(tmp_path, fer_rows):
    root = write_class_folders(tmp_path / "faces", fer_rows, n_train=200)
    out = tmp_path / "net.pt"
    train_tiny(root, out)
    card = export_model(out, tmp_path / "m.onnx", benchmark_runs=5, mirror_average=True)
    assert card["inference"] == {**card["inference"], "mirror_average": True, "passes_per_face": 2}
    assert card["parity"]["max_abs_diff"] <= 1e-4
    validation = card["metrics"]["validation"]
    assert validation["accuracy"] == pytest.approx(validation["accuracy_mirror_average"], abs=1e-9)
    sess = onnx_io.session(tmp_path / "m.onnx")
    faces = np.random.default_rng(0).random((5, 1, 48, 48), dtype=np.float32)
    plain = onnx_io.run(sess, faces)
    mirrored = onnx_io.run(sess, np.ascontiguousarray(faces[..., ::-1]))
    assert np.allclose(plain, mirrored, atol=1e-5), "a face and its mirror image get the same answer"
    assert np.allclose(plain.sum(axis=1), 1, atol=1e-5)


def test_export_int8_writes_the_float_and_a_checked_int8_model(tmp_path, checkpoint, fer_rows, capsys):
    output = tmp_path / "models" / "emotion-net.onnx"
    assert main(["export", str(checkpoint), "--output", str(output), "--benchmark-runs", "5", "--int8",
                 "--max-drop", "0.1"]) == 0  # 48 validation faces: one flipped answer is 2 points
    assert "quantized" in capsys.readouterr().out
    float_path = tmp_path / "models" / "emotion-net.float.onnx"
    assert float_path.is_file() and all(p.is_file() for p in sibling_paths(output).values())

    card = json.loads(sibling_paths(output)["card"].read_text())
    float_card = json.loads(sibling_paths(float_path)["card"].read_text())
    q = card["quantization"]
    assert q["from"]["sha256"] == float_card["file"]["sha256"] == hashlib.sha256(float_path.read_bytes()).hexdigest()
    assert card["file"]["sha256"] == hashlib.sha256(output.read_bytes()).hexdigest()
    assert q["checked_on"] == "PublicTest" and q["calibration"]["split"] == "Training"
    assert q["validation_accuracy_float"] - q["validation_accuracy_int8"] <= q["max_allowed_drop"]

    # Weights really are int8, the output is still the contract's probabilities, and the int8 model
    # agrees with the float one on real faces, as the card says.
    import onnx

    graph = onnx.load(str(output)).graph
    assert any(init.data_type == onnx.TensorProto.INT8 for init in graph.initializer)
    assert any(node.op_type == "DequantizeLinear" for node in graph.node)
    from sentivis.stages.classify import EmotionModel

    int8_model, float_model = EmotionModel.load(output), EmotionModel.load(float_path)  # checks the contract
    fer = np.array([np.array(pixels.split(), np.uint8).reshape(48, 48) for _, pixels, *_ in fer_rows[:60]])
    p_int8, p_float = int8_model.predict(fer), float_model.predict(fer)
    assert np.allclose(p_int8.sum(axis=1), 1, atol=1e-4)
    assert np.abs(p_int8 - p_float).max() <= max(q["max_abs_diff_probabilities"], 0.2)
    assert card["metrics"]["test"]["accuracy"] == card["accuracy"]


def test_quantize_refuses_a_model_that_loses_accuracy_and_writes_nothing(tmp_path, checkpoint):
    from trainer.quantize import QuantizationError, quantize_model

    float_path = tmp_path / "m.float.onnx"
    export_model(checkpoint, float_path, benchmark_runs=5)
    before = sorted(p.name for p in tmp_path.iterdir())
    # A negative allowance can never be met: quantize must stop before publishing anything.
    with pytest.raises(QuantizationError, match="below the float model"):
        quantize_model(float_path, tmp_path / "m.onnx", max_drop=-1.0, benchmark_runs=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_quantize_cli_names_a_missing_card(tmp_path, checkpoint, capsys):
    bare = tmp_path / "bare.onnx"
    export_model(checkpoint, tmp_path / "m.onnx", benchmark_runs=5)
    bare.write_bytes((tmp_path / "m.onnx").read_bytes())
    assert main(["quantize", str(bare), "--output", str(tmp_path / "q.onnx")]) == 2
    assert "bare.card.json is missing" in capsys.readouterr().err
    assert not (tmp_path / "q.onnx").exists()

