"""`python -m benchmarks.connections`: many people on one gateway.

A real stack (gateway, detector, classifier); first N idle connections (benchmarks/idle.py: real
python-socketio clients, half of them on each parser), then S cameras streaming at F fps beside them
for D seconds, while /healthz is asked every 100 ms. It prints and writes (--json):
  - connections held, and how long opening them took;
  - the gateway's memory before and with them (per idle connection);
  - the streams' round trip p50/p95/p99, every frame's answer (inference or frame_error code);
  - /healthz: its worst and 99th-percentile answer time, and how many went unanswered (1 s timeout);
  - the gateway's CPU.

    python -m benchmarks.connections                     # 1,000 idle + 30 cameras at 6 fps, 30 s
    python -m benchmarks.connections --services-root ../before --socketio-path socket.io
                                                          # the same against another checkout
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import psutil

from benchmarks.load import run_load
from benchmarks.measure import CpuMeter, percentiles
from sentivis.settings import SHIPPED_MODEL
from toolkit.samples import sample_frames
from toolkit.stack import Stack

HEALTH_EVERY_S = 0.1
HEALTH_TIMEOUT_S = 1.0


class HealthPoller:
    """GET /healthz every HEALTH_EVERY_S in a thread; each answer's time, None when none came in time."""

    def __init__(self, url: str):
        self.url = url + "/healthz"
        self.times: list[float | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "HealthPoller":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(HEALTH_EVERY_S):
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=HEALTH_TIMEOUT_S) as response:
                    response.read()
                self.times.append((time.perf_counter() - started) * 1000)
            except OSError:
                self.times.append(None)

    def summary(self) -> dict:
        answered = [t for t in self.times if t is not None]
        return {"asked": len(self.times), "unanswered": len(self.times) - len(answered),
                "worst_ms": round(max(answered), 1) if answered else None, **{
                    f"{k}_ms": v for k, v in percentiles(answered).items() if k in ("p50", "p99")}}


def rss_mb(pid: int) -> float:
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


def hold_idle(url: str, count: int, socketio_path: str | None) -> tuple[subprocess.Popen, int, float]:
    """Start benchmarks/idle.py and wait until it holds its connections: (process, held, seconds)."""
    argv = [sys.executable, "-m", "benchmarks.idle", url, str(count)]
    if socketio_path:
        argv += ["--socketio-path", socketio_path]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    for line in proc.stdout:
        if line.startswith("held"):
            return proc, int(line.split()[1]), time.monotonic() - started
    raise RuntimeError(f"the idle connections' process ended: {proc.wait()}")


def run(idle: int, streams: int, fps: float, duration: float, services_root: Path | None,
        socketio_path: str | None) -> dict:
    log_dir = Path(tempfile.mkdtemp(prefix="sentivis-connections-"))
    env = {"SENTIVIS_EMOTION_WEIGHTS": str(SHIPPED_MODEL), "SENTIVIS_MAX_CONNECTIONS_PER_ADDRESS": "0"}
    stack = Stack(1, 1, env=env, log_dir=log_dir, cwd=services_root).start_ready(120)
    holder = None
    try:
        gateway = stack.pids()["gateway"]
        time.sleep(2)
        memory_before = rss_mb(gateway)
        with HealthPoller(stack.url) as opening_health:
            holder, held, opened_s = hold_idle(stack.url, idle, socketio_path)
        time.sleep(2)
        memory_idle = rss_mb(gateway)
        print(f"{held} idle connections held after {opened_s:.1f} s; gateway {memory_before:.0f} -> "
              f"{memory_idle:.0f} MB", flush=True)
        result: dict = {}

        def stream() -> None:
            try:
                result["load"] = run_load(stack.url, sample_frames(), streams, fps, duration,
                                          **({"socketio_path": socketio_path} if socketio_path else {}))
            except Exception as exc:  # a gateway past what it holds: the streams cannot connect
                result["error"] = f"{type(exc).__name__}: {exc}"

        with HealthPoller(stack.url) as health, CpuMeter({"gateway": gateway}) as cpu:
            load = threading.Thread(target=stream, daemon=True)
            load.start()
            load.join(duration + 120)
        records = result["load"].records if "load" in result else []
        answered = [r for r in records if r.event == "inference"]
        if "load" not in result:
            print(f"the streams failed: {result.get('error', 'no result in time')}", flush=True)
        return {
            "idle": {"asked": idle, "held": held, "open_s": round(opened_s, 1),
                     "health_while_opening": opening_health.summary()},
            "gateway_memory_mb": {"before": round(memory_before, 1), "with_idle": round(memory_idle, 1),
                                  "per_idle_connection_kb": round((memory_idle - memory_before) * 1024 / max(1, held),
                                                                  1),
                                  "after_streaming": round(rss_mb(gateway), 1)},
            "streams": {"clients": streams, "fps": fps, "duration_s": duration, "error": result.get("error"),
                        "sent": len(records),
                        "answers": dict(Counter(r.code or r.event or "none" for r in records)),
                        "round_trip_ms": percentiles([r.rtt_ms for r in answered])},
            "health": health.summary(),
            "gateway_cpu": cpu.summary(len(answered))["cores_busy"].get("gateway"),
        }
    finally:
        if holder is not None:
            holder.stdin.close()
            try:
                holder.wait(60)
            except subprocess.TimeoutExpired:
                holder.kill()
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.connections", description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--streams", type=int, default=30)
    parser.add_argument("--fps", type=float, default=6.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--services-root", type=Path, default=None, help="run the services from this checkout")
    parser.add_argument("--socketio-path", default=None, help="the one Socket.IO path of an older gateway")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    report = run(args.idle, args.streams, args.fps, args.duration, args.services_root, args.socketio_path)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
