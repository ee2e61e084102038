"""The REST API against its own OpenAPI document, with schemathesis, on a real stack.

Every operation /api/v1/openapi.json lists gets requests generated from it (its examples, the
coverage cases, then seeded fuzzing, a bounded number of each) and sent to a real gateway
(`python -m gateway`) with a detector and a classifier on a private redis-server. Each answer is
checked against the document: no server error, a documented status code, content type, body and
headers, a 405 that lists only the path's methods, invalid requests refused and valid ones
accepted (but for what no schema can say: `refused_beyond_the_schema`).

Two gateways share the stack: one with SENTIVIS_AUTH_TOKEN, to which schemathesis sends the
bearer token (and, without it, every operation must give the documented 401), and one without
(the default on loopback). No trainer worker runs: a job is only enqueued, in the private Redis,
which goes with the stack.
"""
from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from PIL import Image
from schemathesis.specs.openapi.media_types import unregister_all

from sentivis.settings import SHIPPED_MODEL, Settings
from toolkit.processes import free_port, wait_http
from toolkit.samples import astronaut_frame, jpeg, pasted_frame
from toolkit.stack import Stack

TOKEN = "schemathesis-token"
SEED = 19
# Fuzzed cases per operation (the examples and coverage phases add their own, fewer on a small
# operation): enough to find the five failures of the first run, and the whole module stays
# within about a minute on a shared two-core machine.
MAX_EXAMPLES = 50
DATASET = "fer2013.csv.gz"  # the document's example; present in the test's datasets folder
# A 413 refuses a body over the byte limit, which the document states as maxLength.
REJECTION_STATUSES = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]


def image_bodies() -> tuple[list[bytes], list[bytes]]:
    """Real images for image/jpeg and image/png bodies and parts: faces (as the workers will find
    them), none, one pixel."""
    jpegs = [astronaut_frame()[0], pasted_frame()[0], jpeg(np.full((240, 320, 3), 128, np.uint8)),
             jpeg(np.zeros((1, 1, 3), np.uint8))]
    pngs = []
    for data in jpegs[1:]:
        out = io.BytesIO()
        Image.open(io.BytesIO(data)).save(out, format="PNG")
        pngs.append(out.getvalue())
    return jpegs, pngs


@pytest.fixture(scope="module")
def gateways(tmp_path_factory):
    """{"token": url, "open": url}: two gateways, a detector, a classifier and a recorder (sessions in a
    SQLite file of the test's), ready."""
    datasets = tmp_path_factory.mktemp("datasets")
    with gzip.open(datasets / DATASET, "wb") as f:
        f.write(b"emotion,pixels,Usage\n")
    env = {"SENTIVIS_EMOTION_WEIGHTS": str(SHIPPED_MODEL), "SENTIVIS_HEARTBEAT_S": "0.5",
           "SENTIVIS_MAX_FRAME_AGE_MS": "5000", "SENTIVIS_FRAME_TIMEOUT_MS": "10000",
           "SENTIVIS_DATASETS_DIR": str(datasets), "SENTIVIS_AUTH_TOKEN": TOKEN,
           "SENTIVIS_DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('sessions') / 'sessions.db'}"}
    stack = Stack(1, 1, env=env, log_dir=tmp_path_factory.mktemp("stack"), recorders=1).start_ready(timeout=120)
    try:
        port = free_port()
        stack.run("gateway-open", "gateway", env={"SENTIVIS_GATEWAY_PORT": str(port), "SENTIVIS_AUTH_TOKEN": ""})
        open_url = f"http://127.0.0.1:{port}"
        wait_http(open_url + "/readyz", timeout=60)
        jpegs, pngs = image_bodies()
        schemathesis.openapi.media_type("image/jpeg", st.sampled_from(jpegs))
        schemathesis.openapi.media_type("image/png", st.sampled_from(pngs))
        yield {"token": stack.url, "open": open_url}
    finally:
        unregister_all()
        stack.stop()


def headers_for(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"} if name == "token" else {}


def load(name: str, url: str, send_token: bool = True, max_examples: int = MAX_EXAMPLES) -> schemathesis.BaseSchema:
    """The document as gateway `name` serves it; its requests carry the token if it has one and
    send_token."""
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        "headers": headers_for(name) if send_token else {},
        "generation": {"max-examples": max_examples, "deterministic": True, "database": "none"},
        "checks": {"negative_data_rejection": {"expected-statuses": REJECTION_STATUSES}},
    })
    return schemathesis.openapi.from_url(url + "/api/v1/openapi.json", config=config, headers=headers_for(name),
                                         timeout=10)


@pytest.fixture(params=["token", "open"])
def api(request, gateways):
    return load(request.param, gateways[request.param])


@pytest.fixture
def api_without_token(gateways):
    return load("token", gateways["token"], send_token=False, max_examples=2)


def sent_image(case: schemathesis.Case) -> bytes | None:
    """The image bytes of an analyze request: the body, or the form's `image` part."""
    body = case.body.get("image") if isinstance(case.body, dict) else case.body
    data = getattr(body, "data", body)  # schemathesis wraps generated binaries
    return data if isinstance(data, bytes) else None


def image_fault(data: bytes | None) -> str | None:
    """The code the gateway must refuse these bytes with, judged by the formats' signatures and
    PIL; None for a decodable JPEG or PNG within the pixel limit."""
    data = data or b""
    if not data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
        return "unsupported_type"
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > Settings().max_frame_pixels:
                return "image_too_large"
            img.load()
    except Image.DecompressionBombError:
        return "image_too_large"
    except Exception:  # noqa: BLE001 - whatever PIL raises, it cannot decode them
        return "decode_failed"
    return None


def refused_beyond_the_schema(case: schemathesis.Case, response: schemathesis.Response) -> bool:
    """Whether a request valid by the document was refused for what no schema can say, and truly
    so: an image whose bytes are not a decodable JPEG or PNG within the pixel limit (a document
    gives the declared media type and the byte count, and schemathesis sends, say, a PDF as an
    image/jpeg part), a dataset that is not in the datasets folder (a document cannot list a folder)."""
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    if case.operation.label == "POST /api/v1/analyze":
        fault = image_fault(sent_image(case))
        return fault is not None and body.get("code") == fault
    if case.operation.label == "POST /api/v1/training-jobs":
        return (response.status_code == 400 and case.body.get("dataset") != DATASET
                and str(body.get("error")).startswith("dataset "))
    return False


def valid_data_accepted(ctx, response, case):
    """schemathesis's positive_data_acceptance, less `refused_beyond_the_schema`."""
    try:
        return schemathesis.checks.positive_data_acceptance(ctx, response, case)
    except schemathesis.openapi.checks.RejectedPositiveData:
        if refused_beyond_the_schema(case, response):
            return None
        raise


@pytest.fixture(autouse=True)
def schemathesis_on_pytest_9_2(request):
    """schemathesis 4.32.5's from_fixture reads and writes the item's `_nodeid` (to name each
    operation's subtest), which pytest 9.2 no longer has: give it one. Remove once schemathesis
    supports pytest 9.2."""
    request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api")
unauthenticated = schemathesis.pytest.from_fixture("api_without_token")


@schema.parametrize()
def test_every_operation_answers_as_documented(case):
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance],
                           additional_checks=[valid_data_accepted], timeout=30)


@unauthenticated.parametrize()
def test_without_the_token_every_operation_answers_the_documented_401(case):
    response = case.call_and_validate(timeout=30)
    assert response.status_code == 401, response.text


def test_what_fuzzing_does_not_reach_answers_as_documented(api, gateways, request):
    """The answers random input cannot reach: faces with their appearance, a PNG form, a queued job
    read back, the shipped model activated."""
    headers = headers_for(request.node.callspec.params["api"])
    analyze = api["/api/v1/analyze"]["POST"]
    response = analyze.Case(body=astronaut_frame()[0], media_type="image/jpeg",
                            query={"appearance": 1}).call_and_validate(headers=headers, timeout=30)
    faces = response.json()["faces"]
    assert len(faces) == 1 and len(faces[0]["appearance"]) == 64
    _, pngs = image_bodies()
    response = analyze.Case(body={"image": pngs[0]}, media_type="multipart/form-data").call_and_validate(
        headers=headers, timeout=30)
    assert len(response.json()["faces"]) == 3

    created = api["/api/v1/training-jobs"]["POST"].Case(body={"dataset": DATASET, "epochs": 2.0},
                                                          media_type="application/json")
    job = created.call_and_validate(headers=headers, timeout=30).json()
    assert job["state"] == "queued" and job["params"]["epochs"] == 2  # a whole-number float is an integer
    read = api["/api/v1/training-jobs/{job_id}"]["GET"].Case(path_parameters={"job_id": job["id"]})
    assert read.call_and_validate(headers=headers, timeout=30).json()["id"] == job["id"]

    shipped = api["/api/v1/models"]["GET"].Case().call_and_validate(headers=headers, timeout=30).json()["shipped"]
    activate = api["/api/v1/models/{version}/activate"]["POST"].Case(path_parameters={"version": shipped})
    assert activate.call_and_validate(headers=headers, timeout=30).json()["active"] == shipped


def test_a_wrong_method_lists_only_the_documented_ones(api, gateways, request):
    """Every path of the document answers a method it lacks with a JSON 405 whose Allow lists its
    own methods (not the page's GET, which the catch-all route answers elsewhere)."""
    name = request.node.callspec.params["api"]
    for path, operations in api.raw_schema["paths"].items():
        documented = {method.upper() for method in operations}
        wrong = "DELETE" if "DELETE" not in documented else "PATCH"
        url = gateways[name] + path.replace("{", "").replace("}", "")
        response = requests.request(wrong, url, headers=headers_for(name), timeout=10)
        assert response.status_code == 405, (path, response.status_code, response.text)
        allowed = {m.strip() for m in response.headers["Allow"].split(",")} - {"OPTIONS", "HEAD"}
        assert allowed == documented, (path, response.headers["Allow"])
        assert response.headers["Content-Type"] == "application/json" and response.json()["error"]
