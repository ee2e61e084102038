"""`python -m benchmarks.compare BEFORE.json AFTER.json --out PNG`: two runs' goodput and round trip
against offered load, side by side (the before/after plot of docs/BENCHMARKS.md)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.report import RTT_P95_MS, load_steps

STACK = "sentivis-d1-c1"


def compare_plot(runs: dict[str, dict], out: Path) -> Path:
    """runs: name -> report (the JSON `python -m benchmarks --json` writes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (name, report), style in zip(runs.items(), ("o:", "o-"), strict=False):
        for mode in report.get("modes") or {}:
            for adaptive in (False, True):
                steps = load_steps(report, STACK, mode, adaptive)
                if not steps:
                    continue
                label = f"{name}, {mode}" + (", adaptive clients" if adaptive else "")
                x = [s["offered_fps"] for s in steps]
                ax1.plot(x, [s["throughput_fps"] for s in steps], style if not adaptive else "s--", label=label)
                ax2.plot(x, [s["rtt_ms"]["p95"] or np.nan for s in steps], style if not adaptive else "s--",
                         label=label)
    ax1.set_xlabel("offered load (frames/s)")
    ax1.set_ylabel("goodput (inferences/s)")
    ax1.set_title("Goodput against offered load, 1 detector + 1 classifier")
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=7)
    ax2.axhline(RTT_P95_MS, ls="--", color="r", lw=0.8, label=f"target {RTT_P95_MS:g} ms")
    ax2.set_yscale("log")
    ax2.set_xlabel("offered load (frames/s)")
    ax2.set_ylabel("round trip p95 of answered frames (ms, log)")
    ax2.set_title("Round trip against offered load")
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/bench-before-after.png"))
    args = parser.parse_args(argv)
    runs = {"before": json.loads(args.before.read_text()), "after": json.loads(args.after.read_text())}
    print(compare_plot(runs, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
