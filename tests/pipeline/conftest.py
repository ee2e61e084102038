"""A real stack per test module: gateway, detector(s) and classifier processes on a private Redis."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from sentivis import redis_io
from sentivis.settings import SHIPPED_MODEL
from tests.conftest import free_port
from tests.stack import Service, get_json, wait_http


def emotion_weights() -> str:
    """The shipped model (override with SENTIVIS_EMOTION_WEIGHTS to try another)."""
    path = os.environ.get("SENTIVIS_EMOTION_WEIGHTS") or str(SHIPPED_MODEL)
    assert Path(path).is_file(), f"the emotion model {path} is missing"
    return path


@dataclass
class Stack:
    url: str
    redis_url: str
    env: dict[str, str]
    log_dir: Path
    services: dict[str, Service] = field(default_factory=dict)

    def start(self, name: str, module: str, **env: str) -> Service:
        self.services[name] = Service(module, {**self.env, **env}, self.log_dir)
        return self.services[name]

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)

    def wait_ready(self, detectors: int = 1, classifiers: int = 1, timeout: float = 60) -> None:
        import time

        client = self.redis()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (len(redis_io.live_services(client, "detector")) >= detectors
                    and len(redis_io.live_services(client, "classifier")) >= classifiers):
                return
            time.sleep(0.2)
        raise TimeoutError("services not ready:\n" + self.logs())

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{s.log()[-3000:]}" for name, s in self.services.items())

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()


def start_stack(redis_url: str, log_dir: Path, detectors: int = 1, **env: str) -> Stack:
    port = free_port()
    base = {"SENTIVIS_REDIS_URL": redis_url, "SENTIVIS_GATEWAY_PORT": str(port),
            "SENTIVIS_EMOTION_WEIGHTS": emotion_weights(), "SENTIVIS_HEARTBEAT_S": "0.5",
            # Generous: the test machine is small and shared; the limits themselves are tested elsewhere.
            "SENTIVIS_MAX_FRAME_AGE_MS": "5000", "SENTIVIS_FRAME_TIMEOUT_MS": "10000", **env}
    stack = Stack(f"http://127.0.0.1:{port}", redis_url, base, log_dir)
    try:
        stack.start("gateway", "gateway")
        wait_http(stack.url + "/healthz", timeout=60)
        for i in range(detectors):
            stack.start(f"detector-{i + 1}", "detector")
        stack.start("classifier", "classifier")
        stack.wait_ready(detectors=detectors)
        status, body = get_json(stack.url + "/readyz")
        assert status == 200, body
    except BaseException:
        stack.stop()  # a stack that failed to start leaves no process behind
        raise
    return stack


@pytest.fixture
def stack(redis_url, tmp_path):
    s = start_stack(redis_url, tmp_path)
    yield s
    s.stop()
