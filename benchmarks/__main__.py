"""`python -m benchmarks`: Sentivis under load, against its compute floor and a monolith baseline.

  python -m benchmarks                 # the full run (about 15 minutes on 2 cores)
  python -m benchmarks --quick         # about 3 minutes, for iteration
  python -m benchmarks --json out.json --docs   # also write JSON and docs/BENCHMARKS.md + plots
  python -m benchmarks --cpu-modes pinned       # only with the load generator on a core of its own

Scenarios (--scenarios, comma separated): floor, classifier, stream (one client at 15 and 30 fps),
sweep (offered load up to saturation), overload (1.5, 2, 3 and 4x the saturation throughput),
replicas (2 detectors + 2 classifiers), monolith (the baseline: stream, sweep, overload 2x).
CPU modes (--cpu-modes): shared (stack and load generator on every core) and pinned (the stack on
all cores but the last, the load generator on the last); stream, sweep and overload run in each.
"""
from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

from benchmarks import report as rep
from benchmarks.cpus import MODES, CpuPlan
from benchmarks.scenarios import ALL, Plan, log, run_plan
from toolkit.samples import sample_frames

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def default_model() -> str | None:
    from sentivis.settings import get_settings

    path = get_settings().emotion_weights
    return path if Path(path).is_file() else None


def write_docs(report: dict, command: str, targets: list[dict], docs: Path) -> Path:
    images = rep.plots(report, docs)
    m = report["machine"]
    body = "\n".join([
        START,
        f"Run {report['started_at']} with `{command}` ({report['wall_s']} s).",
        "",
        f"- Machine: {m['cores']} cores, {m['cpu_model']}, Python {m['python']}, {m['platform']}.",
        f"- Load average (1, 5, 15 min) at the start: {', '.join(f'{v:.2f}' for v in m['load_avg_start'])}; "
        f"at the end: {', '.join(f'{v:.2f}' for v in m.get('load_avg_end', []))}.",
        f"- Emotion model: `{report['model']}`.",
        "",
        "```", rep.summary_text(report), "```",
        "", "### Targets", "", "| target | value | bound | |", "|---|---|---|---|",
        *[f"| {t['target']} | {t['value']} | {t['bound']} | {'met' if t['met'] else '**missed**'} |" for t in targets],
        "", "### All runs", "",
        "Times in ms; `fps` is achieved throughput (inference events per second); `dec`, `det`, `cls`, `queue` "
        "are medians of the server's stage split; `backlog` is the most frames waiting in a stream "
        "(consumer-group lag + pending); `CPU ms/frame` is the CPU time of all server processes per "
        "answered frame.", "",
        rep.md_table(rep.rows(report)), "",
        *[f"![{p.stem}]({p.name})" for p in images],
        END,
    ])
    path = docs / "BENCHMARKS.md"
    old = path.read_text() if path.is_file() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START in old and END in old:
        new = old[:old.index(START)] + body + old[old.index(END) + len(END):]
    else:
        new = old.rstrip() + "\n\n" + body + "\n"
    path.write_text(new)
    return path


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None, prog: str = "python -m benchmarks") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter steps and a 3-point sweep (~2 min)")
    parser.add_argument("--scenarios", default=",".join(ALL), help=f"comma separated, of: {', '.join(ALL)}")
    parser.add_argument("--model", help="emotion model (default: SENTIVIS_EMOTION_WEIGHTS, the shipped model)")
    parser.add_argument("--seconds", type=float, help="length of every load step (overrides the plan)")
    parser.add_argument("--stream-fps", default=None, help="the one-client rates, comma separated (default 15,30)")
    parser.add_argument("--cpu-modes", default=",".join(MODES),
                        help=f"comma separated, of: {', '.join(MODES)} (default: both)")
    parser.add_argument("--json", type=Path, help="write the full report as JSON here")
    parser.add_argument("--docs", action="store_true", help="write docs/BENCHMARKS.md and its PNG plots")
    parser.add_argument("--docs-dir", type=Path, default=DOCS, help=argparse.SUPPRESS)
    parser.add_argument("--log-dir", type=Path, help="service logs (default: a temporary folder)")
    parser.add_argument("--services-root", type=Path,
                        help="run the services from this checkout instead (to measure a change before/after)")
    parser.add_argument("--socketio-path", help="the Socket.IO path of the services' gateway (an older checkout's "
                                                   "one path, e.g. socket.io; default: the MessagePack endpoint)")
    args = parser.parse_args(argv)

    if args.services_root or args.socketio_path:
        from benchmarks import scenarios

        scenarios.SERVICES_ROOT = (args.services_root or scenarios.SERVICES_ROOT).resolve()
        if args.socketio_path:
            scenarios.CLIENT_OPTIONS["socketio_path"] = args.socketio_path
    scenarios = tuple(s.strip() for s in args.scenarios.split(",") if s.strip())
    unknown = set(scenarios) - set(ALL)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(ALL)}")
    plan = Plan.quick(scenarios) if args.quick else Plan.full(scenarios)
    plan.cpu_modes = tuple(m.strip() for m in args.cpu_modes.split(",") if m.strip())
    for mode in plan.cpu_modes:
        try:
            CpuPlan.for_mode(mode)
        except ValueError as exc:
            parser.error(str(exc))
    if args.seconds:
        plan.stream_s = plan.step_s = plan.overload_s = args.seconds
    if args.stream_fps:
        plan.stream_fps = tuple(float(v) for v in args.stream_fps.split(","))
    model = args.model or default_model()
    if model is None:
        log("no emotion model file: classifiers run without one (emotion null, no classify cost)")
    elif not Path(model).is_file():
        parser.error(f"no model file at {model}")

    # SIGTERM (a timeout, Ctrl-C from a supervisor) unwinds like Ctrl-C, so every stack is stopped:
    # the services run in their own sessions and would otherwise outlive the benchmark.
    signal.signal(signal.SIGTERM, _interrupt)
    frames = sample_frames()
    with tempfile.TemporaryDirectory(prefix="sentivis-bench-") as tmp:
        log_dir = args.log_dir or Path(tmp)
        report = run_plan(plan, frames, model, log_dir)
    targets = rep.targets(report)
    report["targets"] = targets
    print()
    print(rep.summary_text(report))
    print()
    print(rep.text_table(rep.rows(report)))
    print()
    print(rep.targets_text(targets))
    command = f"{prog} " + " ".join(argv if argv is not None else sys.argv[1:])
    report["command"] = command.strip()
    if args.json:
        rep.write_json(report, args.json)
        log(f"wrote {args.json}")
    if args.docs:
        log(f"wrote {write_docs(report, command.strip(), targets, args.docs_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
