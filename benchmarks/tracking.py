"""`python -m benchmarks.tracking`: face trackers on scripted sequences seen by the real detector.

  python -m benchmarks.tracking                      # 3 seeds, prints the tables (about 2 minutes)
  python -m benchmarks.tracking --seeds 1            # quicker
  python -m benchmarks.tracking --json out.json --docs   # also write JSON and the tables in docs/TRACKING.md

Each tracker sees the same recordings (benchmarks/sequences.py) and is scored with motmetrics
(ID switches, IDF1, MOTA against the scripted ground truth), plus two numbers of the emotion
shown: label changes per minute on faces whose expression does not change (flicker), and frames
from a real change of expression until the label shown is the new one and holds for 1 s. Last,
what tracking costs as the gateway runs it (integration_cost): message bytes, decode, the call.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import timeit
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from benchmarks.sequences import FPS, Recording, record_all
from sentivis.labels import EMOTIONS
from sentivis.tracking import EmotionSmoother, PersonTracker, TrackerConfig, appearance, appearance_distance, iou

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "TRACKING.md"
START, END = "<!-- tracking-results:start -->", "<!-- tracking-results:end -->"
HOLD = FPS  # a label has followed a change once it holds this many frames


class Tracker(Protocol):
    def update(self, faces: list[dict], timestamp_ms: float) -> list[dict]: ...


# --- the candidates -----------------------------------------------------------------------------

class Greedy:
    """The tracker the gateway had until PersonTracker: greedy IoU matching (at least 0.3), an id
    forgotten after 5 missed frames, an exponential average of 0.35 per frame, label = argmax.
    Kept here only as the baseline the benchmark and tests/tracking compare against."""

    def __init__(self, alpha: float = 0.35, min_iou: float = 0.3, max_missed: int = 5):
        self.alpha, self.min_iou, self.max_missed = alpha, min_iou, max_missed
        self.tracks: list[dict[str, Any]] = []  # {"id", "box", "smoothed", "missed"}
        self.next_id = 1

    def update(self, faces, timestamp_ms=None):
        pairs = sorted(((iou(t["box"], f["box"]), ti, fi) for ti, t in enumerate(self.tracks)
                        for fi, f in enumerate(faces)), reverse=True)
        track_of: dict[int, dict[str, Any]] = {}
        used: set[int] = set()
        for overlap, ti, fi in pairs:
            if overlap < self.min_iou:
                break
            if ti not in used and fi not in track_of:
                used.add(ti)
                track_of[fi] = self.tracks[ti]
        for ti, track in enumerate(self.tracks):
            track["missed"] += ti not in used
        self.tracks = [t for t in self.tracks if t["missed"] <= self.max_missed]
        out = []
        for fi, face in enumerate(faces):
            track = track_of.get(fi)
            if track is None:
                track = {"id": self.next_id, "smoothed": None}
                self.next_id += 1
                self.tracks.append(track)
            track["box"], track["missed"] = face["box"], 0
            result = {k: v for k, v in face.items() if k != "appearance"}
            out.append({**result, "id": track["id"], "emotion": self._smooth(track, face.get("emotion"))})
        return out

    def _smooth(self, track: dict[str, Any], emotion: dict[str, Any] | None) -> dict[str, Any] | None:
        if emotion is None:
            track["smoothed"] = None
            return None
        raw = np.array([emotion["probabilities"][label] for label in EMOTIONS], dtype=np.float64)
        mean = raw if track["smoothed"] is None else self.alpha * raw + (1 - self.alpha) * track["smoothed"]
        track["smoothed"] = mean
        best = int(mean.argmax())
        return {"label": EMOTIONS[best], "confidence": round(float(mean[best]), 4),
                "probabilities": {label: round(float(p), 4) for label, p in zip(EMOTIONS, mean)},
                "raw": {"label": emotion["label"], "confidence": emotion["confidence"],
                        "probabilities": emotion["probabilities"]}}


class MotionOnly:
    """PersonTracker without appearance vectors (as for older result messages)."""

    def __init__(self):
        self.tracker = PersonTracker()

    def update(self, faces, timestamp_ms):
        return self.tracker.update([{k: v for k, v in f.items() if k != "appearance"} for f in faces], timestamp_ms)


class NorfairReid:
    """norfair's own re-identification: a new track is merged into a lost one with the same
    look once it has been seen twice (initialization_delay 1); faces still initializing have no id."""

    def __init__(self, config: TrackerConfig | None = None):
        import norfair

        self.config = config or TrackerConfig(fps=FPS)  # it counts frames: its clock is the frame rate
        self.tracker = norfair.Tracker(
            distance_function="iou", distance_threshold=1 - self.config.min_iou,
            hit_counter_max=self.config.ticks(self.config.max_coast_s), initialization_delay=1,
            past_detections_length=0,
            reid_distance_function=lambda new, old: appearance_distance(new.last_detection.embedding,
                                                                        old.last_detection.embedding),
            reid_distance_threshold=self.config.reid_distance,
            reid_hit_counter_max=self.config.ticks(self.config.max_absence_s - self.config.max_coast_s))
        self.smoothers: dict[int, EmotionSmoother] = {}

    def update(self, faces, timestamp_ms):
        import norfair

        detections = [norfair.Detection(np.array([[f["box"]["x"], f["box"]["y"]],
                                                  [f["box"]["x"] + f["box"]["width"], f["box"]["y"] + f["box"]["height"]]],
                                                 dtype=np.float64),
                                        embedding=np.asarray(f["appearance"], np.float32), data=i)
                      for i, f in enumerate(faces)]
        self.tracker.update(detections)
        out = []
        for obj in self.tracker.tracked_objects:
            if obj.id is None or all(obj.last_detection is not d for d in detections):
                continue
            face = {k: v for k, v in faces[obj.last_detection.data].items() if k != "appearance"}
            smoother = self.smoothers.setdefault(obj.id, EmotionSmoother(self.config.smoothing_s, self.config.hysteresis))
            out.append({**face, "id": obj.id, "emotion": smoother.update(face.get("emotion"), 1 / FPS)})
        return out


class Chosen:
    """PersonTracker as shipped: norfair with appearance in matching and re-identification."""

    def __init__(self, config: TrackerConfig | None = None):
        self.tracker = PersonTracker(config)

    def update(self, faces, timestamp_ms):
        return self.tracker.update(faces, timestamp_ms)


CANDIDATES: dict[str, Callable[[], Tracker]] = {
    "greedy IoU (old)": Greedy,
    "norfair, motion only": MotionOnly,
    "norfair + its ReID": NorfairReid,
    "norfair + appearance (chosen)": Chosen,
}


# --- scoring ------------------------------------------------------------------------------------

def _xywh(box: dict[str, float]) -> list[float]:
    return [box["x"], box["y"], box["width"], box["height"]]


def run(recording: Recording, tracker: Tracker) -> tuple[list[list[dict]], float]:
    """The tracker's output for every frame, and the seconds it spent."""
    outputs, spent = [], 0.0
    for frame in recording.frames:
        faces = [dict(f) for f in frame.faces]
        start = time.perf_counter()
        outputs.append(tracker.update(faces, frame.timestamp_ms))
        spent += time.perf_counter() - start
    return outputs, spent


def matches(recording: Recording, outputs: list[list[dict]]):
    """motmetrics accumulator of the recording, and per frame {actor: output face} of the matches."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for frame, out in zip(recording.frames, outputs):
        gt = np.array([[b[0], b[1], b[2] - b[0], b[3] - b[1]] for _, b in frame.truth]).reshape(-1, 4)
        hyp = np.array([_xywh(f["box"]) for f in out]).reshape(-1, 4)
        acc.update([a for a, _ in frame.truth], [f["id"] for f in out], mm.distances.iou_matrix(gt, hyp, max_iou=0.5))
    per_frame: list[dict[int, dict]] = [{} for _ in recording.frames]
    events = acc.mot_events
    for (frame_id, _), row in events[events.Type.isin(["MATCH", "SWITCH"])].iterrows():
        out = outputs[frame_id]
        per_frame[frame_id][int(row.OId)] = next(f for f in out if f["id"] == row.HId)
    return acc, per_frame


def shared_ids(per_frame) -> int:
    """Ids shown for more than one person over a recording (a swap, or a newcomer taken for
    someone who left): each such id counts once per extra person."""
    people: dict[Any, set[int]] = defaultdict(set)
    for m in per_frame:
        for actor, face in m.items():
            people[face["id"]].add(actor)
    return sum(len(a) - 1 for a in people.values())


def kept_ids(per_frame) -> tuple[int, int]:
    """(people who end the recording with the id they were first given, people seen)."""
    first: dict[int, Any] = {}
    last: dict[int, Any] = {}
    for m in per_frame:
        for actor, face in m.items():
            first.setdefault(actor, face["id"])
            last[actor] = face["id"]
    return sum(first[a] == last[a] for a in first), len(first)


def flicker_changes(recording: Recording, outputs: list[list[dict]], per_frame) -> tuple[int, int]:
    """(label changes, face-frames) over the tracks of actors whose expression is constant."""
    changing = {i for i, a in enumerate(recording.scenario.actors) if a.switch}
    excluded = {f["id"] for m in per_frame for actor, f in m.items() if actor in changing}
    last: dict[int, str] = {}
    changes = frames = 0
    for out in outputs:
        for face in out:
            if face["id"] in excluded or face["emotion"] is None:
                continue
            frames += 1
            label = face["emotion"]["label"]
            changes += face["id"] in last and last[face["id"]] != label
            last[face["id"]] = label
    return changes, frames


def follow_delay(recording: Recording, per_frame, key: str = "label") -> int | None:
    """Frames from the change of expression until the label shown for that actor is the new
    face's and holds for HOLD frames; None if it never does. key "raw" reads the model's own."""
    target = recording.change_target()
    if target is None:
        return None
    actor, at, label = target
    shown = []
    for index in range(at, len(recording.frames)):
        face = per_frame[index].get(actor)
        emotion = face and face["emotion"]
        shown.append(None if not emotion else (emotion["raw"]["label"] if key == "raw" else emotion["label"]))
    for start in range(len(shown) - HOLD + 1):
        if all(s == label for s in shown[start:start + HOLD]):
            return start
    return None


def evaluate(recordings: list[Recording], make: Callable[[], Tracker]) -> dict[str, Any]:
    """Every metric of one tracker over the recordings."""
    import motmetrics as mm

    accs, names, changes, frames, delays, raw_delays, spent, faces, shared = [], [], 0, 0, [], [], 0.0, 0, 0
    kept = people = 0
    per_scenario: dict[str, dict[str, int]] = defaultdict(lambda: {"switches": 0, "shared": 0})
    for rec in recordings:
        outputs, seconds = run(rec, make())
        # Tracking is deterministic: the best of three replays is its time on a loaded machine.
        spent += min(seconds, *(run(rec, make())[1] for _ in range(2)))
        faces += sum(len(f.faces) for f in rec.frames)
        acc, per_frame = matches(rec, outputs)
        accs.append(acc)
        names.append(f"{rec.scenario.name}/{rec.seed}")
        k, n_people = kept_ids(per_frame)
        kept, people = kept + k, people + n_people
        n_shared = shared_ids(per_frame)
        shared += n_shared
        per_scenario[rec.scenario.name]["shared"] += n_shared
        c, n = flicker_changes(rec, outputs, per_frame)
        changes, frames = changes + c, frames + n
        if rec.change_target():
            delays.append(follow_delay(rec, per_frame))
            raw_delays.append(follow_delay(rec, per_frame, key="raw"))
    mh = mm.metrics.create()
    summary = mh.compute_many(accs, names=names, metrics=["num_switches", "idf1", "mota", "num_fragmentations"],
                              generate_overall=True)
    for name, row in summary.iterrows():
        if name != "OVERALL":
            per_scenario[name.split("/")[0]]["switches"] += int(row.num_switches)
    overall = summary.loc["OVERALL"]
    followed = [d for d in delays if d is not None]
    return {
        "id_switches": int(overall.num_switches), "idf1": round(float(overall.idf1), 4),
        "mota": round(float(overall.mota), 4), "fragmentations": int(overall.num_fragmentations),
        "shared_ids": shared, "kept_own_id": [kept, people],
        "flicker_per_min": round(changes / (frames / FPS / 60), 2) if frames else None,
        "follow_frames": {"median": statistics.median(followed) if followed else None,
                          "max": max(followed) if followed else None, "never": len(delays) - len(followed),
                          "model_alone_median": statistics.median([d for d in raw_delays if d is not None] or [0])},
        "us_per_face": round(spent / max(1, faces) * 1e6, 1),
        "switches_by_scenario": {k: v["switches"] for k, v in sorted(per_scenario.items())},
        "shared_by_scenario": {k: v["shared"] for k, v in sorted(per_scenario.items())},
    }


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
        result = evaluate(recordings, lambda: Chosen(TrackerConfig(smoothing_s=tau, hysteresis=margin)))
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
                    for face, crop in zip(frame.faces, frame.crops):
                        truth = [[box[0], box[1], box[2] - box[0], box[3] - box[1]]]
                        if mm.distances.iou_matrix(truth, [_xywh(face["box"])], max_iou=1.0)[0, 0] < 0.4:
                            vectors[rec.cast[rec.scenario.actors[actor].slot_at(frame.index)].row].append(fn(crop))
            people = list(vectors.values())
            for i, a in enumerate(people):
                for x in range(0, len(a) - 1, 2):
                    same.append(appearance_distance(a[x], a[x + 1]))
                for b in people[i + 1:]:
                    for x, y in zip(a[::2], b[::2]):
                        other.append(appearance_distance(x, y))
        crop = recordings[0].frames[0].crops[0]
        us = min(timeit.repeat(lambda: fn(crop), number=500, repeat=5)) / 500 * 1e6  # best of 5: a loaded machine
        same_a, other_a = np.array(same), np.array(other)
        auc = float((same_a[:, None] < other_a[None, :]).mean()) if len(same) and len(other) else float("nan")
        results[name] = {"dims": int(fn(crop).size), "us_per_crop": round(us, 1),
                         "same_p95": round(float(np.percentile(same_a, 95)), 3),
                         "other_p5": round(float(np.percentile(other_a, 5)), 3), "auc": round(auc, 4),
                         "pairs": [len(same), len(other)]}
    return results


# --- the cost as integrated ---------------------------------------------------------------------

def integration_cost(recordings: list[Recording]) -> dict[str, Any]:
    """What tracking adds to the gateway, on the recordings' faces as result messages carry them:
    bytes per face of a result message (the appearance as float16 bytes, as chosen, or as a list
    of floats, or none), the gateway's decode of it per face, and the tracker call as the gateway
    makes it (gateway.broker.tracked_faces, on the decoded message) per face and per frame without
    faces."""
    import msgpack

    from gateway.broker import tracked_faces
    from sentivis.protocol import APPEARANCE_DTYPE, FrameMessage, decode, encode

    def entry(faces: list[dict], form: str, at_ms: float = 0.0) -> dict[bytes, bytes]:
        if form == "none":
            faces = [{k: v for k, v in f.items() if k != "appearance"} for f in faces]
        message = FrameMessage("bench", "sid", 0, at_ms / 1000, 320, 240, faces=faces)
        if form != "list":
            return {k.encode(): v for k, v in encode(message).items()}
        meta = message.to_meta()  # the alternative not taken: msgpack has no float16, each number takes 9 bytes
        meta["faces"] = [{**f, "appearance": np.frombuffer(f["appearance"], APPEARANCE_DTYPE).tolist()}
                         for f in meta["faces"]]
        return {b"meta": msgpack.packb(meta, use_bin_type=True), b"data": b""}

    frames = [f for r in recordings for f in r.frames]
    faces = sum(len(f.faces) for f in frames)
    entries = {form: [entry(f.faces, form) for f in frames] for form in ("none", "bytes", "list")}
    empty = len(entry([], "none")[b"meta"]) * len(frames)
    size = {form: sum(len(e[b"meta"]) for e in es) for form, es in entries.items()}

    def unpack_all(form: str) -> None:
        """The entries back to faces with an appearance array, as the tracker takes it."""
        to_array = {"bytes": lambda v: np.frombuffer(v, APPEARANCE_DTYPE), "list": lambda v: np.asarray(v, np.float32),
                    "none": None}[form]
        for e in entries[form]:
            for f in msgpack.unpackb(e[b"meta"], raw=False)["faces"]:
                if to_array:
                    f["appearance"] = to_array(f["appearance"])

    decode_s = {form: min(timeit.repeat(lambda: unpack_all(form), number=1, repeat=5)) for form in entries}

    def tracking_s(with_faces: bool) -> float:
        """The best of three replays (a loaded machine) of every recording, decoded as the gateway does."""
        replays = []
        for _ in range(3):
            spent = 0.0
            for rec in recordings:
                tracker = PersonTracker()
                for frame in rec.frames:
                    message, _ = decode(entry(frame.faces if with_faces else [], "bytes", frame.timestamp_ms))
                    start = time.perf_counter()
                    tracked_faces(tracker, message)
                    spent += time.perf_counter() - start
            replays.append(spent)
        return min(replays)

    return {"faces": faces, "frames": len(frames),
            "bytes_per_face": {form: round((n - empty) / faces, 1) for form, n in size.items()},
            "decode_us_per_face": {form: round((decode_s[form] - decode_s["none"]) / faces * 1e6, 1)
                                   for form in ("bytes", "list")},
            "track_us_per_face": round(tracking_s(True) / faces * 1e6, 1),
            "track_us_per_empty_frame": round(tracking_s(False) / len(frames) * 1e6, 1)}


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
        lines.append(f"| {s} | " + " | ".join(str(r["switches_by_scenario"][s]) for r in results["trackers"].values()) + " |")
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
    print(f"\nAs integrated (docs/TRACKING.md, Callers): {cost['bytes_per_face']['bytes'] - cost['bytes_per_face']['none']:.0f} "
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
