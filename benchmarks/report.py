"""The benchmark's outputs: the terminal table, the targets, JSON, docs/BENCHMARKS.md and its plots."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MAX_IN_FLIGHT = 2  # the gateway's default cap per connection: the bound on each stream's backlog
# frame_error codes given before a frame is queued: refused, not dropped after costing the pipeline
REFUSED_AT_GATEWAY = ("overloaded", "too_many_in_flight", "rate_limited")


# Saturation efficiency each CPU mode must reach: with the load generator on its own core the
# stack is measured alone; shared, the generator's CPU comes out of the stack's.
EFFICIENCY_TARGET = {"shared": 0.5, "pinned": 0.6}
GOODPUT_KEPT = 0.9  # of the peak, at the highest overload
RTT_P95_MS = 250.0


def find(report: dict, stack: str, label: str, mode: str = "shared") -> list[dict]:
    return [s for s in report["scenarios"]
            if s["stack"] == stack and s["label"] == label and s.get("mode", "shared") == mode]


def load_steps(report: dict, stack: str, mode: str, adaptive: bool = False) -> list[dict]:
    """The sweep and overload steps of one stack and mode, by offered load: from open-loop clients
    (the sweep too), or from clients that adapt their rate as the page does."""
    def wanted(label: str) -> bool:
        if adaptive:
            return label.endswith("-adaptive")
        return label == "sweep" or (label.startswith("overload-") and not label.endswith("-adaptive"))

    return sorted((s for s in report["scenarios"] if s["stack"] == stack and s.get("mode", "shared") == mode
                   and wanted(s["label"])), key=lambda s: s["offered_fps"])


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue: its figure, the bound, met or not."""
    out = []

    def add(name: str, value, bound: str, met: bool | None) -> None:
        out.append({"target": name, "value": value, "bound": bound, "met": met})

    stack = "sentivis-d1-c1"
    for mode, summary in (report.get("modes") or {}).items():
        for s in find(report, stack, "stream-30fps", mode)[:1]:
            st = s["stages_ms"]["server_ms"]
            add(f"{mode}: 30 fps stream: server_ms median", st["p50"], "<= 10 ms",
                st["p50"] is not None and st["p50"] <= 10)
            add(f"{mode}: 30 fps stream: server_ms p99", st["p99"], "<= 30 ms",
                st["p99"] is not None and st["p99"] <= 30)
            add(f"{mode}: 30 fps stream: frames dropped", s["dropped"], "0", s["dropped"] == 0)
        sat, ideal = summary.get("saturation_fps"), summary.get("ideal_fps")
        if sat is not None and ideal:
            eff = round(sat / ideal, 3)
            summary["efficiency"] = eff
            bound = EFFICIENCY_TARGET.get(mode, 0.5)
            add(f"{mode}: saturation efficiency (fps / ({len(summary['stack_cpus'])} stack cores / floor s))", eff,
                f">= {bound}", eff >= bound)
        every = load_steps(report, stack, mode) + load_steps(report, stack, mode, adaptive=True)
        peak = max((s["throughput_fps"] for s in every), default=0.0)
        for adaptive, clients in ((False, "open-loop clients"), (True, "clients adapting as the page does")):
            steps = load_steps(report, stack, mode, adaptive)
            if steps:
                worst = max(steps, key=lambda s: s["rtt_ms"]["p95"] or float("inf"))
                p95 = worst["rtt_ms"]["p95"]
                add(f"{mode}, {clients}: round trip p95 at every load (worst: {worst['offered_fps']:g} fps offered)",
                    p95, f"<= {RTT_P95_MS:g} ms", p95 is not None and p95 <= RTT_P95_MS)
            overloads = [s for s in steps if s["label"].startswith("overload-")]
            if not overloads:
                continue
            top = overloads[-1]
            kept = round(top["throughput_fps"] / peak, 3) if peak else 0.0
            add(f"{mode}, {clients}: goodput at {top['label'][9:].split('-')[0]} saturation / peak goodput "
                f"({top['throughput_fps']:g} / {peak:g} fps)", kept, f">= {GOODPUT_KEPT}", kept >= GOODPUT_KEPT)
            streams = top.get("streams") or {}
            bound = top["clients"] * MAX_IN_FLIGHT
            backlog = max(streams.get("frames_backlog_max", 0), streams.get("faces_backlog_max", 0))
            add(f"{mode}: {top['label']}: stream backlog max (frames)", backlog,
                f"<= clients x in-flight cap = {bound}", backlog <= bound)
            add(f"{mode}: {top['label']}: every frame answered", f"{top['dropped']} refused or dropped, "
                f"{top['unanswered']} unanswered", "0 unanswered", top["unanswered"] == 0)
    shared = (report.get("modes") or {}).get("shared") or {}
    mono = report.get("saturation_fps_monolith")
    if shared.get("saturation_fps") is not None and mono:
        ratio = round(shared["saturation_fps"] / mono, 3)
        report["vs_monolith"] = ratio
        add("shared: saturation throughput / monolith's", ratio, ">= 0.8", ratio >= 0.8)
    return out


def rows(report: dict[str, Any]) -> list[list[str]]:
    head = ["mode", "stack", "scenario", "clients", "offered", "sent", "fps", "rtt p50", "p95", "p99", "server p50",
            "p99", "dec", "det", "cls", "queue", "refused", "dropped", "backlog", "CPU ms/frame", "client"]
    table = [head]
    fmt = lambda v: "-" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v))  # noqa: E731
    for s in report["scenarios"]:
        st = s["stages_ms"]
        streams = s.get("streams") or {}
        backlog = max(streams.get("frames_backlog_max", 0), streams.get("faces_backlog_max", 0)) if streams else None
        per_frame = s["cpu"]["cpu_ms_per_frame"]
        cpu = sum(v for k, v in per_frame.items() if k != "load-generator")
        refused = sum(n for code, n in s["frame_errors"].items() if code in REFUSED_AT_GATEWAY)
        table.append([s.get("mode", "shared"), s["stack"], s["label"], str(s["clients"]), fmt(s["offered_fps"]),
                      fmt(s.get("sent_fps")), fmt(s["throughput_fps"]),
                      fmt(s["rtt_ms"]["p50"]), fmt(s["rtt_ms"]["p95"]), fmt(s["rtt_ms"]["p99"]),
                      fmt(st["server_ms"]["p50"]), fmt(st["server_ms"]["p99"]), fmt(st["decode_ms"]["p50"]),
                      fmt(st["detect_ms"]["p50"]), fmt(st["classify_ms"]["p50"]), fmt(st["queue_ms"]["p50"]),
                      str(refused), f"{s['dropped'] - refused}/{s['sent']}", fmt(backlog), fmt(round(cpu, 2)),
                      fmt(per_frame.get("load-generator"))])
    return table


def text_table(table: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in table)


def md_table(table: list[list[str]]) -> str:
    lines = ["| " + " | ".join(table[0]) + " |", "|" + "---|" * len(table[0])]
    lines += ["| " + " | ".join(r) + " |" for r in table[1:]]
    return "\n".join(lines)


def summary_text(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [f"machine: {m['cores']} cores, {m['cpu_model']}, load average at start {m['load_avg_start'][0]:.2f}, "
             f"at end {m.get('load_avg_end', [0])[0]:.2f}", f"model: {report['model']}"]
    if "floor" in report:
        f = report["floor"]
        lines.append(f"compute floor: {f['floor_ms_per_frame']} ms per frame (CPU {f['cpu_ms_per_frame']} ms) "
                     f"-> ideal {report['ideal_fps']} fps on {m['cores']} cores; per frame {f['per_frame_ms']}, "
                     f"faces found {f['faces_detected']}")
    for c in report.get("classifier") or []:
        lines.append(f"classifier, {c['threads']} thread(s): batch 1 {c['batch1_faces_per_s']} faces/s "
                     f"({c['batch1_ms_per_face']} ms/face), batch 32 {c['batch32_faces_per_s']} faces/s")
    for mode, summary in (report.get("modes") or {}).items():
        if "saturation_fps" in summary:
            lines.append(f"saturation throughput, sentivis 1 detector + 1 classifier, {mode} (stack on cores "
                         f"{summary['stack_cpus']}, load generator on {summary['load_cpus']}): "
                         f"{summary['saturation_fps']} fps of an ideal {summary['ideal_fps']}")
    for key, name in (("saturation_fps_2x2", "sentivis 2 detectors + 2 classifiers, shared"),
                      ("saturation_fps_monolith", "monolith, shared")):
        if key in report:
            lines.append(f"saturation throughput, {name}: {report[key]} fps")
    return "\n".join(lines)


def targets_text(items: list[dict[str, Any]]) -> str:
    return "\n".join(f"[{'MET' if t['met'] else 'MISSED'}] {t['target']}: {t['value']} (target {t['bound']})"
                     for t in items)


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))


def plots(report: dict[str, Any], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s in report["scenarios"]:
        if s["label"] == "sweep" or not s.get("rtt_samples_ms"):
            continue
        v = np.sort(np.asarray(s["rtt_samples_ms"]))
        ax.plot(v, np.arange(1, len(v) + 1) / len(v),
                label=f"{s.get('mode', 'shared')} {s['stack']} {s['label']} ({s['offered_fps']:g} fps)")
    ax.set_xscale("log")
    ax.set_xlabel("client round trip (ms, log scale)")
    ax.set_ylabel("fraction of frames")
    ax.set_title("Round-trip latency CDF")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out_dir / "bench-latency-cdf.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    made.append(path)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for stack, mode in dict.fromkeys((s["stack"], s.get("mode", "shared")) for s in report["scenarios"]):
        for adaptive in (False, True):
            steps = load_steps(report, stack, mode, adaptive)
            if not steps:
                continue
            x = [s["offered_fps"] for s in steps]
            name = f"{mode} {stack}" + (" (adaptive clients)" if adaptive else "")
            style = "s--" if adaptive else "o-"
            ax1.plot(x, [s["throughput_fps"] for s in steps], style, label=name)
            ax2.plot(x, [s["rtt_ms"]["p95"] or np.nan for s in steps], style, label=name)
    top = max([s["offered_fps"] for s in report["scenarios"]] + [1])
    ax1.plot([0, top], [0, top], ":", color="grey", label="throughput = offered")
    for mode, summary in (report.get("modes") or {}).items():
        ax1.axhline(summary["ideal_fps"], ls="--", lw=0.8, color="k" if mode == "shared" else "grey",
                    label=f"compute floor, {mode} ({len(summary['stack_cpus'])} cores / floor s)")
    ax1.set_xlabel("offered load (frames/s)")
    ax1.set_ylabel("achieved throughput (inferences/s)")
    ax1.set_title("Throughput against offered load")
    ax1.legend(fontsize=7)
    ax1.grid(alpha=0.3)
    ax2.axhline(RTT_P95_MS, ls="--", color="r", lw=0.8, label=f"target {RTT_P95_MS:g} ms")
    ax2.set_yscale("log")
    ax2.set_xlabel("offered load (frames/s)")
    ax2.set_ylabel("round trip p95 (ms, log scale)")
    ax2.set_title("p95 latency against offered load")
    ax2.legend(fontsize=7)
    ax2.grid(alpha=0.3, which="both")
    fig.tight_layout()
    path = out_dir / "bench-throughput.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    made.append(path)
    return made
