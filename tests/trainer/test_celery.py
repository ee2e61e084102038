"""Training jobs through a real Celery worker (`python -m trainer worker`) on a real Redis broker."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from celery import Celery

from sentivis import jobs, redis_io, registry
from sentivis.settings import Settings
from tests.support.fer import TINY_WIDTHS, write_fer_csv
from toolkit.processes import Service

JOB_TIMEOUT_S = 180


@pytest.fixture
def folders(tmp_path):
    datasets, models = tmp_path / "datasets", tmp_path / "models"
    datasets.mkdir()
    return datasets, models


def service_env(redis_url: str, datasets: Path, models: Path) -> dict[str, str]:
    return {"SENTIVIS_REDIS_URL": redis_url, "SENTIVIS_DATASETS_DIR": str(datasets),
            "SENTIVIS_MODELS_DIR": str(models), "SENTIVIS_LOG_LEVEL": "INFO", "SENTIVIS_HEARTBEAT_S": "0.5"}


@pytest.fixture
def worker(tmp_path, redis_url, folders):
    service = Service("trainer", service_env(redis_url, *folders), tmp_path, args=["worker"]).start()
    yield service
    service.stop()


def wait_for_job(client, job_id: str, worker: Service, on_poll=None) -> dict:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        job = jobs.get_job(client, job_id)
        if on_poll:
            on_poll(job)
        if job["state"] in ("succeeded", "failed"):
            return job
        assert worker.alive(), f"the worker died:\n{worker.log()[-3000:]}"
        time.sleep(0.05)
    pytest.fail(f"job {job_id} did not finish in {JOB_TIMEOUT_S} s: {job}\n{worker.log()[-3000:]}")


def test_a_training_job_trains_exports_registers_and_activates(tmp_path, redis_url, folders, worker, fer_rows):
    datasets, models = folders
    write_fer_csv(datasets / "fer-small.csv.gz", fer_rows)
    # A classifier with no model file yet: it must pick up the trained version from Redis.
    classifier = Service("classifier", {**service_env(redis_url, datasets, models),
                                        "SENTIVIS_EMOTION_WEIGHTS": str(tmp_path / "none.onnx")}, tmp_path).start()
    try:
        client = redis_io.connect(redis_url)
        params = jobs.validate_params({"dataset": "fer-small.csv.gz", "epochs": 3, "batch_size": 32,
                                       "widths": list(TINY_WIDTHS), "threads": 1}, datasets)
        job = jobs.create_job(client, params)
        assert jobs.submit_training(Settings(redis_url=redis_url), job["id"], params) == job["id"]
        results = Celery(broker=redis_url, backend=redis_url)
        running, celery_states = [], set()

        def watch(snapshot: dict) -> None:
            if snapshot["state"] == "running" and snapshot["history"]:
                running.append(snapshot)
            meta = results.backend.get_task_meta(job["id"])  # state and info in one read: they change together
            if meta["status"] == "PROGRESS":
                celery_states.add("PROGRESS")
                assert meta["result"]["job_id"] == job["id"] and "progress" in meta["result"]

        done = wait_for_job(client, job["id"], worker, watch)
        assert done["state"] == "succeeded", f"{done['error']}\n{worker.log()[-3000:]}"

        # Progress was visible while the job ran, in the job store and in Celery's result backend.
        assert running, "never saw the running job with epochs done"
        assert 1 <= running[0]["progress"]["epoch"] <= 3 and running[0]["progress"]["epochs"] == 3
        assert len(running[0]["history"]) == running[0]["progress"]["epoch"]
        assert "PROGRESS" in celery_states
        assert [h["epoch"] for h in done["history"]] == [1, 2, 3]
        assert set(done["history"][0]) >= {"train_loss", "train_accuracy", "val_loss", "val_accuracy"}
        assert results.AsyncResult(job["id"]).get(timeout=10)["model_version"] == done["model_version"]

        # The float and (unless int8 lost too much accuracy) the int8 model exported beside their
        # cards; the served one registered and active.
        onnx_path = Path(done["metrics"]["onnx_path"])
        assert (models / job["id"] / "emotion-net.float.onnx").is_file()
        assert onnx_path.name in ("emotion-net.onnx", "emotion-net.float.onnx")
        assert onnx_path.is_file() and Path(done["metrics"]["card_path"]).is_file()
        active = registry.active_record(client)
        assert active["version"] == done["model_version"] and Path(active["path"]) == onnx_path.resolve()
        assert active["metrics"]["job_id"] == job["id"]
        assert active["card"]["metrics"]["test"]["samples"] == 72
        assert done["metrics"]["test_accuracy"] == active["card"]["metrics"]["test"]["accuracy"]

        deadline = time.monotonic() + 60
        versions = []
        while time.monotonic() < deadline:
            versions = [hb["model"]["version"] for hb in redis_io.live_services(client, "classifier")]
            if done["model_version"] in versions:
                break
            assert classifier.alive(), classifier.log()[-3000:]
            time.sleep(0.2)
        assert done["model_version"] in versions, f"classifier serves {versions}:\n{classifier.log()[-3000:]}"
    finally:
        classifier.stop()


def test_a_dataset_outside_the_datasets_folder_fails_cleanly(tmp_path, redis_url, folders, worker, fer_rows):
    datasets, models = folders
    outside = write_fer_csv(tmp_path / "outside.csv", fer_rows)  # real data, in the wrong place
    client = redis_io.connect(redis_url)
    # Sent as a caller that skipped validate_params would: the worker checks again.
    for dataset in (str(outside), "../outside.csv"):
        params = {"dataset": dataset, "epochs": 1, "widths": list(TINY_WIDTHS)}
        job = jobs.create_job(client, params)
        jobs.submit_training(Settings(redis_url=redis_url), job["id"], params)
        done = wait_for_job(client, job["id"], worker)
        assert done["state"] == "failed" and "outside the datasets folder" in done["error"]
        assert done["model_version"] is None and done["history"] == []
        task = Celery(broker=redis_url, backend=redis_url).AsyncResult(job["id"])
        task.get(timeout=30, propagate=False)  # the job store is written just before Celery's result
        assert task.state == "FAILURE"
    assert registry.active_record(client) is None and registry.list_versions(client) == []
    assert not models.exists() or not any(models.rglob("*.onnx"))
    assert worker.alive()


def test_a_job_with_teachers_made_for_other_data_fails_without_a_traceback(redis_url, folders, worker, fer_rows):
    datasets, _ = folders
    write_fer_csv(datasets / "fer-small.csv", fer_rows)
    client = redis_io.connect(redis_url)
    # The committed teacher predicted the whole FER-2013, not these 280 faces.
    params = jobs.validate_params({"dataset": "fer-small.csv", "epochs": 1, "widths": list(TINY_WIDTHS),
                                   "teachers": ["emotionnet-32-512-s1"]}, datasets)
    job = jobs.create_job(client, params)
    jobs.submit_training(Settings(redis_url=redis_url), job["id"], params)
    done = wait_for_job(client, job["id"], worker)
    assert done["state"] == "failed" and done["history"] == [] and done["model_version"] is None
    assert done["error"].startswith("teacher emotionnet-32-512-s1 was made for other Training data than ")
    task = Celery(broker=redis_url, backend=redis_url).AsyncResult(job["id"])
    task.get(timeout=30, propagate=False)
    assert task.state == "FAILURE"
    assert "Traceback" not in worker.log() and worker.alive()
    assert registry.list_versions(client) == []
