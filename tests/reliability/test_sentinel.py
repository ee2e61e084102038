"""Redis that survives losing its master: a master, a replica and three sentinels as processes
(toolkit.stack.SentinelRedis, short sentinel timers), and the stack's services, the Celery
training worker included, connected through the sentinels. kill -9 of the master while a client
streams real face frames: the sentinels promote the replica, every service follows it without a
restart and results resume; every frame sent is answered (an inference, or a frame_error for a
frame lost with the master), none hangs past the frame timeout. Prints the seconds to recovery
and what was lost. Also the settings' sentinel parsing and the Celery connection they give."""
from __future__ import annotations

import time

import pytest

from sentivis import jobs, redis_io, registry
from sentivis.settings import Settings, SettingsError, settings_from_env
from tests.support.fer import TINY_WIDTHS, write_fer_csv
from tests.support.frames import wait_inferences
from tests.support.stack import stack_env
from toolkit.client import FrameClient
from toolkit.samples import astronaut_frame
from toolkit.sentinel import SentinelRedis
from toolkit.stack import Stack

RATE = 5  # frames per second
FRAME_TIMEOUT_MS = 5000
# what a frame sent around the loss may get: lost with the master (timeout), refused while no
# master answers (unavailable), dropped by the in-flight cap while two lost ones wait, or by the
# rate limit when frames queued behind a blocked submit arrive together
AFTER_LOSS = {"inference", "timeout", "unavailable", "too_many_in_flight", "expired", "rate_limited"}


def test_sentinel_settings_are_host_port_pairs_and_the_url_keeps_only_credentials():
    settings = settings_from_env({"SENTIVIS_REDIS_SENTINELS": "s1:26379, 10.0.0.2:26380",
                                  "SENTIVIS_REDIS_URL": "redis://app:p%40ss@ignored:1/3"})
    assert redis_io.sentinel_addresses(settings) == [("s1", 26379), ("10.0.0.2", 26380)]
    assert settings.redis_master_name == "sentivis"
    assert redis_io.master_credentials(settings.redis_url) == {"username": "app", "password": "p@ss", "db": 3}
    celery = redis_io.celery_connection(settings)
    assert celery["broker_url"] == celery["result_backend"] == \
        "sentinel://app:p%40ss@s1:26379/3;sentinel://app:p%40ss@10.0.0.2:26380/3"
    assert celery["broker_transport_options"]["master_name"] == "sentivis"
    assert redis_io.celery_connection(Settings()) == {"broker_url": Settings().redis_url,
                                                      "result_backend": Settings().redis_url}
    with pytest.raises(SettingsError, match="'s1' is not host:port"):
        redis_io.connect(Settings(redis_sentinels=("s1",)))


@pytest.fixture(scope="module")
def sentinels(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sentinels")
    topology = SentinelRedis(folder, log_dir=folder).start()
    yield topology
    topology.stop()


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("trainer")
    (root / "datasets").mkdir()
    return root / "datasets", root / "models"


@pytest.fixture(scope="module")
def stack(sentinels, folders, tmp_path_factory):
    """Not supervised: a service that dies is an error, since each must follow the failover by itself."""
    env = stack_env(**sentinels.env, SENTIVIS_FRAME_TIMEOUT_MS=str(FRAME_TIMEOUT_MS), SENTIVIS_MAX_FRAME_AGE_MS="4000",
                    SENTIVIS_DATASETS_DIR=str(folders[0]), SENTIVIS_MODELS_DIR=str(folders[1]))
    s = Stack(detectors=1, classifiers=1, trainer_worker=True, redis=False, env=env,
              log_dir=tmp_path_factory.mktemp("stack"))
    yield s.start_ready(timeout=180)
    s.stop()


def run_job(settings: Settings, params: dict, timeout: float = 180) -> dict:
    """A training job through the Celery worker, enqueued and followed through the sentinels."""
    client = redis_io.connect(settings)
    job = jobs.create_job(client, params)
    jobs.submit_training(settings, job["id"], params)
    deadline = time.monotonic() + timeout
    while (done := jobs.get_job(client, job["id"]))["state"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, f"job {job['id']} not done in {timeout} s: {done}"
        time.sleep(0.2)
    return done


def test_losing_the_master_while_clients_stream_is_followed_by_every_service(sentinels, stack, folders, fer_rows):
    settings = settings_from_env(sentinels.env)
    # the training worker is connected through the sentinels: it takes and fails a job at once
    refused = run_job(settings, {"dataset": "../outside.csv", "epochs": 1, "widths": list(TINY_WIDTHS)})
    assert refused["state"] == "failed" and "outside the datasets folder" in refused["error"], refused
    pids = stack.pids()
    client = FrameClient(stack.url).start([astronaut_frame()[0]], RATE)
    try:
        assert client.wait_inference_after(time.monotonic(), timeout=60) is not None, stack.logs()
        wait_inferences(client, time.monotonic(), 2 * RATE, timeout=30)  # results flowing when the master goes
        assert sentinels.master() == "redis-1"
        killed_at = time.monotonic()
        sentinels.kill("redis-1")
        deadline = killed_at + 60
        while sentinels.master() != "redis-2":
            assert time.monotonic() < deadline, "the sentinels promoted no replica"
            time.sleep(0.05)
        failover_s = time.monotonic() - killed_at
        recovery_s = client.wait_inference_after(killed_at, timeout=60)
        assert recovery_s is not None, f"no results after the failover:\n{stack.logs()}"
        wait_inferences(client, killed_at + recovery_s, 2 * RATE, timeout=60)  # and results keep coming
    finally:
        client.stop()
    assert client.wait_answered(timeout=FRAME_TIMEOUT_MS / 1000 + 30), \
        f"unanswered frames {client.unanswered()[:10]}\n{stack.logs()}"
    client.close()
    stack.check_alive()
    assert stack.pids() == pids, "every service followed the failover by itself; none restarted"

    since = client.answered(since=killed_at)
    codes = client.codes(since=killed_at)
    assert set(codes) <= AFTER_LOSS, codes
    slowest = max(r.rtt_ms for r in since)
    assert slowest <= FRAME_TIMEOUT_MS + 5000, f"a frame waited {slowest:.0f} ms, past the frame timeout"
    lost = sum(n for code, n in codes.items() if code != "inference")
    print(f"\nRedis master lost (kill -9, local sentinels, down-after {sentinels.down_after_ms} ms): new master named "
          f"after {failover_s:.1f} s, results again after {recovery_s:.1f} s; {len(since)} frames sent since the "
          f"loss, {lost} of them answered with a frame_error ({dict(codes)}), none unanswered; slowest answer "
          f"{slowest:.0f} ms")

    stack.wait_ready(timeout=60)  # heartbeats on the new master
    # a job after the failover trains, registers its model's bytes on the new master, and the
    # classifier serves it
    write_fer_csv(folders[0] / "fer-small.csv.gz", fer_rows)
    done = run_job(settings, {"dataset": "fer-small.csv.gz", "epochs": 2, "batch_size": 32, "widths": list(TINY_WIDTHS),
                              "threads": 1})
    assert done["state"] == "succeeded", f"{done['error']}\n{stack.logs()}"
    db = redis_io.connect(settings)
    assert registry.model_bytes(db, registry.active_record(db))
    deadline = time.monotonic() + 60
    while stack.readiness().get("models", {}).get("emotion", {}).get("version") != done["model_version"]:
        assert time.monotonic() < deadline, (f"the classifier does not serve {done['model_version']}: "
                                             f"{stack.readiness()}")
        time.sleep(0.2)
