"""The training form's server side: options from TrainConfig, data sets, duration estimates, OpenAPI."""
import gzip
import json
import urllib.request

import pytest

from gateway.openapi import openapi_document
from sentivis import registry, training
from sentivis.settings import SHIPPED_MODEL
from toolkit.processes import get_json

SHIPPED_CARD = registry.read_card(SHIPPED_MODEL)


def post_json(url: str, body) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def datasets(tmp_path):
    folder = tmp_path / "datasets"
    (folder / "faces" / "train" / "happy").mkdir(parents=True)
    (folder / "faces" / "test" / "happy").mkdir(parents=True)
    (folder / "faces" / "train" / "happy" / "1.png").write_bytes(b"x" * 10)
    with gzip.open(folder / "fer2013.csv.gz", "wt") as f:
        f.write("emotion,pixels,Usage\n")
    (folder / "notes.txt").write_text("not a data set")
    return folder


def test_the_estimate_scales_the_shipped_models_measured_run():
    basis = training.estimate_basis(SHIPPED_CARD)
    summary = SHIPPED_CARD["training"]["summary"]
    per_epoch = summary.get("epoch_seconds_median", summary["training_seconds"] / summary["epochs_run"])
    assert basis["seconds"] == pytest.approx(per_epoch * summary["epochs_run"])
    assert basis["epochs"] == summary["epochs_run"]
    assert basis["cpu"] == SHIPPED_CARD["speed"]["cpu"] and basis["training_faces"] == 28709
    defaults = training.check_params({"dataset": "x"})
    # The defaults are the shipped model's recipe, so their epochs take as long as it measured.
    assert (defaults["widths"], defaults["precision"]) == (basis["widths"], basis["precision"])
    assert training.estimate_seconds(defaults, basis) == pytest.approx(
        per_epoch * defaults["epochs"])
    half = training.estimate_seconds({**defaults, "epochs": 10}, basis)
    assert training.estimate_seconds({**defaults, "epochs": 20}, basis) == pytest.approx(2 * half)
    narrow = [w // 2 for w in defaults["widths"]]
    assert training.estimate_seconds({**defaults, "epochs": 10, "widths": narrow}, basis) == pytest.approx(
        half * training.multiply_adds(narrow) / training.multiply_adds(defaults["widths"]))
    fp32 = training.estimate_seconds({**defaults, "epochs": 10, "precision": "fp32"}, basis)
    bf16 = training.estimate_seconds({**defaults, "epochs": 10, "precision": "bf16"}, basis)
    assert fp32 == pytest.approx(bf16 * training.PRECISION_SPEEDUP["bf16"])
    assert training.estimate_seconds({**defaults, "minutes": 12.5}, basis) == 750


def test_a_paused_epoch_does_not_slow_the_estimate():
    # epochs of 1000 (paused), 100, 110 and 105 s
    summary = {"epochs_run": 4, "training_seconds": 1315.0, "epoch_seconds_median": 107.5}
    card = {"training": {"summary": summary, "config": {"widths": [8, 16], "precision": "fp32"}}}
    basis = training.estimate_basis(card)
    assert basis["seconds"] == pytest.approx(4 * 107.5)
    params = training.check_params({"dataset": "x", "epochs": 10, "widths": [8, 16], "precision": "fp32"})
    assert training.estimate_seconds(params, basis) == pytest.approx(1075.0)
    del summary["epoch_seconds_median"]  # an older card: its wall time is all there is
    assert training.estimate_basis(card)["seconds"] == 1315.0


@pytest.mark.parametrize("card", [None, {}, {"training": {"summary": {"training_seconds": 0, "epochs_run": 3},
                                                           "config": {"widths": [8]}}},
                                  {"training": {"summary": {"epochs_run": 3}, "config": {"widths": [8]}}}])
def test_a_card_without_a_measured_run_gives_no_basis(card):
    assert training.estimate_basis(card) is None


def test_options_come_from_the_schema_with_the_data_sets_and_an_estimate(start_gateway, datasets):
    url, _ = start_gateway(SENTIVIS_DATASETS_DIR=str(datasets))
    status, body = get_json(url + "/api/v1/training/options")
    assert status == 200
    assert body["parameters"] == json.loads(json.dumps(training.schema()))
    defaults = {p["name"]: p["default"] for p in body["parameters"]}
    assert defaults["learning_rate"] == training.TrainConfig.learning_rate  # the shipped recipe, not a copy
    assert [(d["name"], d["layout"]) for d in body["datasets"]] == [("fer2013.csv.gz", "csv"), ("faces", "folders")]
    assert body["datasets"][0]["bytes"] == (datasets / "fer2013.csv.gz").stat().st_size
    teachers = {p["name"]: p for p in body["parameters"]}["teachers"]
    assert teachers["choices"] == training.committed_teachers() and "emotionnet-32-512-s1" in teachers["choices"]
    basis = training.estimate_basis(SHIPPED_CARD)
    assert body["estimate"] == {"seconds": round(training.estimate_seconds(training.check_params({"dataset": 0}),
                                                                           basis)), "basis": basis}


def test_an_empty_or_missing_datasets_folder_lists_nothing(start_gateway, tmp_path):
    url, _ = start_gateway(SENTIVIS_DATASETS_DIR=str(tmp_path / "absent"))
    assert get_json(url + "/api/v1/training/options")[1]["datasets"] == []


def test_the_estimate_follows_the_form_and_refuses_bad_values(start_gateway):
    url, _ = start_gateway()
    basis = training.estimate_basis(SHIPPED_CARD)
    form = {"epochs": 8, "widths": [16, 32, 64], "precision": "fp32"}
    status, body = post_json(url + "/api/v1/training/estimate", form)
    assert status == 200
    assert body["estimate"]["seconds"] == round(training.estimate_seconds(
        training.check_params({"dataset": None, **form}), basis))
    assert post_json(url + "/api/v1/training/estimate", {"epochs": 0}) == (
        400, {"error": "epochs must lie in 1..1000, got 0"})
    assert post_json(url + "/api/v1/training/estimate", {"depth": 3})[0] == 400
    assert post_json(url + "/api/v1/training/estimate", [1])[1] == {
        "error": "the body must be a JSON object with the training parameters"}


def test_teachers_add_nothing_to_the_estimate():
    basis = training.estimate_basis(SHIPPED_CARD)
    plain = training.check_params({"dataset": "x", "epochs": 10})
    distilled = training.check_params({"dataset": "x", "epochs": 10, "teachers": ["emotionnet-32-512-s1"]})
    assert training.estimate_seconds(distilled, basis) == training.estimate_seconds(plain, basis)


def test_a_job_naming_a_teacher_that_is_not_committed_is_refused(start_gateway, datasets):
    url, _ = start_gateway(SENTIVIS_DATASETS_DIR=str(datasets))
    jobs_url = url + "/api/v1/training-jobs"
    for teachers, message in ((["no-such-teacher"], "teachers: 'no-such-teacher' is not a committed teacher; "
                                                    "committed: " + ", ".join(training.committed_teachers())),
                              (["../../classifier/models/emotion-net"], "is not a committed teacher"),
                              ("emotionnet-32-512-s1", "teachers must be a list of committed teacher names")):
        status, body = post_json(jobs_url, {"dataset": "fer2013.csv.gz", "teachers": teachers})
        assert status == 400 and message in body["error"]
    assert get_json(jobs_url) == (200, {"jobs": []})  # nothing was created or queued
    status, body = post_json(url + "/api/v1/training/estimate", {"teachers": ["emotionnet-32-512-s1"], "epochs": 4})
    assert status == 200 and body["estimate"]["seconds"] > 0


def test_without_a_reference_card_there_is_no_estimate(start_gateway, tmp_path, datasets):
    url, _ = start_gateway(SENTIVIS_EMOTION_WEIGHTS=str(tmp_path / "none.onnx"), SENTIVIS_DATASETS_DIR=str(datasets))
    status, body = get_json(url + "/api/v1/training/options")
    assert status == 200 and body["estimate"] is None and len(body["datasets"]) == 2
    assert post_json(url + "/api/v1/training/estimate", {}) == (200, {"estimate": None})


def test_the_openapi_training_body_is_the_schema():
    document = openapi_document()
    body = document["paths"]["/api/v1/training-jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["dataset"] and body["additionalProperties"] is False
    params = {p["name"]: p for p in training.schema()}
    assert list(body["properties"]) == ["dataset", *params]
    for name, param in params.items():
        prop = body["properties"][name]
        assert prop["default"] == param["default"] and prop["description"] == param["help"]
        if param["type"] == "integer_list":
            assert (prop["type"], prop["items"]["maximum"], prop["maxItems"]) == (
                "array", param["maximum"], param["max_items"])
        elif param["type"] == "string_list":
            assert (prop["type"], prop["items"]["enum"], prop["uniqueItems"]) == ("array", param["choices"], True)
        elif "choices" in param:
            assert prop["enum"] == param["choices"]
        else:
            assert (prop["type"], prop["minimum"], prop["maximum"]) == (param["type"], param["minimum"],
                                                                         param["maximum"])
