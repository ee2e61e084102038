"""The whole stack under `python -m sentivis.runner`, which restarts what dies, seen from outside.

The runner announces each process as `[name] started (pid N)`; RunnerStack reads that to know
which pid to kill and whether a restart happened.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil

from sentivis.runner import free_port

REPO = Path(__file__).resolve().parent.parent
STARTED = re.compile(r"^\[(?P<name>[\w-]+)\s*\] started \(pid (?P<pid>\d+)\)")


class RunnerStack:
    def __init__(self, log_path: Path, detectors: int = 2, classifiers: int = 2, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_path)
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "SENTIVIS_GATEWAY_PORT": str(self.port),
                    "SENTIVIS_HEARTBEAT_S": "0.5", **(env or {})}
        self.pids: dict[str, list[int]] = {}  # name -> every pid it had, newest last
        self.detectors, self.classifiers = detectors, classifiers
        self._cond = threading.Condition()
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sentivis.runner", "--detectors", str(detectors), "--classifiers",
             str(classifiers), "--no-trainer-worker"], cwd=REPO, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, text=True)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._log.write(line)
            self._log.flush()
            match = STARTED.match(line)
            if match:
                with self._cond:
                    self.pids.setdefault(match["name"], []).append(int(match["pid"]))
                    self._cond.notify_all()

    # -- state ------------------------------------------------------------------------
    def pid(self, name: str) -> int:
        with self._cond:
            return self.pids[name][-1]

    def wait_restarted(self, name: str, starts: int, timeout: float) -> bool:
        """Until `name` has been started `starts` times in all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.pids.get(name, [])) < starts:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def readiness(self) -> dict:
        try:
            with urllib.request.urlopen(self.url + "/readyz", timeout=2) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read() or b"{}")
        except OSError as exc:
            return {"ready": False, "error": str(exc)}

    def wait_ready(self, timeout: float = 120, detectors: int | None = None, classifiers: int | None = None) -> None:
        detectors = self.detectors if detectors is None else detectors
        classifiers = self.classifiers if classifiers is None else classifiers
        deadline = time.monotonic() + timeout
        status: dict = {}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the runner exited:\n{self.log_tail()}")
            status = self.readiness()
            if status.get("detectors", 0) >= detectors and status.get("classifiers", 0) >= classifiers:
                return
            time.sleep(0.25)
        raise TimeoutError(f"stack not ready in {timeout} s ({status}):\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def redis_port(self) -> int:
        cmd = psutil.Process(self.pid("redis")).cmdline()
        if "--port" in cmd:
            return int(cmd[cmd.index("--port") + 1])
        return int(re.search(r":(\d+)", " ".join(cmd))[1])  # redis-server retitles itself "redis-server host:port"

    def processes(self) -> dict[str, psutil.Process]:
        """The live process of every supervised name."""
        out = {}
        for name in list(self.pids):
            try:
                proc = psutil.Process(self.pid(name))
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    out[name] = proc
            except psutil.NoSuchProcess:
                pass
        return out

    # -- faults -------------------------------------------------------------------------
    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Signal the service's whole process group (the runner gives each its own session): the
        gateway is a gunicorn master and its worker, and kill -9 of a service means both."""
        pid = self.pid(name)
        os.killpg(pid, sig)
        return pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # The runner starts each service in its own session; make sure none outlives it.
        for name, pids in self.pids.items():
            try:
                proc = psutil.Process(pids[-1])
                if any(name.split("-")[0] in part for part in proc.cmdline()):  # not a reused pid
                    proc.kill()
            except psutil.Error:
                pass
        self._log.close()
