"""The classifier service against a real Redis: batching, results, hot reload, bad input, lost Redis."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
import redis
import torch

from sentivis import registry, streams
from sentivis.labels import EMOTIONS
from sentivis.protocol import APPEARANCE_DTYPE
from sentivis.stages.classify import EmotionModel
from sentivis.tracking.appearance import appearance
from tests.classifier.harness import Ends, ServiceThread, real_faces, service_settings
from tests.support.models import export, install
from tests.support.waiting import wait_for
from toolkit.processes import Service, free_port, redis_server


@pytest.fixture
def start(redis_url):
    """start(weights, **settings) -> (Ends, ServiceThread), the service ready to read."""
    running = []

    def start_service(weights, **overrides):
        settings = service_settings(redis_url, weights, **overrides)
        ends = Ends(redis_url, settings.consumer_name)
        running.append(ServiceThread(settings))
        ends.wait_heartbeat(lambda hb: True)  # its consumer group exists from here on
        return ends, running[-1]

    yield start_service
    for service in running:
        service.stop()


def expected(path, crops) -> np.ndarray:
    return EmotionModel.load(path).predict(crops)


def test_faces_get_emotions_in_label_order(start, model_files):
    ends, _ = start(model_files["a"])
    ends.wait_heartbeat(lambda hb: hb["ready"])
    faces = real_faces(3)
    ends.send((7, faces))
    (result,) = ends.results(1)
    assert result.frame_id == 7 and result.error is None
    want = expected(model_files["a"], faces)
    for face, probs in zip(result.faces, want, strict=True):
        emotion = face.emotion
        assert list(emotion.probabilities) == list(EMOTIONS)
        got = np.array(list(emotion.probabilities.values()))
        assert got.sum() == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(got, probs, atol=1e-5)
        assert emotion.label == EMOTIONS[int(np.argmax(probs))]
        assert emotion.confidence == pytest.approx(float(probs.max()), abs=1e-6)
    assert [f.box.x for f in result.faces] == [0, 10, 20]  # the detector's fields stay
    for face, crop in zip(result.faces, faces, strict=True):  # each face's look, for the gateway's tracker, as float16
        assert face.appearance_vector().dtype == APPEARANCE_DTYPE
        np.testing.assert_array_equal(face.appearance_vector(), appearance(crop).astype(APPEARANCE_DTYPE))
    info = result.models.emotion
    assert info.ready is True and info.version == "test-a" and info.source == "file"
    assert info.accuracy == pytest.approx(0.6)
    assert result.models.detector.name == "test-detector"
    assert result.stamps.detect_done <= result.stamps.classifier_start <= result.stamps.classify_done
    assert ends.pending() == 0


def test_faces_of_several_messages_run_in_one_batch(start, model_files):
    ends, _ = start(model_files["a"])
    ends.wait_heartbeat(lambda hb: hb["ready"])
    faces = real_faces(6)
    ends.send((1, faces[0:1]), (2, faces[1:4]), (3, faces[4:6]))
    results = sorted(ends.results(3), key=lambda m: m.frame_id)
    assert [len(r.faces) for r in results] == [1, 3, 2]
    # One read, one model run: every message carries the same start and finish stamps.
    assert len({r.stamps.classifier_start for r in results}) == 1
    assert len({r.stamps.classify_done for r in results}) == 1
    want = expected(model_files["a"], faces)
    assert np.ptp(want, axis=0).max() > 1e-3  # the faces' answers differ, so a mix-up would show
    got = np.array([list(f.emotion.probabilities.values()) for r in results for f in r.faces])
    np.testing.assert_allclose(got, want, atol=1e-5)  # each face its own answer


def test_without_a_model_faces_are_answered_with_no_emotion(start, tmp_path):
    ends, _ = start(tmp_path / "absent.onnx")
    heartbeat = ends.heartbeat()
    assert heartbeat["ready"] is False and heartbeat["model"]["ready"] is False
    assert heartbeat["service"] == "classifier" and heartbeat["pid"] == os.getpid()
    ends.send((1, real_faces(2)))
    (result,) = ends.results(1)
    assert result.error is None
    assert [f.emotion for f in result.faces] == [None, None]
    assert all(f.appearance_vector().shape == (64,) for f in result.faces)  # tracked by their look all the same
    assert result.models.emotion.ready is False and result.models.emotion.version is None


def test_a_model_file_that_appears_later_is_picked_up(start, model_files, tmp_path):
    weights = tmp_path / "models" / "emotion-net.onnx"
    ends, _ = start(weights)
    faces = real_faces(1)
    ends.send((1, faces))
    assert ends.results(1)[0].faces[0].emotion is None
    install(model_files["a"], weights)
    ends.wait_heartbeat(lambda hb: hb["ready"])
    ends.send((2, faces))
    (result,) = ends.results(1)
    assert result.faces[0].emotion is not None
    assert result.models.emotion.version == "test-a"
    # Replacing the file serves the new one, still without a restart.
    install(model_files["b"], weights)
    ends.wait_heartbeat(lambda hb: hb["model"]["version"] == "test-b")


def test_registry_activation_switches_the_served_version_and_back(start, model_files, redis_url):
    ends, _ = start(model_files["a"])
    ends.wait_heartbeat(lambda hb: hb["model"]["version"] == "test-a")
    a = registry.register_model(ends.client, model_files["a"], {}, activate=False)
    b = registry.register_model(ends.client, model_files["b"], {})
    faces = real_faces(2)

    def served(version, path):
        ends.wait_heartbeat(lambda hb: hb["model"]["version"] == version)
        ends.send((int(time.monotonic_ns()), faces))
        (result,) = ends.results(1)
        assert result.models.emotion.version == version
        assert result.models.emotion.source == "registry"
        got = np.array([list(f.emotion.probabilities.values()) for f in result.faces])
        np.testing.assert_allclose(got, expected(path, faces), atol=1e-5)

    served(b["version"], model_files["b"])
    registry.activate(ends.client, a["version"])
    served(a["version"], model_files["a"])
    registry.activate(ends.client, b["version"])
    served(b["version"], model_files["b"])
    # With no active version the configured file is served again.
    ends.client.delete(streams.MODEL_ACTIVE)
    hb = ends.wait_heartbeat(lambda hb: hb["model"]["source"] == "file")
    assert hb["model"]["version"] == "test-a"


def test_a_corrupt_model_does_not_replace_the_good_one(start, model_files, tmp_path):
    weights = install(model_files["a"], tmp_path / "emotion-net.onnx")
    ends, service = start(weights)
    good = ends.wait_heartbeat(lambda hb: hb["ready"])["model"]
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(model_files["b"].read_bytes()[:5000])  # a truncated copy
    os.replace(corrupt, weights)
    hb = ends.wait_heartbeat(lambda hb: hb["last_error"])
    assert "not a loadable ONNX model" in hb["last_error"]
    assert hb["model"] == good and hb["ready"] is True
    ends.send((1, real_faces(1)))
    (result,) = ends.results(1)
    assert result.models.emotion.sha256 == good["sha256"]
    assert result.faces[0].emotion is not None
    assert service.thread.is_alive()


def test_a_registered_version_that_breaks_the_contract_is_not_served(start, model_files, tmp_path, monkeypatch):
    ends, service = start(model_files["a"])
    good = ends.wait_heartbeat(lambda hb: hb["ready"])["model"]
    bad = export(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48 * 48, 7), torch.nn.Softmax(dim=1)),
                 tmp_path / "bad.onnx", input_name="pixels")
    registry.register_model(ends.client, bad, {})
    hb = ends.wait_heartbeat(lambda hb: hb["last_error"])
    assert "one input named 'input'" in hb["last_error"]
    assert hb["model"]["sha256"] == good["sha256"]
    # What is served are the registered bytes (in Redis): a registered file changed on disk
    # afterwards changes nothing.
    c = registry.register_model(ends.client, install(model_files["b"], tmp_path / "c.onnx"), {})
    ends.wait_heartbeat(lambda hb: hb["model"]["version"] == c["version"])
    watcher, served = service.service.watcher, []  # the served model's sha256 after each poll from here on
    real_poll = watcher.poll

    def poll(client):
        changed = real_poll(client)
        served.append(watcher.model.sha256)
        return changed

    monkeypatch.setattr(watcher, "poll", poll)
    install(model_files["a"], tmp_path / "c.onnx")
    after = len(served)
    wait_for(lambda: len(served) >= after + 2, "two model polls after the file changed", 10)  # one began after
    assert set(served) == {c["sha256"]}, served
    hb = ends.wait_heartbeat(lambda hb: True)
    assert hb["model"]["sha256"] == c["sha256"] and hb["last_error"] is None


def test_a_malformed_message_gets_an_error_and_the_next_is_answered(start, model_files):
    ends, service = start(model_files["a"])
    ends.wait_heartbeat(lambda hb: hb["ready"])
    faces = real_faces(2)
    short = Ends.message(1, faces=2)
    ends.send_raw(short, faces[:1].tobytes())  # crops for one face, two faces announced
    ends.client.xadd(streams.FACES, {"meta": b"\xc1 not msgpack", "data": b""})  # no gateway to answer
    ends.send((2, faces))
    first, second = ends.results(2)
    assert first.frame_id == 1 and first.error == "internal_error"
    assert second.frame_id == 2 and second.error is None and second.faces[1].emotion is not None
    wait_for(lambda: ends.pending() == 0, "every message acknowledged", 20)
    assert service.thread.is_alive()


def test_reconnects_after_redis_comes_back(model_files, tmp_path, caplog):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = redis_server(port, tmp_path).start()
    try:
        ends = wait_for(lambda: _try_ends(url, port), "private redis-server up", 10)
        settings = service_settings(url, model_files["a"])
        ends.consumer = settings.consumer_name
        service = ServiceThread(settings)
        try:
            ends.wait_heartbeat(lambda hb: hb["ready"])
            server.stop()
            wait_for(lambda: "; retrying in " in caplog.text, "the service seeing Redis gone and backing off", 10)
            server = redis_server(port, tmp_path).start()  # a fresh, empty Redis on the same address
            wait_for(lambda: _try_ends(url, port), "redis-server back", 10)
            ends.wait_heartbeat(lambda hb: hb["ready"])  # reconnected: heartbeat back
            wait_for(lambda: _has_group(ends.client), "consumer group recreated", 10)
            ends._last_id = b"0-0"
            ends.send((5, real_faces(1)))
            (result,) = ends.results(1)
            assert result.frame_id == 5 and result.faces[0].emotion is not None
        finally:
            service.stop()
    finally:
        server.stop()


def _has_group(client: redis.Redis) -> bool:
    try:
        return any(g["name"] == streams.CLASSIFIER_GROUP.encode() for g in client.xinfo_groups(streams.FACES))
    except redis.ResponseError:  # no stream yet
        return False


def _try_ends(url: str, port: int) -> Ends | None:
    try:
        redis.Redis(port=port).ping()
    except redis.ConnectionError:
        return None
    return Ends(url, consumer="")


def test_runs_as_a_process_and_stops_cleanly_on_sigterm(redis_url, model_files, tmp_path):
    env = {"SENTIVIS_REDIS_URL": redis_url, "SENTIVIS_EMOTION_WEIGHTS": str(model_files["a"]),
           "SENTIVIS_CONSUMER_NAME": "classifier-proc", "SENTIVIS_MODEL_POLL_S": "0.2",
           "SENTIVIS_HEARTBEAT_S": "0.2"}
    process = Service("classifier", env, tmp_path).start()
    try:
        ends = Ends(redis_url, "classifier-proc")
        hb = ends.wait_heartbeat(lambda hb: hb["ready"], timeout=60)
        assert hb["pid"] == process.proc.pid and hb["consumer"] == "classifier-proc"
        ends.send((9, real_faces(1)))
        (result,) = ends.results(1, timeout=30)
        assert result.models.emotion.version == "test-a"
        os.killpg(process.proc.pid, signal.SIGTERM)
        assert process.proc.wait(timeout=15) == 0, process.log()
        assert ends.heartbeat() is None  # removed on the way out, not left to expire
    finally:
        process.stop()
