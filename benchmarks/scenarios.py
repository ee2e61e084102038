"""The benchmark plan: which stacks are started and what load each one gets, in one run."""
from __future__ import annotations

import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.cpus import MODES, CpuPlan, pinned
from benchmarks.load import run_load
from benchmarks.measure import CpuMeter, StreamSampler, settle, summarise
from sentivis.settings import REPO_ROOT
from toolkit.processes import free_port, wait_http
from toolkit.samples import SampleFrame
from toolkit.stack import Stack

ALL = ("floor", "classifier", "stream", "sweep", "overload", "replicas", "monolith")
SWEEP_FRACTIONS = (0.25, 0.5, 0.75, 1.0)  # of the floor's ideal rate, cores / floor seconds
QUICK_SWEEP_FRACTIONS = (0.4, 0.8)
# Past the sweep: offered loads as multiples of the saturation the sweep found, up to 4x.
OVERLOAD_MULTIPLES = (1.5, 2.0, 3.0, 4.0)
QUICK_OVERLOAD_MULTIPLES = (2.0, 4.0)
# The same overload from clients that lower their rate on `overloaded` as the page does (toolkit.adaptive).
ADAPTIVE_MULTIPLES = (2.0, 4.0)
MAX_CLIENT_FPS = 15  # the sweep adds clients rather than pushing one connection past a webcam's rate


@dataclass
class Plan:
    scenarios: tuple[str, ...]
    stream_s: float = 15.0
    step_s: float = 10.0
    overload_s: float = 15.0
    floor_s: float = 6.0
    classifier_repeats: int = 300
    stream_fps: tuple[float, ...] = (15.0, 30.0)
    sweep_fractions: tuple[float, ...] = SWEEP_FRACTIONS
    overload_multiples: tuple[float, ...] = OVERLOAD_MULTIPLES
    adaptive_multiples: tuple[float, ...] = ADAPTIVE_MULTIPLES
    cpu_modes: tuple[str, ...] = MODES

    @classmethod
    def full(cls, scenarios=ALL) -> "Plan":
        return cls(tuple(scenarios))

    @classmethod
    def quick(cls, scenarios=ALL) -> "Plan":
        return cls(tuple(scenarios), stream_s=6.0, step_s=5.0, overload_s=6.0, floor_s=3.0, classifier_repeats=100,
                   sweep_fractions=QUICK_SWEEP_FRACTIONS, overload_multiples=QUICK_OVERLOAD_MULTIPLES)


# Where the services' code is run from: another checkout measures a before/after (--services-root),
# and how the load clients reach its gateway (--socketio-path: an older gateway had one path).
SERVICES_ROOT = REPO_ROOT
CLIENT_OPTIONS: dict[str, Any] = {}


def start_sentivis(log_dir: Path, detectors: int = 1, classifiers: int = 1, env: dict[str, str] | None = None,
                   timeout: float = 90.0) -> Stack:
    """redis + gateway + detectors + classifiers, ready (heartbeats seen by the gateway's /readyz);
    every process logs to a file in log_dir."""
    return Stack(detectors, classifiers, env=env, log_dir=log_dir, cwd=SERVICES_ROOT).start_ready(timeout)


def start_monolith(log_dir: Path, env: dict[str, str] | None = None, timeout: float = 60.0) -> Stack:
    """The baseline (benchmarks/monolith.py) alone, up."""
    port = free_port()
    stack = Stack(0, 0, gateway=False, redis=False, gateway_port=port,
                  env={"PYTHONPATH": str(REPO_ROOT), **(env or {})},
                  log_dir=log_dir, cwd=SERVICES_ROOT, extra={"monolith": ["benchmarks.monolith", "--port", str(port)]},
                  name="monolith").start()
    try:
        stack.wait_until(lambda: wait_http(stack.url + "/healthz", timeout=1) is None, "the monolith up", timeout)
    except BaseException:
        stack.stop()
        raise
    return stack


def machine() -> dict[str, Any]:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu_model": model, "python": sys.version.split()[0],
            "platform": platform.platform(), "load_avg_start": list(os.getloadavg())}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_step(stack: Stack, frames: list[SampleFrame], clients: int, fps: float, seconds: float,
              label: str, cpus: CpuPlan, adaptive: bool = False) -> dict[str, Any]:
    """One load run against a started stack, the load generator on cpus.load; adaptive: its
    clients lower their rate on `overloaded` as the page does."""
    waited = settle(stack.pids())
    load_before = os.getloadavg()[0]
    with pinned(cpus.load), StreamSampler(stack.redis_url) as sampler, CpuMeter(stack.pids()) as cpu:
        options = {} if stack.name == "monolith" else CLIENT_OPTIONS  # the monolith is this tree's
        result = run_load(stack.url, frames, clients, fps, seconds, adaptive=adaptive, **options)
    stack.check_alive()
    out = {"label": label, "stack": stack.name, "mode": cpus.mode, **summarise(result), "streams": sampler.summary(),
           "cpu": cpu.summary(sum(1 for r in result.records if r.event == "inference")),
           "load_avg_1m": round(load_before, 2), "settled_s": waited}
    log(f"{cpus.mode:<6} {stack.name:<18} {label:<14} offered {out['offered_fps']:6.1f} fps -> "
        f"{out['throughput_fps']:6.1f} fps, rtt p50 {out['rtt_ms']['p50']} p95 {out['rtt_ms']['p95']} ms, "
        f"dropped {out['dropped']}/{out['sent']}")
    return out


def level(offered: float) -> tuple[int, float]:
    """(clients, fps per client) for an offered load: more clients, none faster than a webcam."""
    offered = max(5.0, offered)
    clients = max(1, math.ceil(offered / MAX_CLIENT_FPS))
    return clients, round(offered / clients, 2)


def sweep_levels(ideal_fps: float, fractions: tuple[float, ...]) -> list[tuple[int, float]]:
    """(clients, fps per client) for each offered load, as fractions of the ideal rate."""
    return [level(ideal_fps * f) for f in fractions]


def shown_path(path: str | None) -> str | None:
    """A path inside the working directory (the repository) relative to it, as the docs show it."""
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def saturation(steps: list[dict[str, Any]]) -> float:
    return max((s["throughput_fps"] for s in steps), default=0.0)


def started(cpus: CpuPlan, start, *args, **kwargs) -> Stack:
    """A stack started on cpus.stack: its processes inherit the affinity of the thread that starts them."""
    with pinned(cpus.stack):
        stack = start(*args, **kwargs)
    log(f"started {stack.name} at {stack.url} on cores {sorted(cpus.stack)} (load generator on {sorted(cpus.load)})")
    return stack


def run_sentivis(plan: Plan, frames: list[SampleFrame], cpus: CpuPlan, ideal: float, env: dict[str, str],
                 log_dir: Path, report: dict[str, Any]) -> dict[str, Any]:
    """One CPU mode, 1 detector + 1 classifier: the streams, the sweep, the overload steps past
    saturation; -> the mode's summary (ideal, saturation)."""
    want = set(plan.scenarios)
    summary: dict[str, Any] = {"stack_cpus": sorted(cpus.stack), "load_cpus": sorted(cpus.load),
                               "ideal_fps": round(ideal, 1)}
    stack = started(cpus, start_sentivis, log_dir / f"stack-1x1-{cpus.mode}", env=env)
    try:
        if "stream" in want:
            for fps in plan.stream_fps:
                report["scenarios"].append(load_step(stack, frames, 1, fps, plan.stream_s, f"stream-{fps:g}fps", cpus))
        if want & {"sweep", "overload"}:
            steps = []
            for clients, fps in sweep_levels(ideal, plan.sweep_fractions):
                steps.append(load_step(stack, frames, clients, fps, plan.step_s, "sweep", cpus))
            summary["saturation_fps"] = sat = saturation(steps)
            if "overload" in want:
                for multiple in plan.overload_multiples:
                    steps.append(load_step(stack, frames, *level(multiple * sat), plan.overload_s,
                                           f"overload-{multiple:g}x", cpus))
                for multiple in plan.adaptive_multiples:
                    steps.append(load_step(stack, frames, *level(multiple * sat), plan.overload_s,
                                           f"overload-{multiple:g}x-adaptive", cpus, adaptive=True))
            report["scenarios"].extend(steps)
    finally:
        stack.stop()
    return summary


def run_plan(plan: Plan, frames: list[SampleFrame], model_path: str | None, log_dir: Path) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": machine(), "model": shown_path(model_path), "plan": plan.__dict__,
                              "frames": [{"name": f.name, "bytes": len(f.jpeg), "faces": f.faces} for f in frames],
                              "scenarios": [], "modes": {},
                              "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    run_started = time.perf_counter()
    want = set(plan.scenarios)
    # Every connection comes from 127.0.0.1: lift the per-address connection cap for the sweep.
    env = {"SENTIVIS_MAX_CONNECTIONS_PER_ADDRESS": "0",
           "SENTIVIS_EMOTION_WEIGHTS": model_path or str(log_dir / "no-model.onnx")}  # none: "not loaded"

    if "floor" in want:
        from benchmarks.floor import measure_floor

        log("compute floor (one process, one thread)")
        report["floor"] = measure_floor(frames, model_path, plan.floor_s)
        log(f"floor {report['floor']['floor_ms_per_frame']} ms per frame; faces {report['floor']['faces_detected']}")
    if "classifier" in want and model_path:
        from benchmarks.classifier import measure

        log("classifier bench (ONNX Runtime)")
        report["classifier"] = [measure(model_path, t, plan.classifier_repeats)
                                for t in sorted({1, os.cpu_count() or 1})]
    floor_ms = (report.get("floor") or {}).get("floor_ms_per_frame") or 25.0
    shared = CpuPlan.for_mode("shared")
    # The ideal rate of the cores the stack has: all of them shared, all but the load generator's pinned.
    ideal = {mode: CpuPlan.for_mode(mode).stack_cores * 1000 / floor_ms for mode in plan.cpu_modes}
    report["ideal_fps"] = round(shared.stack_cores * 1000 / floor_ms, 1)

    if want & {"stream", "sweep", "overload"}:
        for mode in plan.cpu_modes:
            cpus = CpuPlan.for_mode(mode)
            report["modes"][mode] = run_sentivis(plan, frames, cpus, ideal[mode], env, log_dir, report)
    levels = sweep_levels(report["ideal_fps"], plan.sweep_fractions)
    if "replicas" in want:
        stack = started(shared, start_sentivis, log_dir / "stack-2x2", detectors=2, classifiers=2, env=env)
        try:
            steps = [load_step(stack, frames, clients, fps, plan.step_s, "sweep", shared) for clients, fps in levels]
            report["scenarios"].extend(steps)
            report["saturation_fps_2x2"] = saturation(steps)
        finally:
            stack.stop()
    if "monolith" in want:
        stack = started(shared, start_monolith, log_dir / "monolith", env=env)
        try:
            if "stream" in want:
                report["scenarios"].append(load_step(stack, frames, 1, 30.0, plan.stream_s, "stream-30fps", shared))
            steps = [load_step(stack, frames, clients, fps, plan.step_s, "sweep", shared) for clients, fps in levels]
            report["scenarios"].extend(steps)
            report["saturation_fps_monolith"] = sat = saturation(steps)
            if "overload" in want:  # a monolith queues without bound: 2x shows it, more only waits longer
                report["scenarios"].append(load_step(stack, frames, *level(2 * sat), plan.overload_s, "overload-2x",
                                                     shared))
        finally:
            stack.stop()
    report["machine"]["load_avg_end"] = list(os.getloadavg())
    report["wall_s"] = round(time.perf_counter() - run_started, 1)
    return report
