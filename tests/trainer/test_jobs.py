"""The shared training-job store (sentivis/jobs.py) on a real Redis, and its parameter checks."""
from __future__ import annotations

import json

import numpy as np
import pytest

from sentivis import jobs, registry, training
from sentivis.redis_io import connect
from sentivis.settings import Settings
from sentivis.training import TrainConfig
from tests.support.fer import TINY_WIDTHS, write_fer_csv
from trainer import teachers
from trainer.data import load_dataset
from trainer.job import run_job, train_config

COMMITTED = "emotionnet-32-512-s1"  # trainer/teachers/: made for the whole FER-2013, not the tests' slices


def test_params_get_defaults_and_the_dataset_stays_inside(tmp_path):
    clean = jobs.validate_params({"dataset": "fer/fer2013.csv.gz", "epochs": 3}, tmp_path)
    defaults = TrainConfig(data="x")
    assert clean["epochs"] == 3 and clean["batch_size"] == defaults.batch_size == 128
    assert clean["learning_rate"] == defaults.learning_rate == 0.05  # the shipped model's recipe
    assert clean["widths"] == list(defaults.widths) and clean["precision"] == defaults.precision
    assert jobs.validate_params({"dataset": "a.csv", "precision": "fp32"}, tmp_path)["precision"] == "fp32"
    assert jobs.resolve_dataset(tmp_path, "fer/fer2013.csv.gz") == tmp_path / "fer" / "fer2013.csv.gz"
    assert jobs.resolve_dataset(tmp_path, str(tmp_path / "a.csv")) == tmp_path / "a.csv"


@pytest.mark.parametrize("dataset", ["../fer2013.csv.gz", "/etc/passwd", "a/../../b.csv", "", "  "])
def test_datasets_outside_the_folder_are_rejected(tmp_path, dataset):
    with pytest.raises(jobs.JobParamsError, match="outside the datasets folder|non-empty"):
        jobs.validate_params({"dataset": dataset}, tmp_path / "datasets")


def test_whole_numbers_are_integers_as_json_schema_says(tmp_path):
    """720.0 is the integer 720 to JSON Schema, which the OpenAPI document's "integer" means, and a
    client's encoder may well write it so; the job gets ints either way."""
    clean = jobs.validate_params({"dataset": "a.csv", "epochs": 720.0, "widths": [8.0, 16], "seed": 3}, tmp_path)
    assert clean["epochs"] == 720 and type(clean["epochs"]) is int
    assert clean["widths"] == [8, 16] and all(type(w) is int for w in clean["widths"])
    assert clean["seed"] == 3 and type(clean["learning_rate"]) is float


@pytest.mark.parametrize("params, message", [
    ({}, "dataset is required"),
    ({"dataset": "a.csv", "epochs": 0}, "epochs must lie in 1..1000"),
    ({"dataset": "a.csv", "learning_rate": float("nan")}, "learning_rate must lie in"),
    ({"dataset": "a.csv", "teachers": ["t1"]}, f"teachers: 't1' is not a committed teacher; committed: {COMMITTED}"),
    ({"dataset": "a.csv", "teachers": ["../teachers/x"]}, "is not a committed teacher"),
    ({"dataset": "a.csv", "teachers": COMMITTED}, "teachers must be a list of committed teacher names"),
    ({"dataset": "a.csv", "teachers": [COMMITTED, COMMITTED]}, "names a teacher more than once"),
    ({"dataset": "a.csv", "epochs": 2.5}, "epochs must be an integer"),
    ({"dataset": "a.csv", "epochs": True}, "epochs must be an integer"),
    ({"dataset": "a.csv", "learning_rate": "fast"}, "learning_rate must be a number"),
    ({"dataset": "a.csv", "batch_size": 10**6}, "batch_size must lie in"),
    ({"dataset": "a.csv", "batch_size": 10**400}, "batch_size must lie in"),  # too large for a float
    ({"dataset": "a.csv", "epochs": float("inf")}, "epochs must be an integer"),
    ({"dataset": "a.csv", "widths": [4, 8.5]}, "widths must be a list"),
    ({"dataset": "a.csv", "widths": [4, "8"]}, "widths must be a list"),
    ({"dataset": "a.csv", "optimizer": "adam"}, "unknown parameter(s) optimizer"),
    ({"dataset": "a.csv", "precision": "fp8"}, "precision must be one of fp32, bf16"),
    (["a.csv"], "params must be a JSON object"),
])
def test_bad_params_are_named(tmp_path, params, message):
    with pytest.raises(jobs.JobParamsError) as err:
        jobs.validate_params(params, tmp_path)
    assert message in str(err.value)


def test_job_lifecycle_in_redis(redis_url):
    client = connect(redis_url)
    first = jobs.create_job(client, {"dataset": "a.csv", "epochs": 2})
    second = jobs.create_job(client, {"dataset": "b.csv", "epochs": 2})
    assert jobs.JOB_ID.fullmatch(first["id"]) and first["state"] == "queued"
    assert jobs.get_job(client, first["id"]) == first
    assert [j["id"] for j in jobs.list_jobs(client)] == [second["id"], first["id"]]
    assert jobs.get_job(client, "0" * 32) is None and jobs.get_job(client, "../../x") is None

    epoch = {"epoch": 1, "train_loss": 1.9, "train_accuracy": 0.2, "val_loss": 1.8, "val_accuracy": 0.25,
             "learning_rate": 0.01, "seconds": 1.0}
    job = jobs.record_epoch(client, first["id"], epoch, epochs=2)
    assert job["progress"]["epoch"] == 1 and job["progress"]["epochs"] == 2 and job["history"] == [epoch]
    job = jobs.mark_succeeded(client, first["id"], {"accuracy": 0.3}, "v1")
    assert (job["state"], job["model_version"], job["progress"]["stage"]) == ("succeeded", "v1", "done")
    assert jobs.get_job(client, first["id"])["history"] == [epoch]
    failed = jobs.mark_failed(client, second["id"], "it broke")
    assert failed["state"] == "failed" and failed["error"] == "it broke"
    with pytest.raises(ValueError):
        jobs.update_job(client, first["id"], state="exploded")
    with pytest.raises(KeyError):
        jobs.update_job(client, "f" * 32, state="running")


def test_a_job_on_malformed_data_fails_and_activates_nothing(tmp_path, redis_url, fer_rows):
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    path = write_fer_csv(datasets / "fer.csv", fer_rows)
    path.write_text(path.read_text().replace(",Training", ",Trainig", 1))  # line 2
    settings = Settings(redis_url=redis_url, datasets_dir=str(datasets), models_dir=str(tmp_path / "models"))
    client = connect(redis_url)
    params = {"dataset": "fer.csv", "epochs": 1, "widths": list(TINY_WIDTHS)}
    job = jobs.create_job(client, params)
    seen = []
    with pytest.raises(ValueError, match="line 2"):
        run_job(client, settings, job["id"], params, report=seen.append)
    job = jobs.get_job(client, job["id"])
    assert job["state"] == "failed" and "line 2" in job["error"] and "Usage 'Trainig'" in job["error"]
    assert [j["state"] for j in seen] == ["running", "failed"]
    assert registry.active_record(client) is None and registry.list_versions(client) == []


def test_run_job_refuses_ids_it_did_not_make(tmp_path, redis_url):
    settings = Settings(redis_url=redis_url, datasets_dir=str(tmp_path), models_dir=str(tmp_path / "models"))
    with pytest.raises(jobs.JobParamsError, match="no training job"):
        run_job(connect(redis_url), settings, "../../etc", {"dataset": "a.csv"})
    assert not (tmp_path / "models").exists()


def test_teachers_are_committed_names_that_become_their_files(tmp_path):
    assert COMMITTED in training.committed_teachers()
    clean = jobs.validate_params({"dataset": "a.csv", "teachers": [COMMITTED]}, tmp_path)
    assert clean["teachers"] == [COMMITTED]
    assert jobs.validate_params({"dataset": "a.csv"}, tmp_path)["teachers"] == []
    settings = Settings(datasets_dir=str(tmp_path), models_dir=str(tmp_path / "models"))
    cfg = train_config(settings, "0" * 32, clean, tmp_path / "a.csv")
    assert cfg.teachers == (str(training.TEACHERS_DIR / f"{COMMITTED}.npz"),)
    assert (training.TEACHERS_DIR / f"{COMMITTED}.npz").is_file()


def test_a_job_whose_data_the_teachers_did_not_predict_fails_with_their_message(tmp_path, redis_url, fer_rows):
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    write_fer_csv(datasets / "fer.csv", fer_rows)
    settings = Settings(redis_url=redis_url, datasets_dir=str(datasets), models_dir=str(tmp_path / "models"))
    client = connect(redis_url)
    params = {"dataset": "fer.csv", "epochs": 1, "widths": list(TINY_WIDTHS), "teachers": [COMMITTED]}
    job = jobs.create_job(client, params)
    with pytest.raises(teachers.TeacherFileError):
        run_job(client, settings, job["id"], params)
    job = jobs.get_job(client, job["id"])
    assert job["state"] == "failed" and job["history"] == []
    assert job["error"].startswith(f"teacher {COMMITTED} was made for other Training data than ")
    assert job["error"].endswith("it can only distill on the data it predicted")
    assert registry.list_versions(client) == [] and not (tmp_path / "models").exists()


def test_a_job_distills_from_a_committed_teacher_made_for_its_data(tmp_path, redis_url, fer_rows, monkeypatch):
    datasets, committed = tmp_path / "datasets", tmp_path / "teachers"
    datasets.mkdir()
    path = write_fer_csv(datasets / "fer.csv", fer_rows)
    data = load_dataset(path)
    rng = np.random.default_rng(0)
    probs = {k: rng.dirichlet(np.ones(7), len(getattr(data, k))).astype(np.float32) for k in teachers.SPLITS}
    teachers.save(committed / "small", "small", probs, data, {"views": "test"})
    monkeypatch.setattr(training, "TEACHERS_DIR", committed)
    settings = Settings(redis_url=redis_url, datasets_dir=str(datasets), models_dir=str(tmp_path / "models"))
    client = connect(redis_url)
    params = jobs.validate_params({"dataset": "fer.csv", "epochs": 1, "batch_size": 32, "widths": list(TINY_WIDTHS),
                                   "threads": 1, "teachers": ["small"]}, datasets)
    job = jobs.create_job(client, params)
    done = run_job(client, settings, job["id"], params)
    assert done["state"] == "succeeded"
    card = json.loads(open(done["metrics"]["card_path"]).read())
    assert card["training"]["config"]["teachers"] == [str(committed / "small.npz")]
    distillation = card["training"]["distillation"]
    assert [t["name"] for t in distillation["teachers"]] == ["small"]
    assert distillation["ensemble_val_accuracy"] == pytest.approx(
        float((probs["val"].astype(np.float16).argmax(1) == data.val.labels).mean()))
