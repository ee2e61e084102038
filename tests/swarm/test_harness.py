"""The two-node harness itself, with no application image: a redis:7 task placed on the worker
(a node label constraint) answers a task on the manager across the overlay network."""
from __future__ import annotations

import json
import uuid

import yaml

from tests.support.waiting import wait_for
from tests.swarm.harness import Stack


def test_a_task_on_the_manager_reaches_one_on_the_worker_across_the_overlay(docker, swarm, worker, tmp_path):
    label = f"sentivis.test={uuid.uuid4().hex[:6]}"
    stack_file = tmp_path / "stack.yml"
    stack_file.write_text(yaml.safe_dump({
        "version": "3.8",
        "services": {
            "echo": {"image": "redis:7", "networks": ["net"],
                     "deploy": {"endpoint_mode": "dnsrr",
                                "placement": {"constraints": [f"node.labels.{label.replace('=', ' == ')}"]}}},
            "probe": {"image": "redis:7", "command": ["sleep", "infinity"], "networks": ["net"],
                      "deploy": {"endpoint_mode": "dnsrr",
                                 "placement": {"constraints": [f"node.id == {swarm.node_id}"]}}},
        },
        "networks": {"net": {"driver": "overlay"}},
    }))
    docker("node", "update", "--availability", "active", "--label-add", label, worker.node_id)
    stack = Stack(docker, f"svharness{uuid.uuid4().hex[:6]}", stack_file, {})
    try:
        stack.deploy()
        wait_for(lambda: stack.running("echo") and stack.running("probe"), "echo and probe running", 180, interval=1)
        assert [t["node"] for t in stack.running("echo")] == [worker.node_id]
        assert [t["node"] for t in stack.running("probe")] == [swarm.node_id]
        (probe,) = stack.containers("probe")
        (echo,) = stack.containers("echo", worker.docker)
        assert not stack.containers("echo"), "the echo task must not run on the manager"

        def cli(*args: str) -> str:
            return docker("exec", probe, "redis-cli", "-h", "echo", "--raw", *args, timeout=30).strip()

        assert wait_for(lambda: docker.ok("exec", probe, "redis-cli", "-h", "echo", "ping"), "the echo task answers",
                        60, interval=1)
        value = uuid.uuid4().hex
        assert cli("set", "written-from-the-manager", value) == "OK"
        # the value is in the worker's container: the write crossed to the other node
        assert worker.docker("exec", echo, "redis-cli", "--raw", "get", "written-from-the-manager").strip() == value
        # and it came over the overlay: the server sees the probe's overlay address
        networks = json.loads(docker("inspect", probe))[0]["NetworkSettings"]["Networks"]
        overlay_ip = networks[f"{stack.name}_net"]["IPAddress"]
        assert f"addr={overlay_ip}:" in cli("client", "list")
    finally:
        stack.remove()
        docker("node", "update", "--availability", "drain", "--label-rm", label.split("=")[0], worker.node_id,
               check=False)
