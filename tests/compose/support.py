"""The compose test's machinery: one `docker compose` project of docker-compose.yml, its containers'
health, and people on addresses of their own on the stack's network (tests/compose/people.py).

SENTIVIS_COMPOSE picks the client ("docker compose" if it works, else "docker-compose");
SENTIVIS_HTTP_PORT the host port of nginx (a free port if unset).
"""
from __future__ import annotations

import ipaddress
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from sentivis import streams
from sentivis.settings import REPO_ROOT
from toolkit.processes import free_port

# A free port unless told: a user's own stack (or anything else) on 8080 must not fail the test.
HTTP_PORT = int(os.environ.get("SENTIVIS_HTTP_PORT") or free_port())
URL = f"http://127.0.0.1:{HTTP_PORT}"
BUILD_TIMEOUT_S = 1500
HEALTH_TIMEOUT_S = 180


def compose_command() -> list[str]:
    if os.environ.get("SENTIVIS_COMPOSE"):
        return shlex.split(os.environ["SENTIVIS_COMPOSE"])
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("neither `docker compose` nor `docker-compose` is installed")


class Compose:
    """One compose project: `docker compose -p NAME ...` with the stack's environment."""

    def __init__(self, project: str, env: dict[str, str]):
        self.base = [*compose_command(), "-p", project, "-f", str(REPO_ROOT / "docker-compose.yml")]
        self.env = {**os.environ, **env}

    def __call__(self, *args: str, timeout: float = 300, check: bool = True) -> str:
        result = subprocess.run([*self.base, *args], cwd=REPO_ROOT, env=self.env, capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                                 f"{result.stderr[-3000:]}")
        return result.stdout

    def binary(self, *args: str, stdin: bytes | None = None, timeout: float = 300) -> bytes:
        """A command whose output or input is bytes (a database dump), which must succeed."""
        result = subprocess.run([*self.base, *args], cwd=REPO_ROOT, env=self.env, input=stdin, capture_output=True,
                                timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr[-3000:]!r}")
        return result.stdout

    def containers(self, service: str) -> list[str]:
        return self("ps", "-q", service).split()

    def redis(self, *args: str) -> str:
        return self("exec", "-T", "redis", "redis-cli", *args, timeout=30)

    def heartbeats(self, service: str) -> dict[str, dict]:
        keys = self.redis("--scan", "--pattern", streams.heartbeat_key(service, "*")).split()
        beats = {}
        for key in keys:
            raw = self.redis("get", key).strip()
            if raw:
                beat = json.loads(raw)
                beats[beat["consumer"]] = beat
        return beats


def health(container: str) -> str:
    out = subprocess.run(["docker", "inspect", "--format", "{{.State.Status}} {{if .State.Health}}"
                          "{{.State.Health.Status}}{{end}}", container], capture_output=True, text=True)
    return out.stdout.strip() or out.stderr.strip()


def wait_healthy(stack: Compose, replicas: dict[str, int], timeout: float = HEALTH_TIMEOUT_S) -> None:
    """Every service has exactly its number of running, healthy containers."""
    deadline = time.monotonic() + timeout
    states = {}
    while time.monotonic() < deadline:
        states = {s: [health(c) for c in stack.containers(s)] for s in replicas}
        if all(len(v) == replicas[s] and all(x == "running healthy" for x in v) for s, v in states.items()):
            return
        time.sleep(2)
    raise AssertionError(f"not healthy within {timeout} s: {states}\n{stack('logs', '--tail', '40', check=False)}")


class People:
    """A network namespace on the stack's network with `count` addresses of its own: browsers on
    as many machines, as nginx sees them. Made with iproute2, removed in close() whatever happened."""

    def __init__(self, container: str, count: int):
        network = subprocess.run(["docker", "inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}"
                                  "{{$v.NetworkID}} {{$v.IPAddress}}{{end}}", container], check=True,
                                 capture_output=True, text=True).stdout.split()
        network_id, self.nginx = network[0], network[1]
        subnet = subprocess.run(["docker", "network", "inspect", "--format", "{{(index .IPAM.Config 0).Subnet}}",
                                 network_id], check=True, capture_output=True, text=True).stdout.strip()
        net = ipaddress.ip_network(subnet)
        # The top of the subnet: Docker hands out addresses from the bottom.
        self.addresses = [str(net.broadcast_address - 2 - i) for i in range(count)]
        tag = uuid.uuid4().hex[:6]
        self.ns, outside, inside = f"sv-people-{tag}", f"svp{tag}a", f"svp{tag}b"
        self.commands = [["ip", "netns", "add", self.ns],
                         ["ip", "link", "add", outside, "type", "veth", "peer", "name", inside],
                         ["ip", "link", "set", inside, "netns", self.ns],
                         ["ip", "link", "set", outside, "master", f"br-{network_id[:12]}"],
                         ["ip", "link", "set", outside, "up"],
                         ["ip", "netns", "exec", self.ns, "ip", "link", "set", "lo", "up"],
                         *[["ip", "netns", "exec", self.ns, "ip", "addr", "add", f"{a}/{net.prefixlen}", "dev", inside]
                           for a in self.addresses],
                         ["ip", "netns", "exec", self.ns, "ip", "link", "set", inside, "up"]]

    def __enter__(self) -> "People":
        try:
            for command in self.commands:
                subprocess.run(command, check=True, capture_output=True, timeout=30)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        # Deleting the namespace deletes its end of the veth pair, and with it the other end.
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=30)

    def connect(self, frame: Path) -> dict:
        done = subprocess.run(["ip", "netns", "exec", self.ns, sys.executable, str(REPO_ROOT / "tests" / "compose" /
                               "people.py"), self.nginx, "8080", str(frame), *self.addresses],
                              capture_output=True, text=True, timeout=180, cwd=REPO_ROOT)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)
