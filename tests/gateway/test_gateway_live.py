"""The real gateway process against a real Redis, with this test playing the workers."""
import json
import time

import numpy as np
import pytest
import redis

from sentivis import redis_io, streams
from sentivis.labels import EMOTIONS
from sentivis.protocol import APPEARANCE_DTYPE, Box, Emotion, EmotionInfo, Face, Models, decode
from tests.support.waiting import wait_for
from toolkit.client import FrameClient
from toolkit.processes import free_port, get_json
from toolkit.samples import huge_header_jpeg, jpeg

GOOD = jpeg(np.full((240, 320, 3), 90, np.uint8))


@pytest.fixture
def gateway(start_gateway):
    return start_gateway(SENTIVIS_FRAME_TIMEOUT_MS="10000", SENTIVIS_MAX_FRAME_BYTES="500000")[0]


def is_probe(message) -> bool:
    """The gateway's own readiness probe (gateway/probe.py), not a client's frame."""
    return message.oneshot


def play_worker(client: redis.Redis, faces_of=lambda m: [], error=None, count=1, timeout=10.0,
                counted=lambda m: not is_probe(m), taken_at: float | None = None):
    """Answer frames off the frames stream as detector+classifier would, until `count` of those
    `counted` (by default clients' frames, not the gateway's probes) were answered; returns those.
    taken_at: the frames' time (time.time() seconds) on the gateway tracker's clock, in place of
    when the gateway received them."""
    try:  # from the stream's start: the frames were queued before this worker arrived
        client.xgroup_create(streams.FRAMES, "test-workers", id="0", mkstream=True)
    except redis.ResponseError:
        pass
    answered = []
    deadline = time.monotonic() + timeout
    while len(answered) < count and time.monotonic() < deadline:
        reply = client.xreadgroup("test-workers", "w", {streams.FRAMES: ">"}, count=count, block=200)
        for _, entries in reply or []:
            for _, fields in entries:
                message, data = decode(fields)
                assert data.startswith(b"\xff\xd8")  # binary JPEG, not base64
                now = time.time()
                message.stamps.detector_start = message.stamps.decode_done = message.stamps.detect_done = now
                message.faces = faces_of(message)
                message.models = Models(emotion=EmotionInfo(True, "test"))
                message.error = error
                if taken_at is not None:
                    message.received_at = taken_at
                redis_io.send_result(client, message, 1000)
                if counted(message):
                    answered.append(message)
    assert len(answered) == count, f"only {len(answered)} of {count} frames arrived on the stream"
    return answered


def queued_frame_ids(client: redis.Redis) -> list[int]:
    """The clients' frames the gateway queued for the workers (the frames stream, probes left out)."""
    return [m.frame_id for m in (decode(fields)[0] for _, fields in client.xrange(streams.FRAMES)) if not is_probe(m)]


def happy_face(x, look=None) -> Face:
    """A face as the classifier answers it; look: a seed for its appearance vector (None: none)."""
    probs = {e: 0.01 for e in EMOTIONS}
    probs["happy"] = 0.94
    appearance = None if look is None else np.random.default_rng(look).standard_normal(64).astype(
        APPEARANCE_DTYPE).tobytes()
    return Face(Box(x, 40, 60, 60), 0.9, Emotion("happy", 0.94, probs), appearance)


def test_health_ready_and_metrics(gateway, redis_url):
    assert get_json(gateway + "/healthz")[0] == 200
    status, body = get_json(gateway + "/readyz")
    assert status == 503 and body["redis"] is True and body["detectors"] == 0
    client = redis.Redis.from_url(redis_url)
    redis_io.heartbeat(client, "detector", "d1", {"service": "detector"}, 60)
    redis_io.heartbeat(client, "classifier", "c1",
                       {"service": "classifier", "model": {"ready": True, "version": "v1"}}, 60)
    # Workers beat, but no frame is answered: not ready, the probe says why.
    status, body = get_json(gateway + "/readyz")
    assert status == 503 and (body["detectors"], body["classifiers"]) == (1, 1) and not body["probe"]["ready"]
    # Now the probe frames come back with a face, in time: ready after three in a row.
    deadline = time.monotonic() + 30
    while (status := get_json(gateway + "/readyz")[0]) != 200 and time.monotonic() < deadline:
        [probe] = play_worker(client, faces_of=lambda m: [happy_face(100)], count=1, timeout=10, counted=is_probe)
        assert (probe.width, probe.height) == (320, 240)
    status, body = get_json(gateway + "/readyz")
    assert status == 200 and body["models"]["emotion"]["version"] == "v1" and body["probe"]["ready"], body
    import urllib.request
    text = urllib.request.urlopen(gateway + "/metrics").read().decode()
    assert "sentivis_frames_received_total" in text


def test_frames_travel_as_binary_and_results_come_back_tracked(gateway, redis_url):
    client = redis.Redis.from_url(redis_url)
    browser = FrameClient(gateway)
    try:
        browser.send(1, GOOD)
        [message] = play_worker(client, lambda m: [happy_face(100)])
        assert (message.width, message.height, message.frame_id) == (320, 240, 1)
        name, event = browser.wait_frame(1)
        assert name == "inference"
        assert event["width"] == 320 and event["dropped_frames"] == 0
        [face] = event["faces"]
        assert face["box"] == {"x": 100, "y": 40, "width": 60, "height": 60}
        assert face["emotion"]["label"] == "happy"
        assert set(event["latency"]) >= {"server_ms", "queue_ms", "decode_ms", "detect_ms"}
        browser.send(2, GOOD)
        play_worker(client, lambda m: [happy_face(104)])
        _, second = browser.wait_frame(2)
        assert second["faces"][0]["id"] == face["id"]
    finally:
        browser.close()


def test_people_keep_their_ids_by_look_and_the_look_never_reaches_the_browser(start_gateway, redis_url):
    client = redis.Redis.from_url(redis_url)
    browser = FrameClient(start_gateway(SENTIVIS_TRACK_MAX_ABSENCE_S="2")[0])
    frames = iter(range(1, 100))
    # The frames' times on the tracker's clock, explicit: 15 fps, and a pause of a set length however
    # long the test takes. In the past, so that the latencies stay positive.
    start = time.time() - 60
    times = iter([0, 1 / 15, 2 / 15, 2 / 15 + 1.3, 3 / 15 + 1.3])

    def frame(*faces):
        fid = next(frames)
        browser.send(fid, GOOD)
        play_worker(client, lambda m: list(faces), taken_at=start + next(times))
        name, event = browser.wait_frame(fid)
        assert name == "inference"
        assert "appearance" not in json.dumps(event)  # the tracker's alone
        return [f["id"] for f in event["faces"]]

    try:
        a, b = frame(happy_face(20, look=1), happy_face(200, look=2))
        assert frame(happy_face(204, look=2), happy_face(24, look=1)) == [b, a]  # in any order
        # Both out of view for 1.3 s, longer than motion predicts a face (1 s) and shorter than a face is
        # remembered (2 s), back in each other's place: each is known by their look, where motion
        # alone would swap them.
        assert frame() == []
        assert frame(happy_face(24, look=2), happy_face(204, look=1)) == [b, a]
        assert frame(happy_face(110)) not in ([a], [b])  # someone without a look, far from both: new
    finally:
        browser.close()


def test_in_flight_cap_drops_and_counts_and_lost_frames_time_out(start_gateway, redis_url):
    client = redis.Redis.from_url(redis_url)
    browser = FrameClient(start_gateway(SENTIVIS_FRAME_TIMEOUT_MS="1000")[0])
    try:
        for fid in range(5):
            browser.send(fid, GOOD)
        browser.wait_count(3, timeout=5)
        dropped = [p for n, p in browser.events if p["code"] == "too_many_in_flight"]
        assert sorted(p["frame_id"] for p in dropped) == [2, 3, 4]
        # No worker answers: the two frames in flight are given up, and the slots come back.
        browser.wait_count(5, timeout=5)
        assert sorted(p["frame_id"] for n, p in browser.events if p["code"] == "timeout") == [0, 1]
        # A slot is free again: the next frame is queued for the workers (a refused one never is), and
        # with no worker it times out like the first two rather than being refused.
        browser.send(10, GOOD)
        wait_for(lambda: sorted(queued_frame_ids(client)) == [0, 1, 10], "frame 10 queued for the workers", 5)
        name, event = browser.wait_frame(10, timeout=5)
        assert (name, event["code"]) == ("frame_error", "timeout"), event
    finally:
        browser.close()


def test_expired_frames_are_reported_and_counted(gateway, redis_url):
    client = redis.Redis.from_url(redis_url)
    browser = FrameClient(gateway)
    try:
        browser.send(1, GOOD)
        play_worker(client, error="expired")
        name, event = browser.wait_frame(1)
        assert name == "frame_error" and event["code"] == "expired"
        browser.send(2, GOOD)
        play_worker(client, lambda m: [])
        _, event = browser.wait_frame(2)
        assert event["dropped_frames"] == 1 and event["faces"] == []
    finally:
        browser.close()


BAD_PAYLOADS = [
    ("just a string", "invalid_payload"),
    ({"frame_id": -3, "image": GOOD}, "invalid_frame_id"),
    ({"frame_id": "x", "image": GOOD}, "invalid_frame_id"),
    ({"frame_id": 1}, "missing_image"),
    ({"frame_id": 2, "image": "base64text"}, "invalid_image_type"),
    ({"frame_id": 3, "image": b""}, "empty_image"),
    ({"frame_id": 4, "image": b"GIF89a" + bytes(100)}, "not_jpeg"),
    ({"frame_id": 5, "image": huge_header_jpeg()}, "image_too_large"),
    ({"frame_id": 6, "image": b"\xff\xd8\xff" + bytes(600_000)}, "frame_too_large"),
    ({"frame_id": 7, "image": b"\xff\xd8\xff" + bytes(10_000_000)}, "frame_too_large"),  # 10 MB
    ({"frame_id": 8, "image": GOOD, "extra": "ignored", "sent_at": "not a number"}, None),
]


def test_bad_frames_get_specific_errors_and_the_connection_stays_usable(gateway, redis_url):
    client = redis.Redis.from_url(redis_url)
    browser = FrameClient(gateway)
    other = FrameClient(gateway)
    try:
        for payload, _ in BAD_PAYLOADS:
            browser.send_raw(payload)
        expected = [code for _, code in BAD_PAYLOADS if code]
        browser.wait_count(len(expected), timeout=10)
        assert [p["code"] for _, p in browser.events] == expected
        assert all(p["message"] for _, p in browser.events)
        # The same connection and another one still get their frames processed.
        browser.send(100, GOOD)
        other.send(200, GOOD)
        play_worker(client, lambda m: [happy_face(50)], count=3)
        assert browser.wait_frame(8)[0] == "inference", "extra fields are ignored"
        assert browser.wait_frame(100)[0] == "inference"
        assert other.wait_frame(200)[0] == "inference"
        assert not other.of(100) and not browser.of(200), "each client gets only its own results"
        assert sorted(queued_frame_ids(client)) == [8, 100, 200], "no bad frame reached the stream"
    finally:
        browser.close()
        other.close()


def test_redis_down_gives_unavailable_not_a_hang(start_gateway):
    url, _ = start_gateway(SENTIVIS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    assert get_json(url + "/readyz")[0] == 503
    browser = FrameClient(url)
    try:
        browser.send(1, GOOD)
        name, event = browser.wait_frame(1, timeout=20)
        assert (name, event["code"]) == ("frame_error", "unavailable")
    finally:
        browser.close()


def post_json(url: str, body) -> tuple[int, dict]:
    import json
    import urllib.request

    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_model_versions_list_the_shipped_one_as_active_until_another_is_and_roll_back_to_it(gateway, redis_url,
                                                                                            tmp_path):
    from sentivis import registry

    client = redis.Redis.from_url(redis_url)
    first, second, shipped_file = tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path / "emotion-net.onnx"
    for path in (first, second, shipped_file):
        path.write_bytes(path.name.encode())
    assert get_json(gateway + "/api/v1/models") == (200, {"active": None, "shipped": None, "versions": []})
    shipped = registry.register_model(client, shipped_file, {}, activate=False, shipped=True)  # as a classifier does
    status, body = get_json(gateway + "/api/v1/models")
    assert status == 200 and body["active"] == body["shipped"] == shipped["version"]
    assert [(v["version"], v["shipped"]) for v in body["versions"]] == [(shipped["version"], True)]

    a = registry.register_model(client, first, {"test_accuracy": 0.5})
    b = registry.register_model(client, second, {"test_accuracy": 0.6})
    status, body = get_json(gateway + "/api/v1/models")
    assert status == 200 and body["active"] == b["version"] and body["shipped"] == shipped["version"]
    assert [(v["version"], v["shipped"]) for v in body["versions"]] == [
        (b["version"], False), (a["version"], False), (shipped["version"], True)]  # newest first
    status, body = post_json(gateway + f"/api/v1/models/{a['version']}/activate", {})
    assert status == 200 and registry.active_version(client) == a["version"]
    status, body = post_json(gateway + f"/api/v1/models/{shipped['version']}/activate", {})
    assert (status, body["active"], body["model"]["path"]) == (200, shipped["version"], str(shipped_file))
    assert get_json(gateway + "/api/v1/models")[1]["active"] == shipped["version"]
    status, body = post_json(gateway + "/api/v1/models/no-such-version/activate", {})
    assert (status, body) == (404, {"error": "unknown model version 'no-such-version'"})
    assert registry.active_version(client) == shipped["version"]


def test_training_jobs_reject_bad_parameters_and_paths(gateway):
    url = gateway + "/api/v1/training-jobs"
    assert post_json(url, b"not json")[0] == 400
    status, body = post_json(url, {"dataset": "../../etc/passwd"})
    assert status == 400 and "outside" in body["error"]
    status, body = post_json(url, {"dataset": "fer.csv", "epochs": "many"})
    assert status == 400 and "epochs" in body["error"]
    status, body = post_json(url, {"dataset": "missing.csv"})
    assert status == 400 and "does not exist" in body["error"]
    assert get_json(gateway + "/api/v1/training-jobs/" + "0" * 32)[0] == 404


def limits_on_connect(url: str) -> dict:
    """The `limits` event a fresh connection gets."""
    import socketio

    sio = socketio.Client(reconnection=False)
    got = []
    sio.on("limits", got.append)
    sio.connect(url, transports=["websocket"], wait_timeout=10)
    try:
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        sio.disconnect()
    assert len(got) == 1, f"expected one limits event after connect, got {got}"
    return got[0]


def test_a_connection_is_told_the_limits_the_gateway_enforces(start_gateway):
    url, _ = start_gateway(SENTIVIS_MAX_IN_FLIGHT="3", SENTIVIS_FRAME_TIMEOUT_MS="1500",
                           SENTIVIS_MAX_FRAMES_PER_SECOND="12.5", SENTIVIS_MAX_FRAME_BYTES="400000",
                           SENTIVIS_MAX_FRAME_PIXELS="1000000")
    limits = limits_on_connect(url)
    assert limits == {"max_in_flight": 3, "frame_timeout_ms": 1500, "max_frames_per_second": 12.5,
                      "max_frame_bytes": 400000, "max_frame_pixels": 1000000}
    # The announced cap is the enforced one: the fourth unanswered frame is refused.
    browser = FrameClient(url)
    try:
        for fid in range(4):
            browser.send(fid, GOOD)
        name, event = browser.wait_frame(3, timeout=5)
        assert (name, event["code"]) == ("frame_error", "too_many_in_flight")
        assert not browser.of(2)
    finally:
        browser.close()
