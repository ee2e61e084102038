"""`python -m benchmarks.profile`: where the services spend their CPU under a steady load.

Starts the stack, sends frames from N clients at F fps, and records every service process with
py-spy (`pip install py-spy`) meanwhile; prints each process's hottest functions (own and
inclusive share of its samples) and keeps the collapsed stacks (flamegraph input) in --out.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import psutil

from benchmarks.load import run_load
from benchmarks.scenarios import start_monolith, start_sentivis
from toolkit.samples import sample_frames


def service_pids(pids: dict[str, int]) -> dict[str, int]:
    """The processes doing the work (a baseline tree's gateway ran under gunicorn: its worker, not the
    arbiter); no redis."""
    out = {}
    for name, pid in pids.items():
        if name == "redis":
            continue
        children = psutil.Process(pid).children(recursive=True)
        out[name] = children[0].pid if (name == "gateway" and children) else pid
    return out


def top(collapsed: Path, n: int) -> list[str]:
    own, inclusive, total = Counter(), Counter(), 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        frames = [f.split(" (")[0] for f in stack.split(";")]
        own[frames[-1]] += samples
        for f in set(frames):
            inclusive[f] += samples
    lines = [f"{total} samples"]
    lines += [f"  own {100 * c / total:5.1f}%  {f}" for f, c in own.most_common(n)]
    lines += [f"  incl {100 * c / total:4.1f}%  {f}" for f, c in inclusive.most_common(3 * n)
              if not f.startswith(("<module>", "_bootstrap", "run (threading", "main ("))][: 2 * n]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--fps", type=float, default=15.0, help="per client")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--model", help="emotion model file (default: SENTIVIS_EMOTION_WEIGHTS)")
    parser.add_argument("--monolith", action="store_true", help="profile the monolith baseline instead")
    parser.add_argument("--native", action="store_true", help="include native (C/C++) frames")
    parser.add_argument("--gil", action="store_true",
                        help="only samples of the thread holding the GIL: Python CPU work, without waiting threads")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--out", type=Path, default=Path("/tmp/sentivis-profile"))
    args = parser.parse_args(argv)
    # The venv's bin folder first: `.venv/bin/python -m benchmarks.profile` works without activating it.
    spy = shutil.which("py-spy", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if spy is None:
        raise SystemExit("py-spy is not installed: pip install py-spy")
    args.out.mkdir(parents=True, exist_ok=True)
    # Every client comes from 127.0.0.1: lift the per-address connection cap, as the benchmark does.
    env = {"SENTIVIS_MAX_CONNECTIONS_PER_ADDRESS": "0",
           **({"SENTIVIS_EMOTION_WEIGHTS": args.model} if args.model else {})}
    frames = sample_frames()
    stack = (start_monolith(args.out / "logs", env=env) if args.monolith
             else start_sentivis(args.out / "logs", env=env))
    try:
        load = threading.Thread(target=run_load, args=(stack.url, frames, args.clients, args.fps, args.seconds + 2))
        load.start()
        spies = {}
        for name, pid in service_pids(stack.pids()).items():
            cmd = [spy, "record", "--pid", str(pid), "--duration", str(int(args.seconds)), "--rate", "200",
                   "--format", "raw", "--output", str(args.out / f"{name}.txt"), "--nonblocking"]
            if args.native:
                cmd.append("--native")
            if args.gil:
                cmd.append("--gil")
            spies[name] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for name, proc in spies.items():
            _, err = proc.communicate(timeout=args.seconds + 60)
            path = args.out / f"{name}.txt"
            print(f"== {name}")
            print("\n".join(top(path, args.top)) if path.is_file() else err.decode(errors="replace")[-500:])
        load.join(args.seconds + 30)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
