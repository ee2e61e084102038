"""Every Redis name is under one hash tag, so Sentivis's multi-key commands work on Redis Cluster:
checked on a real three-node cluster (redis-server --cluster-enabled, loopback only), where a
MULTI or MGET over keys of different slots fails with CROSSSLOT."""
from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from sentivis import jobs, redis_io, registry, streams
from toolkit.processes import free_port, redis_server, wait_redis

KEYS = [streams.FRAMES, streams.FACES, streams.results_stream("gw1"), streams.heartbeat_key("detector", "d-1"),
        streams.MODEL_ACTIVE, streams.MODEL_VERSIONS, streams.MODEL_SHIPPED, streams.model_bytes_key("ab" * 32),
        streams.TRAINING_JOBS, jobs.job_key("0" * 32)]


def test_every_name_is_in_the_slot_of_the_one_hash_tag():
    assert all(key.startswith(streams.TAG + ":") for key in KEYS), KEYS
    assert {key_slot(key.encode()) for key in KEYS} == {key_slot(streams.TAG.encode())}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    ports = [free_port() for _ in range(3)]
    nodes = []
    try:
        for port in ports:
            folder = tmp_path_factory.mktemp(f"node{port}")
            nodes.append(redis_server(port, folder, folder / "log", name=f"cluster-{port}",
                                      args=["--cluster-enabled", "yes", "--cluster-port", str(free_port()),
                                            "--cluster-config-file", str(folder / "nodes.conf")]).start())
        for port, node in zip(ports, nodes, strict=True):
            wait_redis(f"redis://127.0.0.1:{port}", process=node)
        subprocess.run([shutil.which("redis-cli"), "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
                        "--cluster-replicas", "0", "--cluster-yes"], check=True, capture_output=True, timeout=60)
        deadline = time.monotonic() + 30
        probe = redis_io.connect(f"redis://127.0.0.1:{ports[0]}", timeout=5)
        while probe.cluster("info").get("cluster_state") != "ok":
            assert time.monotonic() < deadline, "the cluster did not come up"
            time.sleep(0.1)
        client = RedisCluster(host="127.0.0.1", port=ports[0])
        yield client
        client.close()
    finally:
        for node in nodes:
            node.stop()


def transactions(cluster) -> int:
    """MULTI/EXEC blocks the nodes ran."""
    stats = cluster.info("commandstats", target_nodes=RedisCluster.ALL_NODES)
    return sum(node.get("cmdstat_exec", {}).get("calls", 0) for node in stats.values())


def test_the_multi_key_commands_work_on_a_cluster(cluster, model_files):
    with pytest.raises(redis.RedisClusterException):  # what a name without the tag would meet
        cluster.mget("sentivis:models:emotion:active", "sentivis:models:emotion:shipped")
    before = transactions(cluster)
    # the registry's MULTI (record, bytes, pointers), then MGET of the pointers
    shipped = registry.register_model(cluster, model_files["a"], {}, activate=False, shipped=True)
    trained = registry.register_model(cluster, model_files["b"], {"test_accuracy": 0.7})
    assert registry.served_version(cluster) == trained["version"]
    assert registry.model_bytes(cluster, shipped) == model_files["a"].read_bytes()
    assert registry.activate(cluster, shipped["version"])["sha256"] == shipped["sha256"]
    # the job store's MULTI (job and index) and MGET of the newest jobs
    job = jobs.create_job(cluster, {"dataset": "fer2013.csv.gz", "epochs": 1})
    assert [j["id"] for j in jobs.list_jobs(cluster)] == [job["id"]]
    assert transactions(cluster) == before + 3, "two registrations and a job, each one MULTI/EXEC on its node"
    # heartbeats: a SCAN over every node for the pattern with the tag, then MGET
    for consumer in ("d-1", "d-2"):
        redis_io.heartbeat(cluster, "detector", consumer, {"consumer": consumer}, ttl_s=30)
    assert sorted(b["consumer"] for b in redis_io.live_services(cluster, "detector")) == ["d-1", "d-2"]
