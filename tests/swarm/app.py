"""The application stack (docker-stack.yml) as the Swarm tests reach it: through nginx on the host
with the stack's token, and from a redis:7 probe container on its network."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

from tests.swarm.harness import Docker, Stack
from toolkit.client import FrameClient
from toolkit.processes import free_port

TOKEN = uuid.uuid4().hex
# A free port unless told: a user's own stack (or anything else) on 8080 must not fail the test.
HTTP_PORT = int(os.environ.get("SENTIVIS_HTTP_PORT") or free_port())
URL = f"http://127.0.0.1:{HTTP_PORT}"
APP_REPLICAS = {"redis-1": 1, "redis-2": 1, "sentinel-1": 1, "sentinel-2": 1, "sentinel-3": 1, "gateway": 2,
                "detector": 1, "classifier": 1, "postgres": 1, "recorder": 1, "trainer": 1, "frontend": 1}
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


def client(**kwargs) -> FrameClient:
    """A browser of the stack: WebSocket through nginx, with the token."""
    return FrameClient(URL, auth={"token": TOKEN}, **kwargs)
