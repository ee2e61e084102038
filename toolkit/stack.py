"""A stack of Sentivis processes on this machine: a private redis-server and the services, no Docker.

The one launcher for everything that runs the product as processes: `sentivis up` (toolkit/up.py:
every log line prefixed on the terminal, a process that dies restarted with backoff, Ctrl-C or
SIGTERM stops everything), the tests, the benchmarks and the fault tools (`python -m reliability
chaos|soak`). What differs between them is a parameter of `Stack`: how many replicas, the
training worker, a private Redis, a given one or given sentinels (toolkit.sentinel), where the logs
go, whether it supervises.
"""
from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from toolkit.processes import (
    QUICK_RESTART_S,
    RESTART_BACKOFF,
    STABLE_AFTER_S,
    Process,
    free_port,
    get_json,
    redis_server,
    say,
    wait_redis,
)


class Stack:
    """Redis (private unless redis_url is given), the gateway, detectors, classifiers, optionally
    recorders (recorded sessions), the training worker and extra processes (name -> `python -m`
    arguments).

    log_dir: one log file per process there; None: every line on the terminal, prefixed.
    supervise(): restart what died, with backoff (what `sentivis up` and the fault tools want);
    without it a process that dies is an error the waits report.
    """

    def __init__(self, detectors: int = 1, classifiers: int = 1, trainer_worker: bool = False, gateway: bool = True,
                 redis: bool = True, redis_url: str | None = None, gateway_port: int | None = None,
                 env: dict[str, str] | None = None, log_dir: Path | None = None, cwd: Path | None = None,
                 extra: dict[str, list[str]] | None = None, name: str | None = None, recorders: int = 0):
        self.detectors, self.classifiers = detectors, classifiers
        self.port = gateway_port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redis_url = redis_url
        self.log_dir = Path(log_dir) if log_dir else None
        self.cwd = cwd
        self.name = name or f"sentivis-d{detectors}-c{classifiers}"
        self.processes: dict[str, Process] = {}
        self.stopping = threading.Event()
        self._restarted = threading.Condition()
        self._supervisor: threading.Thread | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="sentivis-")
        self._private_redis = redis and redis_url is None
        self.env = {**(env or {}), "SENTIVIS_GATEWAY_PORT": str(self.port)}
        python = [sys.executable, "-m"]
        plan = {"gateway": [*python, "gateway"]} if gateway else {}
        plan |= {f"detector-{i}": [*python, "detector"] for i in range(1, detectors + 1)}
        plan |= {f"classifier-{i}": [*python, "classifier"] for i in range(1, classifiers + 1)}
        plan |= {f"recorder-{i}": [*python, "recorder"] for i in range(1, recorders + 1)}
        if trainer_worker:
            plan["trainer"] = [*python, "trainer", "worker"]
        plan |= {n: [*python, *args] for n, args in (extra or {}).items()}
        self._plan = plan

    def _log_path(self, name: str) -> Path | None:
        return self.log_dir / f"{name}.log" if self.log_dir else None

    # -- start and stop ----------------------------------------------------------------
    def start(self) -> "Stack":
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            if self._private_redis:
                port = free_port()
                self.redis_url = f"redis://127.0.0.1:{port}/0"
                redis = redis_server(port, Path(self._tmp.name), self._log_path("redis"))
                self.processes["redis"] = redis.start()
                wait_redis(self.redis_url, process=redis)
            if self.redis_url:
                self.env["SENTIVIS_REDIS_URL"] = self.redis_url
            for name, argv in self._plan.items():
                self.run(name, argv)
        except BaseException:
            self.stop()  # a stack that failed to start leaves no process behind
            raise
        return self

    def start_ready(self, timeout: float = 90.0, supervise: bool = False) -> "Stack":
        """start() (and supervise in the background), then wait_ready(timeout); a stack that does
        not get ready is stopped, so no process is left behind."""
        self.start()
        try:
            if supervise:
                self.supervise_in_background()
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def run(self, name: str, argv: list[str] | str, env: dict[str, str] | None = None) -> Process:
        """Start one more process in the stack's environment: an argv, or a module for `python -m`;
        `env`: settings of this process that differ from the stack's (a second gateway's port)."""
        if isinstance(argv, str):
            argv = [sys.executable, "-m", argv]
        process = self.processes[name] = Process(name, argv, {**self.env, **(env or {})}, self._log_path(name),
                                                 self.cwd)
        return process.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(5)
        for process in reversed(list(self.processes.values())):
            process.stop()
        self._tmp.cleanup()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- supervision -------------------------------------------------------------------
    def supervise(self) -> None:
        """Until stop(): restart a process that died; one that keeps dying waits longer each time."""
        while not self.stopping.wait(0.2):
            now = time.monotonic()
            for p in list(self.processes.values()):
                if p.alive() or self.stopping.is_set():
                    continue
                if p.restart_at is None:
                    p.restarts = 0 if now - p.started_at > STABLE_AFTER_S else p.restarts + 1
                    delay = RESTART_BACKOFF.compute(p.restarts) if p.restarts else QUICK_RESTART_S
                    self._say(f"{p.name} exited with code {p.proc.returncode}; restarting in {delay:.1f} s")
                    p.restart_at = now + delay
                elif now >= p.restart_at:
                    p.start()
                    with self._restarted:
                        self._restarted.notify_all()

    def supervise_in_background(self) -> "Stack":
        self._supervisor = threading.Thread(target=self.supervise, name="supervisor", daemon=True)
        self._supervisor.start()
        return self

    def _say(self, line: str) -> None:
        if self.log_dir is None:
            say("sentivis", line)
        else:
            with open(self.log_dir / "supervisor.log", "a") as log:
                log.write(f"{time.strftime('%H:%M:%S')} {line}\n")

    # -- state ---------------------------------------------------------------------------
    def pids(self) -> dict[str, int]:
        """The pid of every live process."""
        return {name: p.pid for name, p in self.processes.items() if p.alive()}

    def starts(self, name: str) -> int:
        return len(self.processes[name].pids)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Signal one process and its children."""
        process = self.processes[name]
        pid = process.pid
        process.kill(sig, wait=self._supervisor is None)
        return pid

    def wait_restarted(self, name: str, starts: int, timeout: float) -> bool:
        """Until `name` has been started `starts` times in all (by the supervisor)."""
        deadline = time.monotonic() + timeout
        with self._restarted:
            while self.starts(name) < starts:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._restarted.wait(left)
        return True

    def check_alive(self) -> None:
        """Raise, with their logs, if any process died (in a stack nobody supervises)."""
        dead = [p for p in self.processes.values() if not p.alive()]
        if dead and self._supervisor is None:
            raise RuntimeError("; ".join(f"{p.name} exited ({p.proc.returncode}):\n{p.tail()}" for p in dead))

    def logs(self, chars: int = 3000) -> str:
        return "\n".join(f"--- {p.name}\n{p.tail(chars)}" for p in self.processes.values())

    def wait_until(self, check: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if check():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{what} not within {timeout} s:\n{self.logs()}")

    def readiness(self) -> dict:
        """The gateway's /readyz body."""
        token = self.env.get("SENTIVIS_AUTH_TOKEN") or os.environ.get("SENTIVIS_AUTH_TOKEN")
        try:
            return get_json(self.url + "/readyz", timeout=2, token=token)[1] or {}
        except OSError as exc:
            return {"ready": False, "error": str(exc)}

    def wait_ready(self, timeout: float = 90.0, detectors: int | None = None, classifiers: int | None = None) -> None:
        """Until the gateway's /readyz is 200 and counts the replicas (heartbeats) asked for."""
        detectors = self.detectors if detectors is None else detectors
        classifiers = self.classifiers if classifiers is None else classifiers

        def ready() -> bool:
            status = self.readiness()
            return (status.get("ready", False) and status.get("detectors", 0) >= detectors
                    and status.get("classifiers", 0) >= classifiers)

        self.wait_until(ready, f"{self.name} ready", timeout)
