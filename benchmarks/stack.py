"""Starts what a benchmark measures: a private redis-server and Sentivis services as processes.

Every process logs to a file in the run's log folder; `Stack.stop()` ends them all (SIGTERM,
then SIGKILL), so a benchmark leaves nothing running behind it.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from sentivis.runner import free_port  # noqa: F401  (re-exported for callers)

REPO = Path(__file__).resolve().parent.parent
# Where the services' code is run from: another checkout measures a before/after (--services-root).
SERVICES_ROOT = REPO


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout)

    def tail(self, chars: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def spawn(name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> Proc:
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        popen = subprocess.Popen(argv, cwd=SERVICES_ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
                                 stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
    return Proc(name, popen, log_path)


def start_redis(log_dir: Path) -> tuple[Proc, str]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is not on PATH (apt-get install redis-server)")
    port = free_port()
    proc = spawn("redis", [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                           "--dir", str(log_dir)], {}, log_dir)
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return proc, url
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.stop()
                raise RuntimeError("redis-server did not start:\n" + proc.tail())
            time.sleep(0.05)


def get_json(url: str, timeout: float = 2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@dataclass
class Stack:
    """The services under test; `url` is the Socket.IO endpoint clients connect to."""

    name: str
    url: str
    procs: list[Proc] = field(default_factory=list)
    redis_url: str | None = None

    def pids(self) -> dict[str, int]:
        return {p.name: p.pid for p in self.procs}

    def check_alive(self) -> None:
        dead = [p for p in self.procs if not p.alive()]
        if dead:
            raise RuntimeError("; ".join(f"{p.name} exited ({p.popen.returncode}):\n{p.tail()}" for p in dead))

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


def wait_until(check, what: str, timeout: float, stack: Stack) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} not within {timeout} s:\n" + "\n".join(f"--- {p.name}\n{p.tail()}" for p in stack.procs))


def start_sentivis(log_dir: Path, detectors: int = 1, classifiers: int = 1, env: dict[str, str] | None = None,
                   timeout: float = 90.0) -> Stack:
    """redis + gateway + detectors + classifiers, ready (heartbeats seen by the gateway's /readyz)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    redis_proc, redis_url = start_redis(log_dir)
    port = free_port()
    base = {"SENTIVIS_REDIS_URL": redis_url, "SENTIVIS_GATEWAY_PORT": str(port), **(env or {})}
    stack = Stack(f"sentivis-d{detectors}-c{classifiers}", f"http://127.0.0.1:{port}", [redis_proc], redis_url)
    try:
        python = sys.executable
        stack.procs.append(spawn("gateway", [python, "-m", "gateway"], base, log_dir))
        for i in range(1, detectors + 1):
            stack.procs.append(spawn(f"detector-{i}", [python, "-m", "detector"], base, log_dir))
        for i in range(1, classifiers + 1):
            stack.procs.append(spawn(f"classifier-{i}", [python, "-m", "classifier"], base, log_dir))

        def ready() -> bool:
            status, body = get_json(stack.url + "/readyz")
            return status == 200 and body["detectors"] >= detectors and body["classifiers"] >= classifiers

        wait_until(ready, "the stack ready", timeout, stack)
    except BaseException:
        stack.stop()
        raise
    return stack


def start_monolith(log_dir: Path, env: dict[str, str] | None = None, timeout: float = 60.0) -> Stack:
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    stack = Stack("monolith", f"http://127.0.0.1:{port}")
    stack.procs.append(spawn("monolith", [sys.executable, "-m", "benchmarks.monolith", "--port", str(port)],
                             {"PYTHONPATH": str(REPO), **(env or {})}, log_dir))
    try:
        wait_until(lambda: get_json(stack.url + "/healthz")[0] == 200, "the monolith up", timeout, stack)
    except BaseException:
        stack.stop()
        raise
    return stack
