"""POST /api/v1/analyze and GET /api/v1/openapi.json on a real stack (gateway, detector, classifier)."""
from __future__ import annotations

import csv
import io
import signal
import time

import numpy as np
import pytest
import requests
from PIL import Image

from sentivis import redis_io
from sentivis.labels import EMOTIONS
from tests.analyze.cli import run_cli
from tests.analyze.media import face_places, png_bytes
from tests.support.servers import RedisServer
from tests.support.stack import stack_env
from toolkit.processes import free_port, wait_http
from toolkit.samples import astronaut_frame, huge_header_jpeg, iou, jpeg, pasted_frame
from toolkit.stack import Stack

MAX_FRAME_BYTES = 300_000  # small, so a too-large image is cheap to send
TOKEN = "analyze-test-token"  # the module's gateway wants it, as a deployed one would


def gateway_stack(redis_url: str, log_dir, **env: str) -> Stack:
    """A stack with start_stack's settings, only its gateway started: the caller adds the workers and stops it."""
    return Stack(0, 0, redis_url=redis_url, env=stack_env(**env), log_dir=log_dir).start()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """One stack for the module, on its own redis-server (other tests flush the shared one);
    every process is stopped even when the start fails."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        database = tmp_path_factory.mktemp("sessions") / "sessions.db"
        s = Stack(redis_url=server.url, log_dir=tmp_path_factory.mktemp("stack"), recorders=1,
                  env=stack_env(SENTIVIS_MAX_FRAME_BYTES=str(MAX_FRAME_BYTES), SENTIVIS_AUTH_TOKEN=TOKEN,
                                SENTIVIS_DATABASE_URL=f"sqlite:///{database}"))
        yield s.start_ready(timeout=120)
        s.stop()
    finally:
        server.stop()


def post(stack: Stack, data=None, content_type: str | None = None, files=None, token: str | None = TOKEN,
         params: dict[str, str] | None = None) -> requests.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    if stack.env.get("SENTIVIS_AUTH_TOKEN") and token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(stack.url + "/api/v1/analyze", data=data, files=files, headers=headers, params=params,
                         timeout=30)


def assert_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["error"], body


def assert_inference(body: dict, places: list[dict], width: int = 320, height: int = 240) -> None:
    assert (body["width"], body["height"]) == (width, height)
    assert len(body["faces"]) == len(places), body["faces"]
    assert sorted(f["id"] for f in body["faces"]) == list(range(1, len(places) + 1))
    for place in places:
        assert max(iou(f["box"], place) for f in body["faces"]) > 0.45, (place, body["faces"])
    for face in body["faces"]:
        emotion = face["emotion"]
        assert list(emotion["probabilities"]) == list(EMOTIONS), "FER label order, as in Socket.IO events"
        assert sum(emotion["probabilities"].values()) == pytest.approx(1, abs=1e-2)
        # one-shot: no history, so the "smoothed" emotion is the model's own output
        assert emotion["label"] == emotion["raw"]["label"]
        for label in EMOTIONS:
            assert emotion["probabilities"][label] == pytest.approx(emotion["raw"]["probabilities"][label], abs=1e-3)
    assert body["models"]["emotion"]["ready"] is True and body["models"]["emotion"]["version"]
    assert body["models"]["detector"]["ready"] is True
    assert body["latency"]["server_ms"] > 0 and "detect_ms" in body["latency"]


def test_raw_jpeg(stack):
    data, box = astronaut_frame()
    response = post(stack, data, "image/jpeg")
    assert response.status_code == 200, response.text
    assert_inference(response.json(), [box])


def test_appearance_only_on_request(stack):
    data, places = pasted_frame()
    plain = post(stack, data, "image/jpeg").json()
    assert all("appearance" not in face for face in plain["faces"])
    response = post(stack, data, "image/jpeg", params={"appearance": "1"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert_inference(body, places)
    vectors = np.array([face["appearance"] for face in body["faces"]])
    assert vectors.shape == (len(places), 64)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=2e-3)  # unit length, as float16
    cosines = vectors @ vectors.T
    assert cosines[~np.eye(len(places), dtype=bool)].max() < 0.95  # three faces, three looks
    assert_error(post(stack, data, "image/jpeg", params={"appearance": "yes"}), 400, "invalid_parameter")


def test_raw_png_with_alpha_is_converted(stack):
    data, places = pasted_frame()
    response = post(stack, png_bytes(data, "RGBA"), "image/png")
    assert response.status_code == 200, response.text
    assert_inference(response.json(), places)


@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_multipart(stack, kind):
    data, places = pasted_frame()
    body = data if kind == "jpeg" else png_bytes(data)
    response = post(stack, files={"image": (f"faces.{kind}", body, f"image/{kind}")})
    assert response.status_code == 200, response.text
    assert_inference(response.json(), places)


def test_no_face(stack):
    response = post(stack, jpeg(np.full((240, 320, 3), 128, np.uint8)), "image/jpeg")
    assert response.status_code == 200, response.text
    assert response.json()["faces"] == []


@pytest.mark.parametrize("content_type, data, code", [
    ("text/plain", b"hello", "unsupported_type"),
    (None, b"\xff\xd8\xff" + b"x" * 100, "unsupported_type"),  # no Content-Type at all
    ("image/jpeg", b"GIF89a" + b"\x00" * 100, "unsupported_type"),  # a GIF is not a JPEG or PNG
    ("image/png", b"plain text, not a PNG", "unsupported_type"),
    ("image/jpeg", b"", "empty_image"),
])
def test_not_an_image_is_400(stack, content_type, data, code):
    assert_error(post(stack, data, content_type), 400, code)


def test_multipart_without_the_image_field_is_400(stack):
    data, _ = astronaut_frame()
    assert_error(post(stack, files={"picture": ("a.jpg", data, "image/jpeg")}), 400, "missing_image")


def test_too_many_bytes_is_413(stack):
    too_big = b"\xff\xd8\xff" + bytes(MAX_FRAME_BYTES)
    assert_error(post(stack, too_big, "image/jpeg"), 413, "frame_too_large")
    assert_error(post(stack, files={"image": ("big.jpg", too_big, "image/jpeg")}), 413, "frame_too_large")
    # a multipart body within the request slack but whose file is over the limit
    assert_error(post(stack, files={"image": ("big.jpg", too_big[: MAX_FRAME_BYTES + 10], "image/jpeg")}), 413,
                 "frame_too_large")


def test_too_many_pixels_is_413_before_decoding(stack):
    assert_error(post(stack, huge_header_jpeg(), "image/jpeg"), 413, "image_too_large")
    out = io.BytesIO()
    Image.new("L", (4000, 4000)).save(out, format="PNG")  # a few KB, 16 megapixels
    assert len(out.getvalue()) < MAX_FRAME_BYTES
    assert_error(post(stack, out.getvalue(), "image/png"), 413, "image_too_large")


def test_undecodable_images_are_422(stack):
    data, _ = astronaut_frame()
    assert_error(post(stack, data[: len(data) // 2], "image/jpeg"), 422, "decode_failed")  # by the detector
    assert_error(post(stack, b"\xff\xd8\xff\xe0" + b"\x00" * 40, "image/jpeg"), 422, "decode_failed")
    png = png_bytes(data)
    assert_error(post(stack, png[: len(png) // 2], "image/png"), 422, "decode_failed")


def test_without_the_token_is_401(stack):
    data, _ = astronaut_frame()
    assert post(stack, data, "image/jpeg", token=None).status_code == 401
    assert post(stack, data, "image/jpeg", token="wrong").status_code == 401


def test_the_stack_still_answers_after_bad_requests(stack):
    data, box = astronaut_frame()
    response = post(stack, data, "image/jpeg")
    assert response.status_code == 200
    assert_inference(response.json(), [box])


def test_openapi_lists_the_endpoints(stack):
    response = requests.get(stack.url + "/api/v1/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"},
                            timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    document = response.json()
    assert document["openapi"].startswith("3.")
    analyze = document["paths"]["/api/v1/analyze"]["post"]
    assert set(analyze["requestBody"]["content"]) == {"image/jpeg", "image/png", "multipart/form-data"}
    assert {"200", "400", "413", "422", "503"} <= set(analyze["responses"])
    assert {"/api/v1/models", "/api/v1/training-jobs"} <= set(document["paths"])

    def refs(node):
        if isinstance(node, dict):
            yield from ([node["$ref"]] if "$ref" in node else [])
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(document):  # every reference resolves inside the document
        target = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]


def test_cli_through_the_gateway(stack, media, tmp_path):
    run = run_cli(media / "clip.mp4", "--url", stack.url, "--every", "2", "--output", tmp_path,
                  SENTIVIS_AUTH_TOKEN=TOKEN)
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "clip" / "frames.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted({int(r["frame_index"]) for r in rows}) == [0, 2, 4, 6, 8, 10]
    assert len(rows) == 12
    for row in rows:
        box = {k: int(row[k]) for k in ("x", "y", "width", "height")}
        assert max(iou(box, place) for place in face_places(int(row["frame_index"]))) > 0.45
    assert len({r["face_id"] for r in rows}) == 2  # tracked across frames by the command


def test_cli_with_no_gateway_fails_clearly(media, tmp_path):
    run = run_cli(media / "astronaut.jpg", "--url", f"http://127.0.0.1:{free_port()}", "--output", tmp_path)
    assert run.returncode == 2
    assert "cannot reach the gateway" in run.stderr


def test_503_without_workers_and_when_they_do_not_answer(redis_url, tmp_path):
    # Heartbeats outlive a paused detector, so the gateway believes it is there and waits.
    stack = gateway_stack(redis_url, tmp_path, SENTIVIS_MAX_FRAME_AGE_MS="60000", SENTIVIS_HEARTBEAT_S="10",
                          SENTIVIS_FRAME_TIMEOUT_MS="1500")
    try:
        wait_http(stack.url + "/healthz", timeout=90)
        data, box = astronaut_frame()
        assert_error(post(stack, data, "image/jpeg"), 503, "unavailable")  # nothing running yet

        detector = stack.run("detector-1", "detector")
        stack.run("classifier-1", "classifier")
        stack.wait_ready(timeout=90)
        detector.proc.send_signal(signal.SIGSTOP)
        try:
            assert_error(post(stack, data, "image/jpeg"), 503, "timeout")
        finally:
            detector.proc.send_signal(signal.SIGCONT)
        response = post(stack, data, "image/jpeg")  # the late result of the first is not taken for this one
        assert response.status_code == 200, response.text
        assert_inference(response.json(), [box])
    finally:
        stack.stop()


def test_an_image_kept_as_a_session(stack):
    stack.wait_until(lambda: redis_io.live_services(redis_io.connect(stack.redis_url), "recorder"),
                     "the recorder's heartbeat", timeout=60)
    data, box = astronaut_frame()
    response = post(stack, data, "image/jpeg", params={"session": "upload 1"})
    assert response.status_code == 200, response.text
    body = response.json()
    session = body["session"]
    assert session["name"] == "upload 1" and len(session["id"]) == 32
    url = f"{stack.url}/api/v1/sessions/{session['id']}"
    deadline = time.monotonic() + 30
    while (found := requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)).status_code == 404:
        assert time.monotonic() < deadline, "the recorder did not write the session"
        time.sleep(0.1)
    detail = found.json()
    assert (detail["source"], detail["frames"], detail["end_reason"]) == ("image", 1, "stopped")
    assert detail["people"] == len(body["faces"])
    rows = requests.get(url + "/frames", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text.splitlines()
    assert len(rows) == 1 + len(body["faces"])


@pytest.mark.parametrize("name, code", [("", "invalid_session_name"), ("x" * 201, "invalid_session_name"),
                                        ("bad\x07bell", "invalid_session_name")])
def test_a_bad_session_name_is_400_before_any_work(stack, name, code):
    data, _ = astronaut_frame()
    assert_error(post(stack, data, "image/jpeg", params={"session": name}), 400, code)
