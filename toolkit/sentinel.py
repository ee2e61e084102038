"""docker-stack.yml's Redis as processes: a master, a replica and three sentinels (the tests' and
the fault tools' failover; toolkit.stack.Stack points the services at them)."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from toolkit.processes import Process, free_port, redis_server, wait_redis


class SentinelRedis:
    """docker-stack.yml's Redis as processes: a master, a replica and three sentinels (quorum 2)
    on free loopback ports, persisting nothing. `env` points services at the sentinels, through
    which they follow a failover; kill("redis-1") loses the first master.

    data_dir: the sentinels' config files (they rewrite them) and the nodes' working folders;
    log_dir: one log file per process (None: discarded); down_after_ms, failover_timeout_ms: the
    sentinels' timers (the stack's are 5 s and 30 s; tests use short ones).
    """

    NODES = ("redis-1", "redis-2")

    def __init__(self, data_dir: Path, log_dir: Path | None = None, master_name: str = "sentivis",
                 down_after_ms: int = 1000, failover_timeout_ms: int = 5000):
        self.data_dir, self.log_dir, self.master_name = Path(data_dir), log_dir, master_name
        self.down_after_ms, self.failover_timeout_ms = down_after_ms, failover_timeout_ms
        self.ports = {name: free_port() for name in (*self.NODES, "sentinel-1", "sentinel-2", "sentinel-3")}
        self.processes: dict[str, Process] = {}

    @property
    def sentinels(self) -> list[str]:
        return [name for name in self.ports if name.startswith("sentinel-")]

    @property
    def env(self) -> dict[str, str]:
        """The settings that make a service connect through these sentinels."""
        return {"SENTIVIS_REDIS_SENTINELS": ",".join(f"127.0.0.1:{self.ports[s]}" for s in self.sentinels),
                "SENTIVIS_REDIS_MASTER_NAME": self.master_name}

    def _log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log" if self.log_dir else Path(os.devnull)

    def start(self, timeout: float = 30.0) -> "SentinelRedis":
        """Start every process and wait until each sentinel sees the master, its replica and the
        two other sentinels (only then can they agree on a failover)."""
        master_port = self.ports["redis-1"]
        # diskless, immediate full syncs: nothing on disk, and a replica in step within a second
        sync = ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]
        try:
            for name in self.NODES:
                folder = self.data_dir / name
                folder.mkdir(parents=True, exist_ok=True)
                args = sync + (["--replicaof", "127.0.0.1", str(master_port)] if name != "redis-1" else [])
                process = self.processes[name] = redis_server(self.ports[name], folder, self._log(name), args, name)
                process.start()
                wait_redis(f"redis://127.0.0.1:{self.ports[name]}/0", process=process)
            for name in self.sentinels:
                conf = self.data_dir / f"{name}.conf"
                conf.write_text(
                    f"port {self.ports[name]}\nbind 127.0.0.1\ndir {self.data_dir}\n"
                    f"sentinel monitor {self.master_name} 127.0.0.1 {master_port} 2\n"
                    f"sentinel down-after-milliseconds {self.master_name} {self.down_after_ms}\n"
                    f"sentinel failover-timeout {self.master_name} {self.failover_timeout_ms}\n"
                    f"sentinel parallel-syncs {self.master_name} 1\n")
                process = self.processes[name] = Process(name, [shutil.which("redis-server"), str(conf), "--sentinel"],
                                                         log_path=self._log(name))
                process.start()
            self._wait_discovered(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _sentinel(self, name: str):
        from sentivis import redis_io

        return redis_io.connect(f"redis://127.0.0.1:{self.ports[name]}", timeout=1, retries=0)

    def _wait_discovered(self, timeout: float) -> None:
        import redis

        deadline = time.monotonic() + timeout
        views: list = []
        while time.monotonic() < deadline:
            try:
                views = []
                for name in self.sentinels:
                    with self._sentinel(name) as sentinel:
                        views.append(sentinel.sentinel_master(self.master_name))
                if all(v["num-slaves"] >= 1 and v["num-other-sentinels"] == 2 for v in views):
                    return
            except redis.RedisError as exc:
                views = [str(exc)]
            time.sleep(0.1)
        raise RuntimeError(f"the sentinels did not discover each other and the replica within {timeout} s: {views}")

    def master(self) -> str | None:
        """The node the first answering sentinel names as master, or None when none answers."""
        import redis

        for name in self.sentinels:
            try:
                with self._sentinel(name) as sentinel:
                    _, port = sentinel.sentinel_get_master_addr_by_name(self.master_name)
            except (redis.RedisError, TypeError):
                continue
            return next((n for n in self.NODES if self.ports[n] == int(port)), None)
        return None

    def kill(self, name: str) -> None:
        """kill -9 one process, as the loss of its host."""
        self.processes[name].kill()

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()
