"""The Swarm tests need a Docker engine, root and minutes: they run only through `make test-swarm`.

Session fixtures, each removed in a finalizer, also after a failure: the network namespace and
its veth pair, this engine's swarm (left only if made here), the worker engine in the namespace
(drained until a test needs it), and the application stack from docker-stack.yml.
"""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

from sentivis.settings import REPO_ROOT
from tests.support.waiting import wait_for
from tests.swarm.app import APP_REPLICAS, HTTP_PORT, TOKEN, App, attach_probe, get
from tests.swarm.harness import Docker, Netns, Stack, Swarm, Worker, WorkerDaemon


def pytest_collection_modifyitems(config, items):
    if os.environ.get("SENTIVIS_SWARM_TEST") == "1":
        return
    skip = pytest.mark.skip(reason="docker swarm test: run `make test-swarm`")
    for item in items:
        if "tests/swarm/" in item.nodeid:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def docker() -> Docker:
    if os.geteuid() != 0:
        pytest.fail("the swarm tests make a network namespace and a second dockerd: run them as root")
    engine = Docker()
    if not engine.ok("info"):
        pytest.fail("no Docker engine answers: start one (../shared/tools/standin-images, as root)")
    return engine


@pytest.fixture(scope="session")
def netns():
    namespace = Netns()
    try:
        yield namespace.create()
    finally:
        namespace.remove()


@pytest.fixture(scope="session")
def swarm(docker, netns):
    manager = Swarm(docker, netns)
    try:
        yield manager.ensure()
    finally:
        manager.leave()


@pytest.fixture(scope="session")
def worker(docker, swarm, netns):
    """A second node: dockerd in the namespace, joined as a worker, redis:7 loaded, drained."""
    if not swarm.can_join_workers:
        pytest.skip(f"this engine was in a swarm already, advertised on {swarm.address}: the worker in the "
                    f"namespace reaches only {netns.HOST_IP} (docker swarm leave, then rerun)")
    # a short path: dockerd's and containerd's unix sockets live below it
    daemon = WorkerDaemon(netns, Path(tempfile.mkdtemp(prefix="sentivis-worker-", dir="/var/tmp")))
    node_id = ""
    try:
        daemon.start()
        daemon.load_images(["redis:7"])
        node_id = daemon.join(swarm.worker_token(), netns.HOST_IP)
        wait_for(lambda: swarm.node(node_id)["Status"]["State"] == "ready", "the worker node ready", 60, interval=1)
        # parked: the single-node tests place nothing there until a test makes it active
        docker("node", "update", "--availability", "drain", node_id)
        yield Worker(daemon, node_id)
    except Exception:
        print(f"worker dockerd log:\n{daemon.log()}")
        raise
    finally:
        daemon.cleanup()
        if node_id:
            docker("node", "rm", "--force", node_id, check=False)


@pytest.fixture(scope="session")
def app(docker, swarm):
    """docker-stack.yml deployed as a stack of its own, healthy and ready behind nginx."""
    env = {"SENTIVIS_AUTH_TOKEN": TOKEN, "SENTIVIS_HTTP_PORT": str(HTTP_PORT)}
    if os.environ.get("SENTIVIS_IMAGE_TAG"):
        env["SENTIVIS_IMAGE_TAG"] = os.environ["SENTIVIS_IMAGE_TAG"]
    stack = Stack(docker, f"svapp{uuid.uuid4().hex[:6]}", REPO_ROOT / "docker-stack.yml", env)
    probe = ""
    try:
        stack.deploy()
        stack.wait_healthy(APP_REPLICAS, timeout=600)
        # Ready as nginx sees it: several answers in a row, so both gateways (round robin) say so.
        ready = []
        wait_for(lambda: ready.append(get("/readyz", TOKEN)[0] == 200) or ready[-6:] == [True] * 6,
                 "/readyz through nginx", 120, interval=0.2)
        probe = attach_probe(docker, stack)
        yield App(stack, probe)
    finally:
        try:
            artifacts = REPO_ROOT / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            (artifacts / f"{stack.name}.log").write_text(stack.logs())
        finally:  # the logs are a courtesy; removing what the test made is not
            if probe:
                docker("rm", "-f", probe, check=False)
            stack.remove()
