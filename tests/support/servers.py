"""A private redis-server on a free port, stopped by whoever started it."""
from __future__ import annotations

import os
from pathlib import Path

import redis

from toolkit import processes


class RedisServer:
    def __init__(self, tmp: Path):
        self.port = processes.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = processes.redis_server(self.port, tmp, log_path=Path(os.devnull)).start()
        processes.wait_redis(self.url, process=self.process)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        self.process.stop()
