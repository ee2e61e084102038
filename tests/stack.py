"""Test helpers: real service processes and a real Socket.IO client."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import socketio

REPO = Path(__file__).resolve().parent.parent


class Service:
    """`python -m <module>` as a child process, its output kept in a log file for failures."""

    def __init__(self, module: str, env: dict[str, str], log_dir: Path, args: list[str] | None = None):
        self.module = module
        self.log_path = log_dir / f"{module.replace('.', '_')}-{time.monotonic_ns()}.log"
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", module, *(args or [])], cwd=REPO, env=full_env,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def wait_http(url: str, timeout: float = 30.0, status: int = 200) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == status:
                    return
        except urllib.error.HTTPError as exc:
            last = exc
            if exc.code == status:
                return
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer {status} within {timeout} s ({last})")


def get_json(url: str):
    import json

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


class FrameClient:
    """A python-socketio client that records every inference and frame_error it receives."""

    def __init__(self, url: str, **connect_kwargs):
        self.sio = socketio.Client(reconnection=False)
        self.events: list[tuple[str, dict]] = []
        self.sent_at: dict[int, float] = {}
        self.round_trip_ms: dict[int, float] = {}
        self._cond = threading.Condition()
        for name in ("inference", "frame_error"):
            self.sio.on(name, self._recorder(name))
        self.sio.connect(url, transports=["websocket"], wait_timeout=10, **connect_kwargs)

    def _recorder(self, name: str):
        def record(payload):
            with self._cond:
                fid = payload.get("frame_id") if isinstance(payload, dict) else None
                if fid in self.sent_at and fid not in self.round_trip_ms:
                    self.round_trip_ms[fid] = (time.perf_counter() - self.sent_at[fid]) * 1000
                self.events.append((name, payload))
                self._cond.notify_all()
        return record

    def send(self, frame_id, image, **extra) -> None:
        if isinstance(frame_id, int):
            self.sent_at[frame_id] = time.perf_counter()
        self.sio.emit("frame", {"frame_id": frame_id, "image": image, **extra})

    def send_raw(self, payload) -> None:
        self.sio.emit("frame", payload)

    def of(self, frame_id) -> list[tuple[str, dict]]:
        with self._cond:
            return [(n, p) for n, p in self.events if p.get("frame_id") == frame_id]

    def wait(self, predicate, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.events):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"condition not met in {timeout} s; events: {self.events[-5:]}")
                self._cond.wait(left)

    def wait_frame(self, frame_id, timeout: float = 15.0) -> tuple[str, dict]:
        self.wait(lambda ev: any(p.get("frame_id") == frame_id for _, p in ev), timeout)
        return self.of(frame_id)[0]

    def wait_count(self, count: int, timeout: float = 15.0) -> None:
        self.wait(lambda ev: len(ev) >= count, timeout)

    def close(self) -> None:
        self.sio.disconnect()
