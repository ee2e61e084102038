"""Fixtures shared by every test: a private redis-server on a free port, real face images."""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis

from sentivis.runner import free_port  # noqa: F401  (re-exported for callers)

REPO = Path(__file__).resolve().parent.parent
FER_CSV = REPO.parent / "shared" / "data" / "fer2013" / "fer2013.csv.gz"


class RedisServer:
    def __init__(self, tmp: Path):
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One private redis-server for the whole session; tests use flush_redis to start clean."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    redis_server.client().flushall()
    return redis_server.url
