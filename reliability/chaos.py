"""`python -m reliability chaos`: kill -9 services in turn while clients stream, and time recovery.

The stack runs as `sentivis up` runs it (toolkit.stack: 2 detectors, 2 classifiers, its own
Redis, supervised: what dies is restarted). Each round kills one service (a worker, Redis or the
gateway), then measures how long until every client gets an inference for a frame sent after the
kill. At the end every frame must have had an answer: an inference, a frame_error, or a
connection that dropped.
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from reliability import verdict
from toolkit.client import FrameClient
from toolkit.samples import astronaut_frame
from toolkit.stack import Stack

FAULTS = ["detector-1", "classifier-1", "redis", "detector-2", "gateway", "classifier-2"]
WORKER_TARGET_S = 2.0  # a worker's death must be invisible to clients for longer than this
OTHER_TARGET_S = 30.0  # Redis or the gateway: reconnect with backoff, then results again


def run(minutes: float, interval_s: float, clients: int, rate: float, log_dir: Path) -> int:
    stack = Stack(detectors=2, classifiers=2, env={"SENTIVIS_HEARTBEAT_S": "0.5"}, log_dir=log_dir)
    streams: list[FrameClient] = []
    rounds = []
    try:
        stack.start_ready(timeout=180, supervise=True)
        frame = astronaut_frame()[0]
        streams = [FrameClient(stack.url, reconnection=True).start([frame], rate, first_frame_id=i * 10**7)
                   for i in range(clients)]
        deadline = time.monotonic() + minutes * 60
        index = 0
        while time.monotonic() < deadline:
            time.sleep(interval_s)
            stack.wait_ready(timeout=120)
            name = FAULTS[index % len(FAULTS)]
            index += 1
            starts = stack.starts(name)
            killed_at = time.monotonic()
            stack.kill(name)
            waits = [c.wait_inference_after(killed_at, timeout=60) for c in streams]
            restarted = stack.wait_restarted(name, starts + 1, timeout=60)
            recovery = None if None in waits else max(waits)
            rounds.append({"fault": name, "recovery_s": recovery, "restarted": restarted, "at": killed_at})
            print(f"kill -9 {name:<13} results again for every client after "
                  f"{'never' if recovery is None else f'{recovery:.2f} s'}; restarted: {restarted}", flush=True)
        for c in streams:
            c.stop()
        answered = all(c.wait_answered(timeout=30) for c in streams)
    finally:
        for c in streams:
            c.close()
        stack.stop()
    return report(rounds, streams, answered)


def report(rounds: list[dict], streams: list[FrameClient], answered: bool) -> int:
    codes = sum((c.codes() for c in streams), Counter())
    unanswered = sum(len(c.unanswered(0)) for c in streams)
    lost = sum(c.lost_with_connection() for c in streams)
    print("\n| fault (kill -9) | results again after | restarted by the supervisor |\n|---|---|---|")
    failures = []
    for r in rounds:
        target = WORKER_TARGET_S if r["fault"].startswith(("detector", "classifier")) else OTHER_TARGET_S
        recovery = r["recovery_s"]
        print(f"| {r['fault']} | {'never' if recovery is None else f'{recovery:.2f} s'} | {r['restarted']} |")
        if recovery is None or recovery > target or not r["restarted"]:
            failures.append(f"{r['fault']}: recovery {recovery} s (target {target} s), restarted {r['restarted']}")
    print(f"\nframes sent: {sum(len(c.records) for c in streams)}; replies: {dict(codes)}; lost with a dropped "
          f"connection: {lost}; unanswered (hangs): {unanswered}")
    return verdict("chaos", failures, unanswered, answered)
