"""The stack's Redis as docker-stack.yml defines it (master, replica, three sentinels, the start
scripts of deploy/redis), deployed alone: the sentinels agree on the master, losing the master
promotes the replica without losing what was written, and the old master comes back as a
replica of the new one. Needs only the redis:7 image."""
from __future__ import annotations

import time
import uuid

import pytest
import yaml

from sentivis.settings import REPO_ROOT
from tests.support.waiting import wait_for
from tests.swarm.app import attach_probe
from tests.swarm.harness import Stack

REDIS_SERVICES = ["redis-1", "redis-2", "sentinel-1", "sentinel-2", "sentinel-3"]
SENTINELS = ["sentinel-1", "sentinel-2", "sentinel-3"]


def redis_only_stack(path):
    """docker-stack.yml with its Redis services, their configs, volumes and network only."""
    stack = yaml.safe_load((REPO_ROOT / "docker-stack.yml").read_text())
    services = {name: stack["services"][name] for name in REDIS_SERVICES}
    used = {c["source"] for s in services.values() for c in s.get("configs", [])}
    path.write_text(yaml.safe_dump({
        "version": stack["version"],
        "services": services,
        "networks": stack["networks"],
        "volumes": {v: stack["volumes"][v] for v in ("redis-1-data", "redis-2-data")},
        "configs": {c: {"file": str(REPO_ROOT / stack["configs"][c]["file"])} for c in used},
    }))
    return path


@pytest.fixture(scope="module")
def redis(docker, swarm, tmp_path_factory):
    stack = Stack(docker, f"svredis{uuid.uuid4().hex[:6]}",
                  redis_only_stack(tmp_path_factory.mktemp("redis") / "s.yml"),
                  {})
    probe = ""
    try:
        stack.deploy()
        stack.wait_healthy({s: 1 for s in REDIS_SERVICES}, timeout=240)
        probe = attach_probe(docker, stack)

        def cli(host: str, *args: str, port: int = 6379) -> list[str]:
            out = docker("exec", probe, "redis-cli", "-h", host, "-p", str(port), "--raw", *args, timeout=30,
                         check=False)
            return out.splitlines()

        yield stack, cli
    finally:
        if probe:
            docker("rm", "-f", probe, check=False)
        stack.remove()


def sentinel_view(cli, sentinel: str) -> dict[str, str]:
    flat = cli(sentinel, "sentinel", "master", "sentivis", port=26379)
    return dict(zip(flat[::2], flat[1::2], strict=True))


def replication(cli, host: str) -> dict[str, str]:
    lines = [line.strip() for line in cli(host, "info", "replication") if ":" in line]
    return dict(line.split(":", 1) for line in lines)


def masters(cli) -> set[str]:
    return {" ".join(cli(s, "sentinel", "get-master-addr-by-name", "sentivis", port=26379)) for s in SENTINELS}


def test_the_sentinels_agree_on_the_first_master_and_its_replica(redis):
    _, cli = redis
    wait_for(lambda: masters(cli) == {"redis-1 6379"}, "every sentinel names redis-1", 60, interval=1)

    def discovered():
        views = [sentinel_view(cli, s) for s in SENTINELS]
        return all(v.get("num-slaves") == "1" and v.get("num-other-sentinels") == "2" for v in views) and views

    views = wait_for(discovered, "each sentinel sees the replica and the two other sentinels", 90, interval=1)
    assert all(v["quorum"] == "2" and v["flags"] == "master" for v in views), views
    assert replication(cli, "redis-1")["role"] == "master"
    replica = wait_for(lambda: (r := replication(cli, "redis-2")).get("master_link_status") == "up" and r,
                       "redis-2 replicating", 60, interval=1)
    assert replica["role"] == "slave" and replica["master_host"] == "redis-1"
    assert cli("redis-1", "set", "before-failover", "kept") == ["OK"]
    wait_for(lambda: cli("redis-2", "get", "before-failover") == ["kept"], "the write on the replica", 30, interval=1)


def test_losing_the_master_promotes_the_replica_and_the_old_master_rejoins_as_its_replica(redis):
    stack, cli = redis
    assert cli("redis-1", "set", "written-last", "before-the-loss") == ["OK"]
    wait_for(lambda: cli("redis-2", "get", "written-last") == ["before-the-loss"], "replicated", 30, interval=1)
    lost = time.monotonic()
    stack.scale(**{"redis-1": 0})  # its node is gone: no task runs it
    wait_for(lambda: masters(cli) == {"redis-2 6379"}, "every sentinel names redis-2", 120, interval=0.5)
    wait_for(lambda: replication(cli, "redis-2").get("role") == "master", "redis-2 promoted", 30, interval=0.5)
    failover_s = time.monotonic() - lost
    # nothing acknowledged before the loss is lost, and the new master takes writes
    assert cli("redis-2", "get", "before-failover") == ["kept"]
    assert cli("redis-2", "get", "written-last") == ["before-the-loss"]
    assert cli("redis-2", "set", "after-failover", "new-master") == ["OK"]

    stack.scale(**{"redis-1": 1})
    stack.wait_healthy({"redis-1": 1}, timeout=120)
    rejoined = wait_for(lambda: (r := replication(cli, "redis-1")).get("master_link_status") == "up" and r,
                        "redis-1 replicating from redis-2", 90, interval=1)
    assert rejoined["role"] == "slave" and rejoined["master_host"] == "redis-2"
    assert cli("redis-1", "get", "after-failover") == ["new-master"]
    assert masters(cli) == {"redis-2 6379"}, "the returning node must not take the master role back"
    print(f"\nRedis failover: the sentinels named the new master {failover_s:.1f} s after the master was lost")
