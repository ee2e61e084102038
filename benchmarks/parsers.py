"""`python -m benchmarks.parsers`: the gateway's CPU per frame and the round trip, for each parser.

One stack; the same load (clients x fps, the benchmark's cycle of 0-3 face frames) sent through the
default parser (JSON header + binary attachment: two WebSocket messages per frame) and through
MessagePack (one), in alternating runs (default, msgpack, default, msgpack, ...) so that a drift of
the shared machine falls on both. Per run: the gateway's CPU milliseconds per answered frame and the
round trip p50/p95; then the medians per parser and their ratio.

    python -m benchmarks.parsers --clients 8 --fps 10 --duration 20 --rounds 3 --json parsers.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.load import run_load
from benchmarks.measure import CpuMeter, percentiles, settle
from sentivis.settings import SHIPPED_MODEL
from toolkit.samples import sample_frames
from toolkit.stack import Stack

PARSERS = ("default", "msgpack")


def one_run(stack: Stack, parser: str, clients: int, fps: float, duration: float) -> dict:
    settle(stack.pids())
    with CpuMeter({"gateway": stack.pids()["gateway"]}) as cpu:
        load = run_load(stack.url, sample_frames(), clients, fps, duration, parser=parser)
    answered = [r for r in load.records if r.event == "inference"]
    cpu_ms = cpu.summary(len(answered))["cpu_ms_per_frame"]
    rtt = percentiles([r.rtt_ms for r in answered])
    return {"parser": parser, "sent": len(load.records), "answered": len(answered),
            "gateway_cpu_ms_per_frame": cpu_ms["gateway"], "load_generator_cpu_ms_per_frame": cpu_ms["load-generator"],
            "round_trip_p50_ms": rtt["p50"], "round_trip_p95_ms": rtt["p95"]}


def run(clients: int, fps: float, duration: float, rounds: int) -> dict:
    env = {"SENTIVIS_EMOTION_WEIGHTS": str(SHIPPED_MODEL), "SENTIVIS_MAX_CONNECTIONS_PER_ADDRESS": "0"}
    stack = Stack(1, 1, env=env, log_dir=Path(tempfile.mkdtemp(prefix="sentivis-parsers-"))).start_ready(120)
    try:
        runs = []
        for i in range(rounds):
            for parser in PARSERS if i % 2 == 0 else reversed(PARSERS):
                runs.append(one_run(stack, parser, clients, fps, duration))
                print(json.dumps(runs[-1]), flush=True)
    finally:
        stack.stop()
    medians = {p: {k: statistics.median(r[k] for r in runs if r["parser"] == p)
                   for k in ("gateway_cpu_ms_per_frame", "round_trip_p50_ms", "round_trip_p95_ms")} for p in PARSERS}
    ratio = medians["default"]["gateway_cpu_ms_per_frame"] / medians["msgpack"]["gateway_cpu_ms_per_frame"]
    return {"load": {"clients": clients, "fps": fps, "duration_s": duration, "rounds": rounds},
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "runs": runs, "medians": medians,
            "default_over_msgpack_cpu": round(ratio, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.parsers", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3, help="runs per parser, alternating (default 3)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    report = run(args.clients, args.fps, args.duration, args.rounds)
    print(json.dumps({"medians": report["medians"], "default_over_msgpack_cpu": report["default_over_msgpack_cpu"]},
                     indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
