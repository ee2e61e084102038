"""`python -m sentivis.runner`: the whole stack as local processes, no Docker.

Starts a private redis-server on a free port (unless SENTIVIS_REDIS_URL is set), the gateway,
the detector(s), the classifier(s) and the training worker; prefixes their logs; restarts a
process that dies; stops everything on Ctrl-C or SIGTERM; prints the URL when ready.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field

from sentivis.settings import get_settings

REDIS_MISSING = """redis-server was not found on PATH. Install it, or point Sentivis at a running Redis:
  Debian/Ubuntu:  sudo apt-get install redis-server
  Fedora:         sudo dnf install redis
  macOS:          brew install redis
  or:             SENTIVIS_REDIS_URL=redis://host:6379/0 make up"""

_print_lock = threading.Lock()


def say(name: str, line: str) -> None:
    with _print_lock:
        sys.stdout.write(f"[{name:<12}] {line}\n")
        sys.stdout.flush()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host if host not in ("0.0.0.0", "") else "127.0.0.1", port)) == 0


@dataclass
class Supervised:
    name: str
    argv: list[str]
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    restart_at: float | None = None
    pumps: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.started_at = time.monotonic()
        self.restart_at = None
        pump = threading.Thread(target=self._pump, args=(self.proc,), daemon=True)
        pump.start()
        self.pumps = [pump]
        say(self.name, f"started (pid {self.proc.pid})")

    def _pump(self, proc: subprocess.Popen) -> None:
        for raw in iter(proc.stdout.readline, b""):
            say(self.name, raw.decode(errors="replace").rstrip())

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Runner:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.settings = get_settings()
        self.processes: list[Supervised] = []
        self.stopping = threading.Event()
        self.tmp = tempfile.TemporaryDirectory(prefix="sentivis-")

    def plan(self) -> None:
        env = dict(os.environ)
        python = sys.executable
        if not os.environ.get("SENTIVIS_REDIS_URL"):
            redis_server = shutil.which("redis-server")
            if redis_server is None:
                raise SystemExit(REDIS_MISSING)
            port = free_port()
            env["SENTIVIS_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
            self.processes.append(Supervised("redis", [
                redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.tmp.name], env))
        s = self.settings
        if port_in_use(s.gateway_host, s.gateway_port):
            raise SystemExit(f"port {s.gateway_port} is in use: stop what runs there or set SENTIVIS_GATEWAY_PORT")
        self.processes.append(Supervised("gateway", [python, "-m", "gateway"], env))
        for i in range(1, self.args.detectors + 1):
            self.processes.append(Supervised(f"detector-{i}", [python, "-m", "detector"], env))
        for i in range(1, self.args.classifiers + 1):
            self.processes.append(Supervised(f"classifier-{i}", [python, "-m", "classifier"], env))
        if self.args.trainer_worker:
            self.processes.append(Supervised("trainer", [python, "-m", "trainer", "worker"], env))

    def run(self) -> int:
        self.plan()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stopping.set())
        for p in self.processes:
            p.start()
            if p.name == "redis":
                time.sleep(0.3)
        threading.Thread(target=self._announce, daemon=True).start()
        while not self.stopping.wait(0.2):
            self._supervise()
        say("runner", "stopping")
        for p in reversed(self.processes):
            p.stop()
        self.tmp.cleanup()
        return 0

    def _supervise(self) -> None:
        now = time.monotonic()
        for p in self.processes:
            if p.proc is None or p.proc.poll() is None:
                continue
            if p.restart_at is None:
                # Back off from a process that keeps dying; one that ran a while restarts at once.
                p.restarts = 0 if now - p.started_at > 30 else p.restarts + 1
                delay = min(10.0, 0.5 * 2 ** p.restarts) if p.restarts else 0.2
                say("runner", f"{p.name} exited with code {p.proc.returncode}; restarting in {delay:.1f} s")
                p.restart_at = now + delay
            elif now >= p.restart_at:
                p.start()

    def _announce(self) -> None:
        s = self.settings
        host = "127.0.0.1" if s.gateway_host in ("0.0.0.0", "") else s.gateway_host
        url = f"http://{host}:{s.gateway_port}/"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not self.stopping.is_set():
            try:
                with urllib.request.urlopen(url + "healthz", timeout=1):
                    say("runner", f"Sentivis is running at {url}  (Ctrl-C to stop)")
                    return
            except OSError:
                time.sleep(0.3)
        if not self.stopping.is_set():
            say("runner", f"the gateway did not answer at {url} within 120 s; see its log above")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentivis.runner", description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", type=int, default=1, help="detector processes (default 1)")
    parser.add_argument("--classifiers", type=int, default=1, help="classifier processes (default 1)")
    parser.add_argument("--no-trainer-worker", dest="trainer_worker", action="store_false",
                        help="do not start the Celery training worker")
    return Runner(parser.parse_args(argv)).run()


if __name__ == "__main__":
    sys.exit(main())
