"""EMA weights, mixup/CutMix, time-budgeted training, teacher files and distillation, on real faces."""
from __future__ import annotations

import json
from dataclasses import fields

import numpy as np
import pytest
import torch

from sentivis import training
from sentivis.training import TrainConfig
from tests.support.fer import SPLIT_SIZES, TINY_WIDTHS, write_fer_csv
from trainer import teachers
from trainer.augment import mix_batch
from trainer.checkpoint import load_model
from trainer.cli import build_parser, main
from trainer.data import load_dataset
from trainer.model import EmotionNet, ResEmotionNet, count_multiply_adds
from trainer.predict import predict_logits, ten_crops, to_float
from trainer.train import Schedule, train


def tiny(data, output, **changes) -> TrainConfig:
    base = dict(epochs=2, batch_size=32, widths=TINY_WIDTHS, threads=1, learning_rate=0.02, precision="fp32")
    return TrainConfig(data=str(data), output=str(output), **{**base, **changes})


def test_the_checkpoint_holds_the_moving_average_not_the_last_weights(tmp_path, fer_csv):
    out = tmp_path / "net.pt"
    train(tiny(fer_csv, out, ema_decay=0.9), show_progress=False)
    model, ckpt = load_model(out)
    resume = torch.load(tmp_path / "net.resume.pt", weights_only=False)
    last = resume["last_state_dict"]
    ema = {k.removeprefix("module."): v for k, v in resume["ema_state_dict"].items() if k != "n_averaged"}
    saved = model.state_dict()
    key = "features.0.weight"
    assert not torch.equal(saved[key], last[key])  # the average differs from the raw weights
    if ckpt["metrics"]["best_epoch"] == 2:  # the best epoch's checkpoint is the average of that epoch
        assert torch.allclose(saved[key], ema[key])
    # Without EMA the checkpoint holds the trained weights themselves.
    plain = tmp_path / "plain.pt"
    train(tiny(fer_csv, plain, ema_decay=0.0), show_progress=False)
    state = torch.load(tmp_path / "plain.resume.pt", weights_only=False)
    assert state["ema_state_dict"] is None
    if torch.load(plain, weights_only=False)["metrics"]["best_epoch"] == 2:
        assert torch.equal(load_model(plain)[0].state_dict()[key], state["last_state_dict"][key])


def test_mixup_and_cutmix_mix_images_and_targets_in_the_same_proportion():
    g = torch.Generator().manual_seed(0)
    x = torch.stack([torch.full((1, 8, 8), float(i)) for i in range(6)])
    y = torch.eye(7)[:6]
    for mixup, cutmix in ((0.4, 0.0), (0.0, 1.0)):
        mixed, targets = mix_batch(x, y, mixup, cutmix, probability=1.0, generator=g)
        assert mixed.shape == x.shape and torch.allclose(targets.sum(1), torch.ones(6))
        # Each image is a mix of at most two faces, and its target gives each face's share.
        for i in range(6):
            share = targets[i, i].item() if targets[i].max() < 1 else 1.0
            values = set(mixed[i].unique().tolist())
            if cutmix:  # pixels are copied, so the target is the share of pixels from each face
                kept = (mixed[i] == float(i)).float().mean().item() if len(values) > 1 else 1.0
                assert kept == pytest.approx(share if len(values) > 1 else 1.0, abs=1e-6)
            else:
                assert len(values) == 1
    assert mix_batch(x, y, 0.0, 0.0, 1.0, g)[0] is x  # off: nothing mixed
    assert mix_batch(x, y, 0.4, 0.0, 0.0, g)[1] is y  # probability 0: nothing mixed


def test_mixed_training_learns(tmp_path, fer_csv):
    metrics = train(tiny(fer_csv, tmp_path / "n.pt", mixup=0.4, cutmix=1.0, mix_probability=1.0, epochs=3),
                    show_progress=False)
    losses = [h["train_loss"] for h in metrics["history"]]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_a_time_budget_sets_the_epochs_from_the_measured_step_time(tmp_path, fer_csv):
    # 160 training faces at batch 32 are five steps an epoch: a budget of 0.05 minutes (3 s) fits a
    # number of epochs that depends on this machine; what is checked is that it was planned, kept
    # in the checkpoint, and that the schedule ran down to the end.
    out = tmp_path / "n.pt"
    metrics = train(tiny(fer_csv, out, minutes=0.05, epochs=1), show_progress=False)
    ckpt = torch.load(out, weights_only=False)
    planned = ckpt["config"]["epochs"]
    assert len(metrics["history"]) == planned >= 1
    # The schedule was laid out for the planned epochs: the last step had the last step's rate.
    schedule = Schedule(0.02, steps_per_epoch=5, epochs=planned, warmup_epochs=1.0)
    assert metrics["history"][-1]["learning_rate"] == pytest.approx(schedule(5 * planned - 1))
    assert all(h["cpu_seconds"] > 0 for h in metrics["history"])


def test_teacher_files_round_trip_and_know_their_data(tmp_path, fer_rows, capsys):
    data_path = write_fer_csv(tmp_path / "fer.csv", fer_rows)
    out_dir = tmp_path / "teachers"
    args = ["teacher", str(data_path), "--name", "t1", "--out-dir", str(out_dir), "--output", str(tmp_path / "t1.pt"),
            "--epochs", "1", "--batch-size", "32", "--widths", ",".join(map(str, TINY_WIDTHS)), "--threads", "1",
            "--precision", "fp32"]
    assert main(args) == 0
    assert "teacher t1: PublicTest" in capsys.readouterr().out
    assert sorted(p.name for p in out_dir.iterdir()) == ["t1.json", "t1.npz"]
    t = teachers.load(out_dir / "t1.npz")
    data = load_dataset(data_path)
    assert t.probabilities["train"].shape == (SPLIT_SIZES["Training"], 7)
    assert t.probabilities["val"].shape == (SPLIT_SIZES["PublicTest"], 7)
    assert "test" not in t.probabilities  # PrivateTest is never predicted by a teacher
    assert np.allclose(t.probabilities["val"].sum(1), 1, atol=1e-2)
    # The stored probabilities are the ten-view average of the checkpoint's softmax.
    model, _ = load_model(tmp_path / "t1.pt")
    with torch.no_grad():
        views = [torch.softmax(model(torch.from_numpy(np.ascontiguousarray(v))), 1).numpy()
                 for v in ten_crops(to_float(data.val.images))]
    assert np.allclose(t.probabilities["val"], np.mean(views, axis=0), atol=2e-3)
    info = json.loads((out_dir / "t1.json").read_text())
    assert info["name"] == "t1" and info["recipe"]["widths"] == list(TINY_WIDTHS)
    assert info["val_accuracy_views"] == pytest.approx((np.mean(views, axis=0).argmax(1) == data.val.labels).mean())

    # The same file refuses other data: a different order of the same faces.
    shuffled = write_fer_csv(tmp_path / "other.csv", fer_rows[1:] + fer_rows[:1])
    with pytest.raises(teachers.TeacherFileError, match="made for other"):
        teachers.targets_for([str(out_dir / "t1.npz")], load_dataset(shuffled))

    assert main(["ensemble", str(out_dir / "t1.npz"), str(out_dir / "t1.npz"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ensemble"]["size"] == 2 and report["ensemble"]["val_accuracy"] == pytest.approx(t.accuracy("val"))


def test_the_ensemble_averages_probabilities(tmp_path, fer_csv):
    data = load_dataset(fer_csv)
    rng = np.random.default_rng(0)
    made = []
    for name in ("a", "b"):
        probs = {k: rng.dirichlet(np.ones(7), len(getattr(data, k))).astype(np.float32) for k in teachers.SPLITS}
        teachers.save(tmp_path / name, name, probs, data, {"views": "test"})
        made.append(probs)
    mean = teachers.targets_for([str(tmp_path / "a.npz"), str(tmp_path / "b.npz")], data)
    assert np.allclose(mean["val"], (made[0]["val"] + made[1]["val"]) / 2, atol=2e-3)
    with pytest.raises(teachers.TeacherFileError, match="no such teacher file"):
        teachers.load(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(teachers.TeacherFileError, match="not a teacher file"):
        teachers.load(tmp_path / "bad.npz")


def test_distillation_pulls_the_student_towards_the_teacher(tmp_path, fer_csv):
    # A "teacher" that always answers `disgust` (the rarest class): a student distilled from it with
    # full weight must answer disgust far more often than one trained on the labels alone.
    data = load_dataset(fer_csv)
    disgust = np.zeros(7, np.float32)
    disgust[1] = 1.0
    probs = {k: np.tile(disgust * 0.93 + 0.01, (len(getattr(data, k)), 1)) for k in teachers.SPLITS}
    teachers.save(tmp_path / "disgust", "disgust", probs, data, {"views": "test"})
    cfg = dict(epochs=4, distill_weight=1.0, distill_temperature=1.0, ema_decay=0.0, learning_rate=0.05)
    train(tiny(fer_csv, tmp_path / "s.pt", teachers=(str(tmp_path / "disgust.npz"),), **cfg), show_progress=False)
    train(tiny(fer_csv, tmp_path / "p.pt", **cfg), show_progress=False)
    share = {}
    for name in ("s", "p"):
        model, _ = load_model(tmp_path / f"{name}.pt")
        share[name] = float((predict_logits(model, data.train.images).argmax(1) == 1).mean())
    assert share["s"] > 0.9 and share["p"] < 0.2
    with pytest.raises(teachers.TeacherFileError, match="no such teacher file"):
        train(tiny(fer_csv, tmp_path / "x.pt", teachers=(str(tmp_path / "none.npz"),)), show_progress=False)


def test_every_train_flag_comes_from_the_schema():
    parser = build_parser()
    train_parser = parser._subparsers._group_actions[0].choices["train"]
    flags = {a.dest for a in train_parser._actions} - {"help", "resume"}
    assert flags == {f.name for f in fields(TrainConfig) if f.metadata["cli"]}
    args = parser.parse_args(["train", "x.csv"])
    assert args.epochs == TrainConfig.epochs == TrainConfig(data="x").epochs
    assert args.widths == TrainConfig(data="x").widths and args.learning_rate == 0.05


def test_the_schema_lists_every_job_parameter_with_its_range():
    schema = {entry["name"]: entry for entry in training.schema()}
    defaults = TrainConfig(data="x")
    assert schema["epochs"]["default"] == defaults.epochs and schema["epochs"]["minimum"] == 1
    assert schema["learning_rate"]["default"] == 0.05
    assert schema["precision"]["choices"] == list(training.PRECISIONS)
    assert schema["widths"]["default"] == list(defaults.widths) and schema["widths"]["type"] == "integer_list"
    assert "data" not in schema and "output" not in schema
    # The teachers' choices are the committed files' names, read when the schema is asked for.
    assert schema["teachers"]["type"] == "string_list" and schema["teachers"]["default"] == []
    assert schema["teachers"]["choices"] == sorted(p.stem for p in training.TEACHERS_DIR.glob("*.npz"))
    assert "emotionnet-32-512-s1" in schema["teachers"]["choices"]
    for entry in schema.values():
        assert entry["help"] and ("minimum" in entry or "choices" in entry)


def test_a_teacher_committed_later_is_offered_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "TEACHERS_DIR", tmp_path)
    assert {e["name"]: e for e in training.schema()}["teachers"]["choices"] == []
    with pytest.raises(training.ParamsError, match="committed: none"):
        training.check_params({"dataset": "a.csv", "teachers": ["late"]})
    (tmp_path / "late.npz").write_bytes(b"")
    assert {e["name"]: e for e in training.schema()}["teachers"]["choices"] == ["late"]
    assert training.check_params({"dataset": "a.csv", "teachers": ["late"]})["teachers"] == ["late"]


@pytest.mark.parametrize("widths", [(4, 8), (24, 48, 96, 192, 384), (32, 64, 128, 256, 512)])
def test_the_pure_python_multiply_adds_count_matches_the_network(widths):
    assert training.multiply_adds(widths) == count_multiply_adds(EmotionNet(widths))


def test_a_run_can_start_from_a_checkpoint(tmp_path, fer_csv):
    first = tmp_path / "first.pt"
    train(tiny(fer_csv, first, epochs=3, ema_decay=0.0), show_progress=False)
    warm = train(tiny(fer_csv, tmp_path / "warm.pt", epochs=1, init=str(first), ema_decay=0.0,
                      learning_rate=1e-6), show_progress=False)
    cold = train(tiny(fer_csv, tmp_path / "cold.pt", epochs=1, ema_decay=0.0, learning_rate=1e-6),
                 show_progress=False)
    # With a learning rate too small to move them, the weights are still the checkpoint's.
    start = load_model(first)[0].state_dict()["features.0.weight"]
    after = torch.load(tmp_path / "warm.resume.pt", weights_only=False)["last_state_dict"]["features.0.weight"]
    assert torch.allclose(start, after, atol=1e-4)
    assert warm["history"][0]["train_loss"] < cold["history"][0]["train_loss"]
    with pytest.raises(ValueError, match="differs"):
        train(tiny(fer_csv, tmp_path / "x.pt", widths=(4, 8, 16), init=str(first)), show_progress=False)
    with pytest.raises(ValueError, match="resnet"):
        train(tiny(fer_csv, tmp_path / "x.pt", arch="resnet", init=str(first)), show_progress=False)


def test_a_residual_teacher_trains_loads_and_predicts(tmp_path, fer_csv):
    out = tmp_path / "res.pt"
    metrics = train(tiny(fer_csv, out, arch="resnet", epochs=1), show_progress=False)
    model, ckpt = load_model(out)
    assert isinstance(model, ResEmotionNet) and ckpt["config"]["arch"] == "resnet"
    assert metrics["history"][0]["train_loss"] > 0
    # Twice the convs of the VGG net of the same widths, each stage but the first halving the size.
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) == 1 + 4 * len(TINY_WIDTHS)
    data = load_dataset(str(fer_csv))
    logits = predict_logits(model, data.val.images)
    assert logits.shape == (len(data.val), 7) and np.isfinite(logits).all()
