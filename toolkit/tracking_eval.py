"""Scoring face trackers on recorded sequences (toolkit/sequences.py): the candidates the tracking
benchmark compares (benchmarks/tracking.py) and tests/tracking holds to, and the metrics.

Each candidate takes a frame's faces as result messages carry them (sentivis.protocol.Face) and
answers dicts ("id", "box", "score", smoothed "emotion"), as an `inference` event's faces. Scored with
motmetrics (ID switches, IDF1, MOTA against the scripted ground truth), plus two numbers of the
emotion shown: label changes on faces whose expression does not change (flicker), and frames from a
real change of expression until the label shown is the new one and holds for 1 s. Last, what
tracking costs as the gateway runs it (integration_cost): message bytes, decode, the present stage.
"""
from __future__ import annotations

import statistics
import time
import timeit
from collections import defaultdict
from typing import Any, Callable, Protocol

import msgspec
import numpy as np

from sentivis.labels import EMOTIONS
from sentivis.protocol import APPEARANCE_DTYPE, Emotion, Face
from sentivis.tracking.appearance import appearance_distance
from sentivis.tracking.config import TrackerConfig
from sentivis.tracking.smoothing import EmotionSmoother
from sentivis.tracking.tracker import PersonTracker
from toolkit.samples import iou
from toolkit.sequences import FPS, Recording

HOLD = FPS  # a label has followed a change once it holds this many frames


class Tracker(Protocol):
    """faces as result messages carry them -> each with "id", "box", "score", smoothed "emotion" (dicts)."""

    def update(self, faces: list[Face], timestamp_ms: float) -> list[dict]: ...


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
        pairs = sorted(((iou(t["box"], f.box), ti, fi) for ti, t in enumerate(self.tracks)
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
            track["box"], track["missed"] = face.box, 0
            out.append({"box": msgspec.to_builtins(face.box), "score": face.score, "id": track["id"],
                        "emotion": self._smooth(track, face.emotion)})
        return out

    def _smooth(self, track: dict[str, Any], emotion: Emotion | None) -> dict[str, Any] | None:
        if emotion is None:
            track["smoothed"] = None
            return None
        raw = np.array([emotion.probabilities[label] for label in EMOTIONS], dtype=np.float64)
        mean = raw if track["smoothed"] is None else self.alpha * raw + (1 - self.alpha) * track["smoothed"]
        track["smoothed"] = mean
        best = int(mean.argmax())
        return {"label": EMOTIONS[best], "confidence": round(float(mean[best]), 4),
                "probabilities": {label: round(float(p), 4) for label, p in zip(EMOTIONS, mean, strict=True)},
                "raw": msgspec.to_builtins(emotion)}


class MotionOnly:
    """PersonTracker without appearance vectors (as for older result messages)."""

    def __init__(self):
        self.tracker = PersonTracker()

    def update(self, faces, timestamp_ms):
        return msgspec.to_builtins(self.tracker.update([msgspec.structs.replace(f, appearance=None) for f in faces],
                                                       timestamp_ms))


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

        detections = [norfair.Detection(np.array([[f.box.x, f.box.y], [f.box.x + f.box.width, f.box.y + f.box.height]],
                                                 dtype=np.float64),
                                        embedding=f.appearance_vector().astype(np.float32), data=i)
                      for i, f in enumerate(faces)]
        self.tracker.update(detections)
        out = []
        for obj in self.tracker.tracked_objects:
            if obj.id is None or all(obj.last_detection is not d for d in detections):
                continue
            face = faces[obj.last_detection.data]
            smoother = self.smoothers.setdefault(obj.id, EmotionSmoother(self.config.smoothing_s,
                                                                         self.config.hysteresis))
            out.append({"box": msgspec.to_builtins(face.box), "score": face.score, "id": obj.id,
                        "emotion": msgspec.to_builtins(smoother.update(face.emotion, 1 / FPS))})
        return out


class Chosen:
    """PersonTracker as shipped: norfair with appearance in matching and re-identification."""

    def __init__(self, config: TrackerConfig | None = None):
        self.tracker = PersonTracker(config)

    def update(self, faces, timestamp_ms):
        return msgspec.to_builtins(self.tracker.update(faces, timestamp_ms))


CANDIDATES: dict[str, Callable[[], Tracker]] = {
    "greedy IoU (old)": Greedy,
    "norfair, motion only": MotionOnly,
    "norfair + its ReID": NorfairReid,
    "norfair + appearance (chosen)": Chosen,
}


# --- scoring ------------------------------------------------------------------------------------

def _xywh(box) -> list[float]:
    """A box (a map, as the trackers answer, or a Box, as the pipeline finds it) as [x, y, w, h]."""
    if isinstance(box, dict):
        return [box["x"], box["y"], box["width"], box["height"]]
    return [box.x, box.y, box.width, box.height]


def run(recording: Recording, tracker: Tracker) -> tuple[list[list[dict]], float]:
    """The tracker's output for every frame, and the seconds it spent."""
    outputs, spent = [], 0.0
    for frame in recording.frames:
        faces = list(frame.faces)
        start = time.perf_counter()
        outputs.append(tracker.update(faces, frame.timestamp_ms))
        spent += time.perf_counter() - start
    return outputs, spent


def matches(recording: Recording, outputs: list[list[dict]]):
    """motmetrics accumulator of the recording, and per frame {actor: output face} of the matches."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for frame, out in zip(recording.frames, outputs, strict=True):
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



def integration_cost(recordings: list[Recording]) -> dict[str, Any]:
    """What tracking adds to the gateway, on the recordings' faces as result messages carry them:
    bytes per face of a result message (the appearance as float16 bytes, as chosen, or as a list
    of floats, or none), the gateway's decode of it per face, and the present stage as the gateway
    runs it (sentivis.stages.present, on the decoded message) per face and per frame without faces."""
    import msgpack

    from sentivis.protocol import FrameMessage, decode, encode
    from sentivis.stages.present import present

    def entry(faces: list[Face], form: str, at_ms: float = 0.0) -> dict[bytes, bytes]:
        if form == "none":
            faces = [msgspec.structs.replace(f, appearance=None) for f in faces]
        message = FrameMessage("bench", "sid", 0, at_ms / 1000, 320, 240, faces=faces)
        if form != "list":
            return {k.encode(): v for k, v in encode(message).items()}
        meta = msgspec.to_builtins(message)  # the alternative not taken: msgpack has no float16, 9 bytes a number
        for face, given in zip(meta["faces"], faces, strict=True):
            face["appearance"] = given.appearance_vector().tolist()
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

    decode_s = {form: min(timeit.repeat(lambda form=form: unpack_all(form), number=1, repeat=5)) for form in entries}

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
                    present(tracker, message, 0, start)
                    spent += time.perf_counter() - start
            replays.append(spent)
        return min(replays)

    return {"faces": faces, "frames": len(frames),
            "bytes_per_face": {form: round((n - empty) / faces, 1) for form, n in size.items()},
            "decode_us_per_face": {form: round((decode_s[form] - decode_s["none"]) / faces * 1e6, 1)
                                   for form in ("bytes", "list")},
            "track_us_per_face": round(tracking_s(True) / faces * 1e6, 1),
            "track_us_per_empty_frame": round(tracking_s(False) / len(frames) * 1e6, 1)}
