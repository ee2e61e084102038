"""Many connections on one gateway, at a smaller scale than benchmarks/connections.py: 300 idle
connections (more than the 200 that froze the threaded gateway) while cameras stream beside them,
every frame answered, and /healthz answering within a second throughout."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np
import pytest

from sentivis.settings import REPO_ROOT
from tests.support.stack import start_stack
from toolkit.client import FrameClient
from toolkit.samples import astronaut_frame

IDLE = 300
CAMERAS, FPS, SECONDS = 3, 6, 10


@pytest.fixture
def stack(redis_url, tmp_path):
    s = start_stack(redis_url, tmp_path, SENTIVIS_MAX_CONNECTIONS_PER_ADDRESS="0")
    yield s
    s.stop()


def hold_idle(url: str, count: int) -> tuple[subprocess.Popen, int]:
    """Real python-socketio clients, half on each parser, held by another process until its stdin closes."""
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.idle", url, str(count)], cwd=REPO_ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("held"):
            return proc, int(line.split()[1])
    raise AssertionError(f"the idle clients' process ended with {proc.wait()}")


def test_hundreds_of_idle_connections_leave_streams_and_health_unharmed(stack):
    health: list[float | None] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.1):
            started = time.perf_counter()
            try:
                urllib.request.urlopen(stack.url + "/healthz", timeout=1).read()
                health.append(time.perf_counter() - started)
            except OSError:
                health.append(None)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    holder, held = hold_idle(stack.url, IDLE)
    cameras = []
    try:
        assert held == IDLE
        cameras = [FrameClient(stack.url, parser=("default", "msgpack")[i % 2]) for i in range(CAMERAS)]
        for i, camera in enumerate(cameras):
            camera.start([astronaut_frame()[0]], FPS, duration=SECONDS, first_frame_id=1 + i * 1000)
        for camera in cameras:
            camera.join(SECONDS + 10)
        assert all(camera.wait_answered(timeout=30) for camera in cameras)
    finally:
        stop.set()
        poller.join(5)
        holder.stdin.close()
        holder.wait(60)
        for camera in cameras:
            camera.close()
    records = [r for camera in cameras for r in camera.records.values()]
    assert len(records) >= CAMERAS * FPS * SECONDS * 0.9
    assert {r.code or r.event for r in records} == {"inference"}
    rtt = [r.rtt_ms for r in records]
    print(f"\n{held} idle; {len(records)} frames, round trip p95 {np.percentile(rtt, 95):.0f} ms; /healthz "
          f"worst {max(t for t in health if t is not None) * 1000:.0f} ms of {len(health)}")
    assert np.percentile(rtt, 95) <= 250
    assert health and None not in health, "a /healthz went unanswered for a second"
