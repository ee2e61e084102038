"""The compact data file and the GPU round, dry-run on the CPU with tiny networks on real faces."""
from __future__ import annotations

import json
import shutil
import tarfile
import time

import numpy as np
import pytest
import torch

from sentivis import training
from sentivis.training import TrainConfig
from tests.support.fer import SPLIT_SIZES, TINY_WIDTHS
from trainer import gpu_round, teachers
from trainer.checkpoint import load_model
from trainer.cli import main
from trainer.data import DataError, load_dataset
from trainer.export import export_model
from trainer.train import train


@pytest.fixture
def compact(tmp_path, fer_csv):
    path = tmp_path / "fer-train-val.npz"
    assert main(["compact", str(fer_csv), "--output", str(path)]) == 0
    return path


def test_a_compact_file_holds_training_and_public_test_as_they_were(tmp_path, fer_csv, compact):
    full, small = load_dataset(fer_csv), load_dataset(compact)
    for key in ("train", "val"):
        ours, theirs = getattr(small, key), getattr(full, key)
        assert np.array_equal(ours.images, theirs.images) and np.array_equal(ours.labels, theirs.labels)
        assert ours.name == theirs.name and ours.fingerprint() == theirs.fingerprint()
        assert ours.images.flags.writeable
    assert len(small.test) == 0 and small.layout == "compact (from fer-small.csv)"
    with pytest.raises(DataError, match="Training and PublicTest only"):
        small.split("PrivateTest")
    # A teacher made on the full data is valid on the compact file, and the other way round.
    probs = {k: np.full((len(getattr(full, k)), 7), 1 / 7, np.float32) for k in teachers.SPLITS}
    teachers.save(tmp_path / "t", "t", probs, full, {})
    assert teachers.targets_for([str(tmp_path / "t.npz")], small)["train"].shape == (SPLIT_SIZES["Training"], 7)


def test_a_damaged_compact_file_is_refused(tmp_path, compact):
    with np.load(compact) as z:
        arrays = dict(z)
    arrays["val_labels"] = (arrays["val_labels"] + 1) % 7  # other labels, same faces
    np.savez(tmp_path / "relabelled.npz", **arrays)
    with pytest.raises(DataError, match="do not match their fingerprint"):
        load_dataset(tmp_path / "relabelled.npz")
    data = compact.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:len(data) // 2])
    with pytest.raises(DataError, match="not a compact data file"):
        load_dataset(tmp_path / "cut.npz")


def test_a_student_trained_on_a_compact_file_exports_with_the_full_data(tmp_path, fer_csv, compact):
    out = tmp_path / "s.pt"
    train(TrainConfig(data=str(compact), output=str(out), epochs=1, batch_size=32, widths=TINY_WIDTHS, threads=1,
                      precision="fp32"), show_progress=False)
    with pytest.raises(DataError, match="PrivateTest is read from the full data set"):
        export_model(out, tmp_path / "s.onnx", benchmark_runs=1)
    assert not list(tmp_path.glob("s.*onnx")) and not list(tmp_path.glob("*.card.json"))
    card = export_model(out, tmp_path / "s.onnx", data=fer_csv, benchmark_runs=1)
    assert card["metrics"]["test"]["samples"] == SPLIT_SIZES["PrivateTest"]


def test_the_round_refuses_data_that_holds_private_test(tmp_path, fer_csv, capsys):
    assert main(["round", str(fer_csv), "--out", str(tmp_path / "out"), "--device", "cpu", "--dry-run"]) == 2
    assert "holds PrivateTest" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_the_round_dry_run_brings_back_teachers_and_a_distilled_student(tmp_path, fer_csv, compact, capsys,
                                                                        monkeypatch):
    out, work = tmp_path / "out", tmp_path / "work"
    assert main(["round", str(compact), "--out", str(out), "--work", str(work), "--device", "cpu", "--dry-run",
                 "--teachers", "2"]) == 0
    assert "student student-24-384-s21: PublicTest" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["round.json", "round.log", "student.pt", "teachers.tar"]
    names = [r.name for r in gpu_round.TEACHERS[:2]]
    with tarfile.open(out / "teachers.tar") as tar:
        assert sorted(tar.getnames()) == sorted(f"{n}.{ext}" for n in names for ext in ("npz", "json"))
        tar.extractall(tmp_path / "merged", filter="data")
    data = load_dataset(compact)
    for name in names:  # prediction files for exactly these faces
        assert teachers.load(tmp_path / "merged" / f"{name}.npz").fingerprints["val"] == data.val.fingerprint()
    summary = json.loads((out / "round.json").read_text())
    assert [t["name"] for t in summary["teachers"]] == names
    assert all(t["predictions"] and t["epochs_run"] == 1 and not t["stopped_at_deadline"]
               for t in summary["teachers"])
    # The committed teacher predicted other faces: not a candidate for this student.
    assert summary["ensemble"]["candidates"] == names and summary["ensemble"]["chosen"]
    model, ckpt = load_model(out / "student.pt")
    assert [p.split("/")[-1] for p in ckpt["config"]["teachers"]] == [f"{n}.npz" for n in summary["ensemble"]["chosen"]]
    assert ckpt["config"]["ema_decay"] == 0.999 and ckpt["config"]["widths"] == [4, 8]
    assert summary["student"]["epochs_run"] == 1 and "== student-24-384-s21" in (out / "round.log").read_text()

    # Back on this machine: the work folder is gone, the teachers are merged into trainer/teachers/,
    # and the student exports against the full data set, its card naming its teachers.
    shutil.rmtree(work)
    monkeypatch.setattr(training, "TEACHERS_DIR", tmp_path / "merged")
    card = export_model(out / "student.pt", tmp_path / "student.onnx", data=fer_csv, benchmark_runs=1)
    assert [t["name"] for t in card["training"]["distillation"]["teachers"]] == summary["ensemble"]["chosen"]


def test_a_teacher_stopped_at_its_deadline_predicts_from_its_best_checkpoint(tmp_path, compact):
    work = tmp_path / "work"
    (work / "teachers").mkdir(parents=True)
    long = gpu_round.Child("long", ["train", str(compact), "--output", str(work / "long.pt"), "--epochs", "1000",
                                    "--widths", "4,8", "--batch-size", "32", "--threads", "1",
                                    "--precision", "fp32", "--device", "cpu"], work / "long.log")
    gpu_round.run_children([long], time.monotonic() + 3)
    assert long.stopped_at_deadline and long.process.returncode != 0
    # Its checkpoint (written by an earlier, finished run here) is what the late predictions use.
    train(TrainConfig(data=str(compact), output=str(work / "long.pt"), epochs=1, batch_size=32, widths=TINY_WIDTHS,
                      threads=1, precision="fp32"), show_progress=False)
    late = gpu_round.predict_late([long], work, str(compact), "cpu", time.monotonic() + 120)
    assert [c.process.returncode for c in late] == [0]
    made = teachers.load(work / "teachers" / "long.npz")
    assert made.probabilities["val"].shape == (SPLIT_SIZES["PublicTest"], 7)
    assert torch.load(work / "long.pt", weights_only=False)["metrics"]["best_epoch"] == 1
