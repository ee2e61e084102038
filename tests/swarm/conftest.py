"""The Swarm tests need a Docker engine, root and minutes: they run only through `make test-swarm`.

Session fixtures, each removed in a finalizer, also after a failure: the network namespace and
its veth pair, this engine's swarm (left only if made here), the worker engine in the namespace
(drained until a test needs it), and the application stack from docker-stack.yml.
"""
from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.swarm.harness import REPO, Docker, Netns, Stack, Swarm, WorkerDaemon, wait_until
from toolkit.processes import free_port

TOKEN = uuid.uuid4().hex
# A free port unless told: a user's own stack (or anything else) on 8080 must not fail the test.
HTTP_PORT = int(os.environ.get("SENTIVIS_HTTP_PORT") or free_port())
URL = f"http://127.0.0.1:{HTTP_PORT}"
APP_REPLICAS = {"redis-1": 1, "redis-2": 1, "sentinel-1": 1, "sentinel-2": 1, "sentinel-3": 1, "gateway": 2,
                "detector": 1, "classifier": 1, "postgres": 1, "recorder": 1, "trainer": 1, "frontend": 1}


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


@dataclass
class Worker:
    daemon: WorkerDaemon
    node_id: str

    @property
    def docker(self) -> Docker:
        return self.daemon.docker


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
        wait_until(lambda: swarm.node(node_id)["Status"]["State"] == "ready", 60, "the worker node ready")
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


SENTINELS = ("sentinel-1", "sentinel-2", "sentinel-3")


@dataclass
class App:
    stack: Stack
    probe: str  # a redis:7 container on the stack's network, for redis-cli

    def redis(self, *args: str, host: str | None = None, port: int = 6379, check: bool = True) -> str:
        """redis-cli against `host` (default: the master the sentinels name)."""
        return self.stack.docker("exec", self.probe, "redis-cli", "-h", host or self.master(), "-p", str(port), "--raw",
                                 *args, timeout=30, check=check)

    def masters(self) -> set[str]:
        """The master each sentinel names (a sentinel that does not answer names "")."""
        return {self.redis("sentinel", "get-master-addr-by-name", "sentivis", host=s, port=26379,
                           check=False).split("\n")[0] for s in SENTINELS}

    def master(self) -> str:
        named = self.masters() - {""}
        if len(named) != 1:
            raise AssertionError(f"the sentinels do not agree on one master: {named}")
        return named.pop()


def attach_probe(docker: Docker, stack: Stack) -> str:
    name = f"{stack.name}-probe"
    docker("run", "-d", "--rm", "--name", name, "--network", f"{stack.name}_sentivis", "redis:7", "sleep", "infinity")
    return name


def get(path: str, token: str | None = None, timeout: float = 10, body: dict | None = None) -> tuple[int, dict | str]:
    """GET (POST with a JSON `body`) through nginx; the status and the JSON (or text) body, errors included."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        headers["Content-Type"], data = "application/json", json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(URL + path, data, headers), timeout=timeout) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")


@pytest.fixture(scope="session")
def app(docker, swarm):
    """docker-stack.yml deployed as a stack of its own, healthy and ready behind nginx."""
    env = {"SENTIVIS_AUTH_TOKEN": TOKEN, "SENTIVIS_HTTP_PORT": str(HTTP_PORT)}
    if os.environ.get("SENTIVIS_IMAGE_TAG"):
        env["SENTIVIS_IMAGE_TAG"] = os.environ["SENTIVIS_IMAGE_TAG"]
    stack = Stack(docker, f"svapp{uuid.uuid4().hex[:6]}", REPO / "docker-stack.yml", env)
    probe = ""
    try:
        stack.deploy()
        stack.wait_healthy(APP_REPLICAS, timeout=600)
        # Ready as nginx sees it: several answers in a row, so both gateways (round robin) say so.
        ready = []
        wait_until(lambda: ready.append(get("/readyz", TOKEN)[0] == 200) or ready[-6:] == [True] * 6, 120,
                   "/readyz through nginx", interval=0.2)
        probe = attach_probe(docker, stack)
        yield App(stack, probe)
    finally:
        artifacts = REPO / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        (artifacts / f"{stack.name}.log").write_text(stack.logs())
        if probe:
            docker("rm", "-f", probe, check=False)
        stack.remove()
