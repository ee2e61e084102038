"""The live path with recording on and off: `python -m benchmarks.recording`.

One stack (gateway, detector, classifier, recorder; the sessions database on SQLite or a private
PostgreSQL) and one camera at FPS: rounds alternate between a connection that records its session
(`session_start` before the first frame) and one that does not, each on a fresh connection, so
that drift of a shared machine falls on both alike. The figure is the server's own latency
(`server_ms`, gateway receive -> emit) of every answered frame, p50 and p99 per round, and the
median of the rounds of each kind. After each recorded round the session's stored frames are
read back through the API, to show nothing was skipped.

    python -m benchmarks.recording                       # SQLite, 30 fps, 3 rounds of 20 s each
    python -m benchmarks.recording --engine postgresql   # the compose / Kubernetes database
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import requests

from benchmarks.measure import percentiles
from toolkit.client import FrameClient
from toolkit.postgres import PostgresServer
from toolkit.samples import sample_frames
from toolkit.stack import Stack

WARMUP_S = 1.0  # the first second of a round is left out, as in the main benchmark


def one_round(stack: Stack, record: bool, fps: float, seconds: float, label: str) -> dict:
    client = FrameClient(stack.url)
    try:
        session = None
        if record:
            client.sio.emit("session_start", {"name": label})
            client.wait(lambda events: any(n == "session" for n, _ in events), timeout=15)
            session = next(p for n, p in client.events if n == "session")
        start = time.monotonic()
        client.start(sample_frames(), fps, duration=seconds).join(seconds + 30)
        client.wait_answered(30)
        if record:
            client.sio.emit("session_stop", {"id": session["id"]})
            client.wait(lambda events: sum(n == "session" for n, _ in events) >= 2, timeout=15)
        answered = client.answered(since=start + WARMUP_S)
        server = [r.latency["server_ms"] for r in answered if "server_ms" in r.latency]
        errors = {code: n for code, n in client.codes().items() if code != "inference"}
        out = {"recording": record, "answered": len(client.answered()), "server_ms": percentiles(server),
               "errors": errors}
        if record:
            out["stored_frames"] = stored_frames(stack, session["id"], expected=len(client.answered()))
        return out
    finally:
        client.close()


def stored_frames(stack: Stack, session_id: str, expected: int, timeout: float = 60) -> int:
    """The session's frames in the database, once the recorder has caught up (or the timeout)."""
    deadline = time.monotonic() + timeout
    frames = 0
    while time.monotonic() < deadline:
        response = requests.get(f"{stack.url}/api/v1/sessions/{session_id}", timeout=10)
        if response.ok:
            frames = response.json()["frames"]
            if frames >= expected:
                break
        time.sleep(0.5)
    return frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.recording", description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each round (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each kind, alternating (default 3)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sentivis-bench-recording-") as tmp:
        postgres = PostgresServer().start() if args.engine == "postgresql" else None
        try:
            url = (postgres.create_database("sessions") if postgres else f"sqlite:///{Path(tmp) / 'sessions.db'}")
            stack = Stack(1, 1, recorders=1, env={"SENTIVIS_DATABASE_URL": url}, log_dir=Path(tmp),
                          name=f"recording-{args.engine}").start_ready(timeout=180)
            try:
                rounds = []
                for i in range(args.rounds * 2):
                    record = i % 2 == 1
                    result = one_round(stack, record, args.fps, args.seconds, f"bench round {i}")
                    rounds.append(result)
                    print(f"round {i + 1}: recording {'on ' if record else 'off'} server_ms p50 "
                          f"{result['server_ms']['p50']} p99 {result['server_ms']['p99']} "
                          f"({result['answered']} answered, errors {result['errors']}"
                          + (f", {result['stored_frames']} frames stored" if record else "") + ")", flush=True)
            finally:
                stack.stop()
        finally:
            if postgres:
                postgres.close()
    summary = {}
    for record in (False, True):
        mine = [r["server_ms"] for r in rounds if r["recording"] is record]
        summary["on" if record else "off"] = {q: statistics.median(m[q] for m in mine) for q in ("p50", "p99")}
    report = {"engine": args.engine, "fps": args.fps, "seconds": args.seconds, "rounds": rounds, "median": summary}
    print(f"\n{args.engine}, one camera at {args.fps:g} fps, median of {args.rounds} rounds each: server_ms "
          f"p50 {summary['off']['p50']} -> {summary['on']['p50']} ms, p99 {summary['off']['p99']} -> "
          f"{summary['on']['p99']} ms (recording off -> on)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
