"""`python -m benchmarks.tracking`: face trackers on scripted sequences seen by the real detector.

  python -m benchmarks.tracking                      # 3 seeds, prints the tables (about 2 minutes)
  python -m benchmarks.tracking --seeds 1            # quicker
  python -m benchmarks.tracking --json out.json --docs   # also write JSON and the tables in docs/TRACKING.md

Each tracker sees the same recordings (toolkit/sequences.py) and is scored as toolkit/tracking_eval.py
says (motmetrics against the scripted ground truth, flicker, following a change of expression); then
the smoothing alternatives, the appearance cue against a gradient histogram, and what tracking costs
as the gateway runs it.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import timeit
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from sentivis.tracking.appearance import appearance, appearance_distance
from sentivis.tracking.config import TrackerConfig
from toolkit.sequences import Recording, record_all
from toolkit.tracking_eval import CANDIDATES, Chosen, _xywh, evaluate, integration_cost

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "TRACKING.md"
START, END = "<!-- tracking-results:start -->", "<!-- tracking-results:end -->"


# --- the smoothing and the appearance cue --------------------------------------------------------

SMOOTHING = {  # (smoothing_s, hysteresis)
    "none (the model's own label)": (0.0, 0.0),
    "EMA 0.155 s (old: 0.35 per frame at 15 fps)": (0.155, 0.0),
    "EMA 0.155 s + hysteresis 0.1 (chosen)": (0.155, 0.1),
    "EMA 0.3 s": (0.3, 0.0),
    "EMA 0.1 s + hysteresis 0.15": (0.1, 0.15),
}


def smoothing_table(recordings: list[Recording]) -> dict[str, dict[str, Any]]:
    """The chosen tracker with other smoothing settings: flicker against delay."""
    rows = {}
    for name, (tau, margin) in SMOOTHING.items():
        result = evaluate(recordings, lambda tau=tau, margin=margin: Chosen(TrackerConfig(smoothing_s=tau,
                                                                                          hysteresis=margin)))
        rows[name] = {"flicker_per_min": result["flicker_per_min"], "follow_frames": result["follow_frames"]}
    return rows


# --- the appearance cue -------------------------------------------------------------------------

def gradient_histogram(crop: np.ndarray) -> np.ndarray:
    """The alternative tried: 8-bin gradient orientation histograms of 4x4 cells (HOG-like, 128 numbers)."""
    g = crop[4:44, 4:44].astype(np.float32)
    gx, gy = np.zeros_like(g), np.zeros_like(g)
    gx[:, 1:-1], gy[1:-1, :] = g[:, 2:] - g[:, :-2], g[2:, :] - g[:-2, :]
    bins = (np.arctan2(gy, gx) % np.pi * (8 / np.pi)).astype(np.int32) % 8
    cell = np.arange(40) // 10
    index = (cell[:, None] * 4 + cell[None, :]) * 8 + bins
    hist = np.sqrt(np.bincount(index.ravel(), weights=np.hypot(gx, gy).ravel(), minlength=128))
    return (hist / max(1e-6, float(np.linalg.norm(hist)))).astype(np.float32)


def appearance_study(recordings: list[Recording]) -> dict[str, dict[str, float]]:
    """How well each cue tells people apart on the recordings' own crops: distances between crops
    of the same actor vs of different actors (unoccluded crops matched to the ground truth), the
    ROC AUC, and the microseconds per crop."""
    import motmetrics as mm

    results = {}
    for name, fn in {"8x8 patch (chosen)": appearance, "gradient histogram": gradient_histogram}.items():
        same, other = [], []
        for rec in recordings:
            vectors: dict[int, list[np.ndarray]] = defaultdict(list)
            for frame in rec.frames[::3]:
                for actor, box in frame.truth:
                    for face, crop in zip(frame.faces, frame.crops, strict=True):
                        truth = [[box[0], box[1], box[2] - box[0], box[3] - box[1]]]
                        if mm.distances.iou_matrix(truth, [_xywh(face.box)], max_iou=1.0)[0, 0] < 0.4:
                            vectors[rec.cast[rec.scenario.actors[actor].slot_at(frame.index)].row].append(fn(crop))
            people = list(vectors.values())
            for i, a in enumerate(people):
                for x in range(0, len(a) - 1, 2):
                    same.append(appearance_distance(a[x], a[x + 1]))
                for b in people[i + 1:]:
                    for x, y in zip(a[::2], b[::2], strict=False):
                        other.append(appearance_distance(x, y))
        crop = recordings[0].frames[0].crops[0]
        us = min(timeit.repeat(lambda fn=fn, crop=crop: fn(crop), number=500, repeat=5)) / 500 * 1e6  # best of 5
        same_a, other_a = np.array(same), np.array(other)
        auc = float((same_a[:, None] < other_a[None, :]).mean()) if len(same) and len(other) else float("nan")
        results[name] = {"dims": int(fn(crop).size), "us_per_crop": round(us, 1),
                         "same_p95": round(float(np.percentile(same_a, 95)), 3),
                         "other_p5": round(float(np.percentile(other_a, 5)), 3), "auc": round(auc, 4),
                         "pairs": [len(same), len(other)]}
    return results


# --- report -------------------------------------------------------------------------------------

def markdown(results: dict[str, Any]) -> str:
    lines = [f"Seeds {results['seeds']}: {results['recordings']} recordings, {results['frames']} frames, "
             f"{results['faces']} detected faces; detector {results['detect_ms']:.2f} ms per frame "
             f"(median, this machine, MediaPipe short range).", "",
             "| tracker | ID switches | IDF1 | MOTA | ids shown for 2 people | people ending with their first id "
             "| flicker / min | follow a change (frames, median / max) | µs per face |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results["trackers"].items():
        f = r["follow_frames"]
        never = f", {f['never']} never" if f["never"] else ""
        lines.append(f"| {name} | {r['id_switches']} | {r['idf1']:.3f} | {r['mota']:.3f} | {r['shared_ids']} "
                     f"| {r['kept_own_id'][0]} of {r['kept_own_id'][1]} | {r['flicker_per_min']} "
                     f"| {f['median']} / {f['max']}{never} | {r['us_per_face']} |")
    lines += ["", "ID switches by scenario:", "",
              "| scenario | " + " | ".join(results["trackers"]) + " |",
              "|---|" + "---:|" * len(results["trackers"])]
    scenarios = list(next(iter(results["trackers"].values()))["switches_by_scenario"])
    for s in scenarios:
        counts = (str(r["switches_by_scenario"][s]) for r in results["trackers"].values())
        lines.append(f"| {s} | " + " | ".join(counts) + " |")
    lines += ["", "Smoothing, on the chosen tracker (flicker on constant expressions; frames to follow a change, "
              f"median / max; the model alone needs {results['smoothing_model_alone']}):", "",
              "| smoothing | flicker / min | follow a change (frames) |", "|---|---:|---:|"]
    for name, r in results["smoothing"].items():
        f = r["follow_frames"]
        never = f", {f['never']} never" if f["never"] else ""
        lines.append(f"| {name} | {r['flicker_per_min']} | {f['median']} / {f['max']}{never} |")
    lines += ["", "Appearance cue (distances between crops of one face vs of two faces, on these recordings):", "",
              "| cue | numbers | µs per crop | same face, 95th pct | two faces, 5th pct | ROC AUC |",
              "|---|---:|---:|---:|---:|---:|"]
    for name, r in results["appearance"].items():
        lines.append(f"| {name} | {r['dims']} | {r['us_per_crop']} | {r['same_p95']} | {r['other_p5']} | {r['auc']} |")
    return "\n".join(lines)


def write_docs(table: str) -> None:
    text = DOC.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{DOC} has no {START} ... {END} block to fill")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{table}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tracking", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds (face picks and noise) to run, from 0")
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument("--docs", action="store_true", help=f"write the tables into {DOC.relative_to(REPO)}")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    recordings = [r for seed in range(args.seeds) for r in record_all(seed)]
    frames = [f for r in recordings for f in r.frames]
    results: dict[str, Any] = {
        "seeds": args.seeds, "recordings": len(recordings), "frames": len(frames),
        "faces": sum(len(f.faces) for f in frames),
        "detect_ms": statistics.median(f.detect_ms for f in frames),
        "trackers": {name: evaluate(recordings, make) for name, make in CANDIDATES.items()},
        "smoothing": smoothing_table(recordings),
        "appearance": appearance_study(recordings),
    }
    results["smoothing_model_alone"] = next(iter(results["trackers"].values()))["follow_frames"]["model_alone_median"]
    results["integration"] = integration_cost(recordings)
    table = markdown(results)
    print(table)
    cost = results["integration"]
    added = cost["bytes_per_face"]["bytes"] - cost["bytes_per_face"]["none"]
    print(f"\nAs integrated (docs/TRACKING.md, Callers): {added:.0f} "
          f"bytes more per face in a result message, decoded in {cost['decode_us_per_face']['bytes']} µs; "
          f"the gateway's tracker call {cost['track_us_per_face']} µs per face, "
          f"{cost['track_us_per_empty_frame']} µs per frame without faces.")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.docs:
        write_docs(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
