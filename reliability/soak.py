"""`python -m reliability soak --minutes 10`: a long steady run at 70% of saturation.

Passes when no frame got an error or went unanswered, the resident memory of every process grew
less than 10% from the end of warm-up to the end, and the streams stayed bounded.
"""
from __future__ import annotations

import statistics
import time
from collections import Counter
from pathlib import Path

import psutil
import redis

from benchmarks.measure import percentiles
from reliability import verdict
from sentivis import redis_io
from sentivis import streams as names
from sentivis.settings import get_settings
from toolkit.client import FrameClient
from toolkit.samples import astronaut_frame
from toolkit.stack import Stack

MAX_RSS_GROWTH = 0.10
PER_CLIENT_PROBE_RATE = 25  # below the default 30 fps per-connection limit


def measure_saturation(url: str, clients: int, seconds: float) -> float:
    """Inferences per second when clients offer more than the stack can take."""
    frame = astronaut_frame()[0]
    probes = [FrameClient(url) for _ in range(clients)]
    try:
        for i, p in enumerate(probes):
            p.start([frame], PER_CLIENT_PROBE_RATE, first_frame_id=9 * 10**8 + i * 10**6)
        time.sleep(3)  # warm-up
        since = time.monotonic()
        time.sleep(seconds)
        until = time.monotonic()
        done = sum(len(p.round_trips_ms(since, until)) for p in probes)
    finally:
        for p in probes:
            p.close()
    return done / (until - since)


def stream_lengths(client: redis.Redis) -> dict[str, int]:
    out = {names.FRAMES: client.xlen(names.FRAMES), names.FACES: client.xlen(names.FACES)}
    for key in client.scan_iter(match=names.RESULTS_PREFIX + "*", count=100):
        out[names.RESULTS_PREFIX + "*"] = max(out.get(names.RESULTS_PREFIX + "*", 0), client.xlen(key))
    return out


def run(minutes: float, rate: float | None, clients: int, warmup_s: float, sample_s: float, detectors: int,
        classifiers: int, log_dir: Path) -> int:
    stack = Stack(detectors, classifiers, env={"SENTIVIS_HEARTBEAT_S": "0.5"}, log_dir=log_dir)
    samples: list[dict] = []
    loads: list[FrameClient] = []
    try:
        stack.start_ready(timeout=180, supervise=True)
        saturation = measure_saturation(stack.url, clients, 20) if rate is None else rate / 0.7
        target = 0.7 * saturation
        print(f"saturation {saturation:.1f} fps ({'measured' if rate is None else 'given'}); soak at "
              f"{target:.1f} fps over {clients} clients for {minutes} min", flush=True)
        db = redis_io.connect(stack.redis_url)
        frame = astronaut_frame()[0]
        loads = [FrameClient(stack.url) for _ in range(clients)]
        started = time.monotonic()
        for i, c in enumerate(loads):
            c.start([frame], target / clients, first_frame_id=i * 10**8)
        deadline = started + minutes * 60
        while time.monotonic() < deadline:
            time.sleep(sample_s)
            procs = {name: psutil.Process(pid) for name, pid in stack.pids().items()}
            sample = {"t": time.monotonic() - started,
                      "rss": {name: p.memory_info().rss for name, p in procs.items()},
                      "pids": {name: p.pid for name, p in procs.items()},
                      "streams": stream_lengths(db),
                      "codes": sum((c.codes() for c in loads), Counter())}
            samples.append(sample)
            print(f"t={sample['t']:5.0f} s  rss MB " + " ".join(f"{n}={v / 2**20:.0f}" for n, v in
                  sorted(sample["rss"].items())) + f"  streams {sample['streams']}  replies {dict(sample['codes'])}",
                  flush=True)
        for c in loads:
            c.stop()
        answered = all(c.wait_answered(timeout=30) for c in loads)
        finished = time.monotonic()
    finally:
        for c in loads:
            c.close()
        stack.stop()
    return report(samples, loads, answered, warmup_s, started, finished, saturation, target)


def report(samples, loads, answered, warmup_s, started, finished, saturation, target) -> int:
    failures = []
    after = [s for s in samples if s["t"] >= warmup_s]
    if len(after) < 2:
        failures.append("the run was too short to measure memory after warm-up")
        after = samples[-2:] if len(samples) >= 2 else samples
    print(f"\n### Soak: {(finished - started) / 60:.1f} min at {target:.1f} fps "
          f"(70% of {saturation:.1f} fps saturation), {len(loads)} clients\n")
    print("| process | RSS after warm-up (MB) | RSS at end (MB) | growth |\n|---|---|---|---|")
    for name in sorted(after[0]["rss"]):
        if any(s["pids"].get(name) != after[0]["pids"][name] for s in after):
            failures.append(f"{name} restarted during the soak")
            continue
        first, last = after[0]["rss"][name], after[-1]["rss"][name]
        growth = (last - first) / first
        print(f"| {name} | {first / 2**20:.1f} | {last / 2**20:.1f} | {growth * 100:+.1f}% |")
        if growth >= MAX_RSS_GROWTH:
            failures.append(f"{name} grew {growth * 100:.1f}% after warm-up")
    codes = sum((c.codes() for c in loads), Counter())
    trips = [t for c in loads for t in c.round_trips_ms()]
    rtt = percentiles(trips)
    sent = sum(len(c.records) for c in loads)
    unanswered = sum(len(c.unanswered(0)) for c in loads)
    longest = {k: max(s["streams"].get(k, 0) for s in samples) for k in samples[-1]["streams"]} if samples else {}
    print(f"\nframes sent {sent}, replies {dict(codes)}, unanswered {unanswered}; round trip p50 "
          f"{rtt['p50']} ms, p95 {rtt['p95']} ms, p99 {rtt['p99']} ms, "
          f"mean {statistics.fmean(trips) if trips else float('nan'):.0f} ms; longest streams {longest}")
    bound = 1.5 * get_settings().stream_maxlen  # XADD trims approximately (whole nodes), hence the slack
    if any(length > bound for length in longest.values()):
        failures.append(f"a stream grew past {bound:.0f} entries: {longest}")
    errors = {k: v for k, v in codes.items() if k != "inference"}
    if errors:
        failures.append(f"errors: {errors}")
    return verdict("soak", failures, unanswered, answered)
