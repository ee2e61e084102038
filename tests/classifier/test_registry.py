"""sentivis.registry against a real Redis: register, activate, list; the shipped version and rollback;
the model bytes in Redis, which a classifier on a node without the file serves."""
from __future__ import annotations

import hashlib
import json
import shutil
import time

import pytest
import redis

from sentivis import registry, streams
from tests.classifier.harness import Ends, ServiceThread, real_faces, service_settings
from tests.support.models import install


@pytest.fixture
def client(redis_url):
    return redis.Redis.from_url(redis_url)


def test_register_records_the_file_and_activates_it(client, model_files):
    assert registry.active_record(client) is None
    record = registry.register_model(client, model_files["a"], {"test_accuracy": 0.61})
    sha = hashlib.sha256(model_files["a"].read_bytes()).hexdigest()
    assert record["sha256"] == sha
    assert record["version"] == "emotion-a-" + sha[:8]  # content-addressed
    assert record["path"] == str(model_files["a"].resolve())
    assert record["metrics"] == {"test_accuracy": 0.61}
    assert record["card"]["version"] == "test-a"
    assert time.time() - record["created_at"] < 60
    assert registry.active_version(client) == record["version"]
    assert registry.active_record(client) == record
    assert json.loads(client.hget(streams.MODEL_VERSIONS, record["version"])) == record


def test_register_without_activating_leaves_the_active_version(client, model_files):
    first = registry.register_model(client, model_files["a"], {})
    second = registry.register_model(client, model_files["b"], {}, activate=False)
    assert second["version"] != first["version"]
    assert registry.active_record(client)["version"] == first["version"]


def test_activate_switches_and_back(client, model_files):
    a = registry.register_model(client, model_files["a"], {})
    b = registry.register_model(client, model_files["b"], {})
    assert registry.active_version(client) == b["version"]
    assert registry.activate(client, a["version"]) == a
    assert registry.active_record(client) == a
    registry.activate(client, b["version"])
    assert registry.active_record(client) == b


def test_activate_refuses_an_unknown_version_and_changes_nothing(client, model_files):
    a = registry.register_model(client, model_files["a"], {})
    with pytest.raises(KeyError) as raised:
        registry.activate(client, "no-such-version")
    assert str(raised.value) == "unknown model version 'no-such-version'"
    assert isinstance(raised.value, registry.UnknownVersion)
    assert registry.active_version(client) == a["version"]


def test_register_refuses_a_missing_file(client, tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file"):
        registry.register_model(client, tmp_path / "absent.onnx", {})
    assert client.exists(streams.MODEL_VERSIONS, streams.MODEL_ACTIVE) == 0


def test_list_versions_newest_first(client, model_files):
    assert registry.list_versions(client) == []
    a = registry.register_model(client, model_files["a"], {})
    b = registry.register_model(client, model_files["b"], {})
    assert [r["version"] for r in registry.list_versions(client)] == [b["version"], a["version"]]


def test_card_path_sits_beside_the_model(tmp_path):
    assert registry.card_path(tmp_path / "emotion-net.onnx") == tmp_path / "emotion-net.card.json"
    assert registry.read_card(tmp_path / "emotion-net.onnx") is None
    (tmp_path / "emotion-net.card.json").write_text("{not json")
    assert registry.read_card(tmp_path / "emotion-net.onnx") is None


def test_the_same_bytes_register_once(client, model_files, tmp_path):
    first = registry.register_model(client, model_files["a"], {"test_accuracy": 0.61}, activate=False)
    copy = install(model_files["a"], tmp_path / "elsewhere.onnx")
    again = registry.register_model(client, copy, {"job_id": "j1"})
    assert again["version"] == first["version"] and again["created_at"] == first["created_at"]
    assert again["path"] == str(copy.resolve())  # the newest file holding these bytes
    assert again["metrics"] == {"test_accuracy": 0.61, "job_id": "j1"}
    assert [r["version"] for r in registry.list_versions(client)] == [first["version"]]
    assert registry.active_version(client) == first["version"]


def test_the_shipped_version_is_served_until_another_is_active_and_can_be_activated_again(client, model_files):
    assert registry.served_version(client) is None
    shipped = registry.register_model(client, model_files["a"], {}, activate=False, shipped=True)
    assert registry.shipped_version(client) == shipped["version"]
    assert registry.active_version(client) is None  # registering the shipped file steals nothing
    assert registry.served_version(client) == shipped["version"]
    trained = registry.register_model(client, model_files["b"], {"test_accuracy": 0.7})
    assert registry.served_version(client) == trained["version"]
    # A classifier that starts again registers its file again: the trained model stays active.
    registry.register_model(client, model_files["a"], {}, activate=False, shipped=True)
    assert registry.active_version(client) == trained["version"]
    assert registry.activate(client, shipped["version"])["sha256"] == shipped["sha256"]
    assert registry.active_version(client) == registry.served_version(client) == shipped["version"]


@pytest.fixture
def classifier(redis_url):
    running = []

    def start(weights):
        settings = service_settings(redis_url, weights)
        running.append(ServiceThread(settings))
        return Ends(redis_url, settings.consumer_name)

    yield start
    for service in running:
        service.stop()


def test_a_classifier_registers_its_file_as_shipped_and_rolling_back_serves_it_again(classifier, client, model_files):
    trained = registry.register_model(client, model_files["b"], {"test_accuracy": 0.7})  # active before it starts
    ends = classifier(model_files["a"])
    ends.wait_heartbeat(lambda hb: hb["model"]["version"] == trained["version"])
    sha = hashlib.sha256(model_files["a"].read_bytes()).hexdigest()
    shipped = registry.find_by_sha256(client, sha)
    assert shipped is not None and registry.shipped_version(client) == shipped["version"]
    assert shipped["card"]["version"] == "test-a" and shipped["path"] == str(model_files["a"].resolve())
    assert registry.active_version(client) == trained["version"], "the shipped file must not take over"

    registry.activate(client, shipped["version"])  # what the page's "Roll back to this" does
    hb = ends.wait_heartbeat(lambda hb: hb["model"]["sha256"] == sha)
    assert hb["model"]["version"] == shipped["version"] and hb["last_error"] is None
    ends.send((1, real_faces(1)))
    (result,) = ends.results(1)
    assert result.models.emotion.sha256 == sha and result.faces[0].emotion is not None
    assert len(registry.list_versions(client)) == 2, "registered once, however often it polls"


def test_a_configured_file_that_breaks_the_contract_is_not_registered(classifier, client, tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx model")
    ends = classifier(broken)
    hb = ends.wait_heartbeat(lambda hb: hb["last_error"])
    assert "not a loadable ONNX model" in hb["last_error"]
    assert registry.list_versions(client) == [] and registry.shipped_version(client) is None


# -- the model bytes in Redis ----------------------------------------------------------------
def set_calls(client) -> int:
    return client.info("commandstats").get("cmdstat_set", {}).get("calls", 0)


def test_register_stores_the_bytes_once_per_content(client, model_files, tmp_path):
    record = registry.register_model(client, model_files["a"], {}, activate=False)
    assert client.get(streams.model_bytes_key(record["sha256"])) == model_files["a"].read_bytes()
    before = set_calls(client)
    again = registry.register_model(client, install(model_files["a"], tmp_path / "copy.onnx"), {}, activate=False)
    assert again["version"] == record["version"]
    assert set_calls(client) == before, "bytes already in Redis are not sent again"
    assert registry.model_bytes(client, again) == model_files["a"].read_bytes()


def test_the_bytes_of_the_newest_the_active_and_the_shipped_versions_are_kept(client, tmp_path):
    def model(n: int):
        path = tmp_path / f"m{n}" / "emotion-net.onnx"  # registering does not parse the file
        path.parent.mkdir()
        path.write_bytes(b"model %d" % n)
        return path

    shipped = registry.register_model(client, model(0), {}, activate=False, shipped=True)
    active = registry.register_model(client, model(1), {})
    newer = [registry.register_model(client, model(n), {}, activate=False)
             for n in range(2, registry.KEEP_BYTES + 4)]
    stored = {r["version"] for r in registry.list_versions(client)
              if client.exists(streams.model_bytes_key(r["sha256"]))}
    assert stored == {shipped["version"], active["version"]} | {r["version"] for r in newer[-registry.KEEP_BYTES:]}
    assert len(registry.list_versions(client)) == registry.KEEP_BYTES + 4, "records stay; only bytes go"
    with pytest.raises(registry.ModelBytesGone, match="no longer in Redis"):
        registry.model_bytes(client, newer[0])


def test_a_classifier_without_the_files_serves_versions_from_redis_and_refuses_missing_or_corrupted_bytes(
        classifier, client, model_files, tmp_path):
    def register_elsewhere(name: str, node: str) -> dict:
        """Registered on another node: its file is not on this one."""
        record = registry.register_model(client, install(model_files[name], tmp_path / node / "emotion-net.onnx"), {},
                                         activate=False)
        shutil.rmtree(tmp_path / node)
        return record

    def serving(ends, record) -> dict:
        hb = ends.wait_heartbeat(lambda hb: hb["model"]["sha256"] == record["sha256"])
        ends.send((next(frame_ids), real_faces(1)))
        (result,) = ends.results(1)
        assert result.models.emotion.sha256 == record["sha256"] and result.faces[0].emotion is not None
        return hb

    frame_ids = iter(range(1, 100))
    b = register_elsewhere("b", "node-a")
    ends = classifier(tmp_path / "empty-models" / "emotion-net.onnx")  # this node has no model file at all
    assert ends.wait_heartbeat(lambda hb: True)["model"]["ready"] is False
    registry.activate(client, b["version"])
    hb = serving(ends, b)
    assert hb["model"]["version"] == b["version"] and hb["model"]["source"] == "registry"
    assert hb["model"]["path"] == streams.model_bytes_key(b["sha256"])
    assert hb["model"]["accuracy"] == 0.7, "the card came with the record"

    a = register_elsewhere("a", "node-c")
    client.delete(streams.model_bytes_key(a["sha256"]))  # as if dropped beyond KEEP_BYTES
    registry.activate(client, a["version"])
    hb = ends.wait_heartbeat(lambda hb: hb["last_error"])
    assert "no longer in Redis" in hb["last_error"] and "not on this node" in hb["last_error"], hb["last_error"]
    serving(ends, b)  # the previous model stays

    a = register_elsewhere("a", "node-d")  # registered again: the bytes are back
    hb = serving(ends, a)
    assert hb["last_error"] is None

    key = streams.model_bytes_key(b["sha256"])
    data = bytearray(client.get(key))
    data[len(data) // 2] ^= 0xFF  # one flipped byte: still loadable ONNX, but not what was registered
    client.set(key, bytes(data))
    registry.activate(client, b["version"])
    hb = ends.wait_heartbeat(lambda hb: hb["last_error"])
    assert "corrupted" in hb["last_error"] and b["sha256"][:12] in hb["last_error"], hb["last_error"]
    serving(ends, a)
