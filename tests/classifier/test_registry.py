"""sentivis.registry against a real Redis: register, activate, list."""
from __future__ import annotations

import hashlib
import json
import time

import pytest
import redis

from sentivis import registry, streams


@pytest.fixture
def client(redis_url):
    return redis.Redis.from_url(redis_url)


def test_register_records_the_file_and_activates_it(client, model_files):
    assert registry.active_record(client) is None
    record = registry.register_model(client, model_files["a"], {"test_accuracy": 0.61})
    sha = hashlib.sha256(model_files["a"].read_bytes()).hexdigest()
    assert record["sha256"] == sha
    assert record["version"].endswith("-" + sha[:8])
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
