"""Face tracking: which person each face of a frame is, and that person's emotion over time.

`PersonTracker` (one per session: a connection, a video, a sequence of uploads) follows faces
with norfair's Kalman tracker, so ids survive crossings, and brings a face back to its own id
after it was hidden or out of view, by `appearance()` of its crop; emotions are smoothed by time
with hysteresis. docs/TRACKING.md has the method and the benchmark that chose it. The gateway
(one per browser connection, one per uploaded image) and the analyzer (one per file) use it.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sentivis.labels import EMOTIONS

if TYPE_CHECKING:
    from sentivis.settings import Settings


def iou(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Overlap of two boxes {"x", "y", "width", "height"}: intersection over union, 0..1."""
    ax2, ay2 = a["x"] + a["width"], a["y"] + a["height"]
    bx2, by2 = b["x"] + b["width"], b["y"] + b["height"]
    iw = max(0.0, min(ax2, bx2) - max(a["x"], b["x"]))
    ih = max(0.0, min(ay2, by2) - max(a["y"], b["y"]))
    inter = iw * ih
    union = a["width"] * a["height"] + b["width"] * b["height"] - inter
    return inter / union if union > 0 else 0.0


# --- The person tracker ------------------------------------------------------------------------
# norfair (Kalman prediction of each box corner, greedy matching on a distance) keeps ids through
# crossings; an appearance vector per face, computed from the 48x48 crop the detector already
# makes, brings a face back to its own id after it was hidden or out of view. See docs/TRACKING.md.

APPEARANCE_GRID = 8  # the appearance vector is an 8x8 grid of the crop's centre: 64 numbers
_INNER = slice(4, 44)  # the crop's centre 40x40, without most of the detector margin (background)
CROP_REACH = 0.2  # the detector's crop margin (0.1) and upward shift (0.1), as a fraction of the box
REID_SAME_PLACE = 0.3  # IoU with a person's last box for "where they were last seen"


def appearance(crop: np.ndarray) -> np.ndarray:
    """A face crop's appearance: float32 [64], unit length, for comparing faces by cosine.

    crop: uint8 [48, 48] grey, as the detector cuts it. The centre 40x40 summed over an 8x8 grid
    of 5x5 blocks, less its mean: brightness-independent, blind to the detector's few-pixel
    jitter, and about 15 µs of numpy (docs/TRACKING.md compares it with a gradient histogram). Raises
    ValueError for anything but a [48, 48] uint8 array.
    """
    if not isinstance(crop, np.ndarray) or crop.dtype != np.uint8 or crop.shape != (48, 48):
        shape = getattr(crop, "shape", None)
        raise ValueError(f"appearance() needs a uint8 [48, 48] crop; got {type(crop).__name__} "
                         f"{getattr(crop, 'dtype', '')} {list(shape) if shape is not None else ''}".rstrip())
    cells = crop[_INNER, _INNER].reshape(APPEARANCE_GRID, 5, APPEARANCE_GRID, 5).sum(axis=(1, 3), dtype=np.int32)
    vector = cells.ravel().astype(np.float32)
    vector -= vector.mean()
    norm = float(np.sqrt(vector @ vector))
    return vector / norm if norm > 1e-6 else np.zeros(APPEARANCE_GRID ** 2, np.float32)


def appearance_distance(a: np.ndarray, b: np.ndarray) -> float:
    """0 for the same direction, 1 for opposite: (1 - cosine) / 2 of two appearance vectors."""
    return min(1.0, max(0.0, (1.0 - float(np.dot(a, b))) / 2.0))


@dataclass(frozen=True)
class TrackerConfig:
    """How a PersonTracker follows faces; every time is in seconds of the frames' timestamps.

    fps: the tracker's clock, at least the frame rate: frames without a timestamp are 1/fps
        apart, the motion model steps at this rate (a frame k ticks after the last one advances
        it k ticks), and frames closer than a tick count as one tick. 30: the page's fastest.
    max_coast_s: a face unseen this long is no longer predicted by motion (it can still come
        back by appearance).
    max_absence_s: a face unseen this long is forgotten: coming back later it is a new person.
    min_iou: the least overlap of a face with a track's predicted box to continue that track.
    appearance_weight: how much a difference in appearance (0..1) adds to the motion distance
        (1 - IoU) when matching faces to tracks; 0: motion alone.
    reid_distance: the largest appearance distance (0..1) at which a face that starts a new
        track is taken for a person seen before.
    reid_near_distance: the same where that person was last seen (a face coming out from
        behind another, its crop still partly covered, looks less like itself).
    appearance_momentum: a person's appearance is this much its past, 1 - this the newest face.
    max_people: the most people remembered at once, in view or not (the oldest absent go first).
    smoothing_s: time constant of the exponential average of the emotion probabilities
        (0: no smoothing); 0.155 s is the old per-frame weight 0.35 at 15 fps.
    hysteresis: the label shown changes only when another emotion's smoothed probability
        leads it by at least this much (0: the argmax, as before).
    """

    fps: float = 30.0
    max_coast_s: float = 1.0
    max_absence_s: float = 2.0
    min_iou: float = 0.1
    appearance_weight: float = 0.5
    reid_distance: float = 0.12
    reid_near_distance: float = 0.3
    appearance_momentum: float = 0.8
    max_people: int = 32
    smoothing_s: float = 0.155
    hysteresis: float = 0.1

    def __post_init__(self) -> None:
        checks = [("fps", self.fps > 0), ("max_coast_s", self.max_coast_s > 0),
                  ("max_absence_s", self.max_absence_s >= self.max_coast_s),
                  ("min_iou", 0 < self.min_iou <= 1), ("appearance_weight", self.appearance_weight >= 0),
                  ("reid_distance", 0 <= self.reid_distance <= 1),
                  ("reid_near_distance", self.reid_distance <= self.reid_near_distance <= 1),
                  ("appearance_momentum", 0 <= self.appearance_momentum < 1),
                  ("max_people", isinstance(self.max_people, int) and self.max_people >= 1),
                  ("smoothing_s", self.smoothing_s >= 0), ("hysteresis", 0 <= self.hysteresis < 1)]
        for name, ok in checks:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not ok:
                raise ValueError(f"TrackerConfig.{name} = {value!r} is out of range (see the TrackerConfig docstring)")

    def ticks(self, seconds: float) -> int:
        return max(1, round(seconds * self.fps))

    @classmethod
    def from_settings(cls, settings: "Settings", fps: float | None = None) -> "TrackerConfig":
        """The services' tracking settings (docs/CONFIGURATION.md), the other fields at their
        defaults. fps: the clock, where the frame rate is known (a video's). Raises SettingsError
        naming the variable that is out of range."""
        from sentivis.settings import SettingsError

        values = {field_name: getattr(settings, setting) for field_name, setting in _SETTINGS.items()}
        # A face is predicted by motion for at most as long as it is remembered at all.
        if isinstance(values["max_absence_s"], (int, float)) and 0 < values["max_absence_s"] < cls.max_coast_s:
            values["max_coast_s"] = values["max_absence_s"]
        try:
            return cls(**values, **({} if fps is None else {"fps": fps}))
        except ValueError as exc:
            field_name = next((f for f in _SETTINGS if f"TrackerConfig.{f} " in str(exc)), None)
            if field_name is None:
                raise
            raise SettingsError(f"SENTIVIS_{_SETTINGS[field_name].upper()}={values[field_name]!r} is out of range "
                                "(see docs/CONFIGURATION.md)") from None


# TrackerConfig field -> the Settings field (SENTIVIS_ variable) that sets it.
_SETTINGS = {"max_absence_s": "track_max_absence_s", "max_people": "track_max_people",
             "smoothing_s": "smoothing_s", "hysteresis": "label_hysteresis"}


class EmotionSmoother:
    """One person's emotion over time: an exponential average of the probabilities, by time, and
    a label that changes only when another emotion leads by `hysteresis`."""

    def __init__(self, smoothing_s: float, hysteresis: float):
        """smoothing_s: time constant in seconds (0: none); hysteresis: see TrackerConfig."""
        self.smoothing_s = smoothing_s
        self.hysteresis = hysteresis
        self.mean: np.ndarray | None = None  # EMOTIONS order
        self.shown: int | None = None  # index of the label shown

    def update(self, emotion: Mapping[str, Any] | None, dt_s: float,
               raw: np.ndarray | None = None) -> dict[str, Any] | None:
        """emotion: this frame's {"label", "confidence", "probabilities"} or None (no model, which
        also forgets the history); dt_s: seconds since the previous frame; raw: the probabilities
        as float64 [7] in EMOTIONS order, when the caller has them already. -> the smoothed
        emotion with this frame's own under "raw"."""
        if emotion is None:
            self.mean = self.shown = None
            return None
        if raw is None:
            raw = np.array([emotion["probabilities"][label] for label in EMOTIONS], dtype=np.float64)
        if self.mean is None:
            self.mean = raw
        else:
            alpha = 1.0 if self.smoothing_s == 0 else 1.0 - math.exp(-dt_s / self.smoothing_s)
            self.mean = alpha * raw + (1 - alpha) * self.mean
        best = int(self.mean.argmax())
        if self.shown is None or self.mean[best] - self.mean[self.shown] >= self.hysteresis:
            self.shown = best
        mean = self.mean.round(4).tolist()
        return {
            "label": EMOTIONS[self.shown],
            "confidence": mean[self.shown],
            "probabilities": dict(zip(EMOTIONS, mean)),
            "raw": {"label": emotion["label"], "confidence": emotion["confidence"],
                    "probabilities": emotion["probabilities"]},
        }


@dataclass
class Person:
    """What the tracker remembers of one person: the id shown, their look, their emotion."""

    id: int
    appearance: np.ndarray | None
    smoother: EmotionSmoother
    last_tick: int
    box: dict[str, int]
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))  # x0 y0 x1 y1, pixels per tick
    first_tick: int = 0
    clean_box: dict[str, int] | None = None  # the last box that overlapped no other face
    settled: bool = False  # seen uncovered since their track started
    guessed: bool = False  # taken back on a covered crop: to check at the first uncovered one
    went_behind: bool = False  # their last crop was covered by another face


@dataclass
class _Face:
    """One input face, checked: its corners for the motion model and its appearance."""

    face: Mapping[str, Any]  # as given (never changed)
    corners: np.ndarray  # [[x0, y0], [x1, y1]]
    appearance: np.ndarray | None  # float32, unit length
    probabilities: np.ndarray | None  # float64 [7], EMOTIONS order; None without an emotion


class PersonTracker:
    """One session's people (a connection, a video, a sequence of uploaded frames).

    `update(faces, timestamp_ms)` gives every face of a frame the id of the person it belongs to
    and that person's smoothed emotion. Memory is bounded by `max_people` whatever the length of
    the session. Not thread-safe: one per session.
    """

    def __init__(self, config: TrackerConfig | None = None):
        """config: TrackerConfig (the defaults when None)."""
        # norfair (and scipy) only where tracking runs: the classifier imports this module for
        # appearance() alone, and its image has neither.
        import norfair
        from norfair.filter import OptimizedKalmanFilterFactory

        self.config = config or TrackerConfig()
        self._coast_ticks = self.config.ticks(self.config.max_coast_s)
        self._absence_ticks = self.config.ticks(self.config.max_absence_s)
        self._norfair = norfair.Tracker(
            distance_function="iou", distance_threshold=1 - self.config.min_iou + self.config.appearance_weight,
            hit_counter_max=self._coast_ticks, initialization_delay=0, past_detections_length=0,
            filter_factory=OptimizedKalmanFilterFactory())
        self._norfair.distance_function = _FaceDistance(self)
        self._detection = norfair.Detection
        self._live: dict[int, Person] = {}  # norfair track id -> person
        self._absent: OrderedDict[int, Person] = OrderedDict()  # person id -> person, least recent first
        self._tick = 0
        self._origin: tuple[float, int] | None = None  # (timestamp_ms, tick) the clock counts from
        self._last_ms = 0.0
        self._next_id = 1

    @property
    def remembered(self) -> int:
        """How many people the tracker holds now, in view, coasting or absent (<= max_people + a frame's faces)."""
        return len(self._live) + len(self._absent)

    def update(self, faces: Sequence[Mapping[str, Any]], timestamp_ms: float | None = None) -> list[dict[str, Any]]:
        """One frame's faces -> the same faces, in the same order, with "id" and smoothed "emotion".

        faces: dicts {"box": {"x", "y", "width", "height"}, "score", "emotion": {...} | None} and
            optionally "appearance": appearance() of the face's crop (any float sequence, e.g. the
            float16 list a result message carries); without it matching is by motion alone.
        timestamp_ms: when the frame was taken, in milliseconds on any clock; None: 1/fps after
            the previous frame. A timestamp earlier than the previous frame's counts as one tick
            later.
        The output faces have no "appearance". Raises ValueError for a malformed face or
        timestamp, before anything is changed.
        """
        checked = [_check_face(face, i) for i, face in enumerate(faces)]
        steps = self._steps(timestamp_ms)
        for _ in range(steps - 1):  # the ticks without a frame: the motion model moves on
            self._norfair.update(None)
        self._tick += steps
        detections = [self._detection(points=f.corners, data=f) for f in checked]
        self._norfair.update(detections, period=steps)
        track_of = {id(obj.last_detection): obj for obj in self._norfair.tracked_objects}
        matched = [track_of[id(d)] for d in detections]
        clean = _unoccluded(checked)
        people = self._people_for(matched, checked, clean)
        out = []
        for face, obj, person, ok in zip(checked, matched, people, clean):
            person.went_behind = not ok
            if ok:
                person.clean_box = face.face["box"]
            if face.appearance is not None and ok:
                person.appearance = face.appearance if person.appearance is None else _unit(
                    self.config.appearance_momentum * person.appearance
                    + (1 - self.config.appearance_momentum) * face.appearance)
            dt_s = (self._tick - person.last_tick) / self.config.fps
            person.last_tick, person.box = self._tick, face.face["box"]
            person.velocity = obj.estimate_velocity.ravel().copy()
            result = {k: v for k, v in face.face.items() if k != "appearance"}
            result["id"] = person.id
            result["emotion"] = person.smoother.update(face.face.get("emotion"), dt_s, face.probabilities)
            out.append(result)
        self._forget()
        return out

    def _steps(self, timestamp_ms: float | None) -> int:
        """Ticks of the clock since the previous frame (at least 1). The clock follows the
        timestamps from an origin, so rounding does not add up; it restarts at a frame whose
        timestamp goes back and after a pause longer than max_absence_s (everyone is forgotten
        then anyway: no need to step through it)."""
        if timestamp_ms is None:
            return 1
        if isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, (int, float)) or not math.isfinite(timestamp_ms):
            raise ValueError(f"timestamp_ms must be a finite number of milliseconds; got {timestamp_ms!r}")
        if self._origin is None or timestamp_ms < self._last_ms:
            steps = 1
        else:
            origin_ms, origin_tick = self._origin
            steps = origin_tick + round((timestamp_ms - origin_ms) * self.config.fps / 1000.0) - self._tick
            if steps <= self._absence_ticks + 1:
                self._last_ms = timestamp_ms
                return max(1, steps)  # frames closer than a tick count as one
            steps = self._absence_ticks + 1
        self._origin, self._last_ms = (timestamp_ms, self._tick + steps), timestamp_ms
        return steps

    def _people_for(self, matched: list, faces: list[_Face], clean: list[bool]) -> list[Person]:
        """The person of each face: the one its track already has, or a person seen before
        (re-identification), or a new person.

        A track is compared with the people not in view when it starts. A face coming out from
        behind another (its crop still covered) is taken, for now, for the person who most
        likely went behind; at its first uncovered crop it is checked against that person's look
        and, if it is not them, compared again (it may be someone else seen before, or new).
        """
        people: list[Person | None] = [self._live.get(obj.id) for obj in matched]
        ask, doubted = [], {}
        for i, p in enumerate(people):
            if p is None:
                ask.append(i)
            elif not p.settled and clean[i] and faces[i].appearance is not None:
                if p.appearance is None or appearance_distance(faces[i].appearance, p.appearance) <= \
                        self.config.reid_near_distance:
                    p.settled = True  # their first uncovered crop: it is them (or nothing to check against)
                elif p.guessed:
                    ask.append(i)
                    doubted[i] = p
        if ask:
            busy = {id(p) for i, p in enumerate(people) if p is not None and i not in doubted}
            candidates = [p for p in self._live.values() if id(p) not in busy and p not in doubted.values()] \
                + list(self._absent.values())
            pairs = sorted(pair for n, i in enumerate(ask) for j, p in enumerate(candidates)
                           if (pair := self._reid_cost(faces[i], clean[i], p, n, j)) is not None)
            taken_faces, taken_people = set(), set()
            for _, n, j in pairs:
                if n in taken_faces or j in taken_people:
                    continue
                taken_faces.add(n)
                taken_people.add(j)
                person = people[ask[n]] = self._reclaim(candidates[j])
                person.guessed = not clean[ask[n]]
                person.settled = clean[ask[n]]
        for i, wrong in doubted.items():  # the guess was wrong: that person is absent again
            self._absent[wrong.id] = wrong
            wrong.guessed = False
            if people[i] is wrong:
                people[i] = None
        for i, obj in enumerate(matched):
            person = people[i]
            if person is None:
                person = people[i] = Person(self._next_id, None, EmotionSmoother(self.config.smoothing_s,
                                                                                self.config.hysteresis),
                                            self._tick, faces[i].face["box"], first_tick=self._tick)
                self._next_id += 1
            # Settled once seen uncovered, or once too old to be someone who came back.
            person.settled = person.settled or (clean[i] and faces[i].appearance is not None) or (
                self._tick - person.first_tick > self._absence_ticks)
            self._live[obj.id] = person
        return people

    def _reid_cost(self, face: _Face, clean: bool, person: Person, n: int, j: int) -> tuple[float, int, int] | None:
        """(cost, n, j) when the face that starts a track may be this person seen before, else None.

        By appearance within reid_distance anywhere, or within reid_near_distance where the
        person was last seen uncovered or would be now at their last speed (IoU >=
        REID_SAME_PLACE). Without appearance vectors, the place alone. A covered crop says
        little: it is taken for someone who was last seen covered (went behind a face), the
        nearest and most recently seen first (checked at its first uncovered crop).
        """
        last, uncovered = (np.array([b["x"], b["y"], b["x"] + b["width"], b["y"] + b["height"]], dtype=np.float64)
                           for b in (person.box, person.clean_box or person.box))
        # Where they were last seen uncovered, and where they would be now at their last speed.
        boxes = np.stack([uncovered, last + person.velocity * (self._tick - person.last_tick)])
        near = _iou_matrix(face.corners.reshape(1, 4), boxes).max() >= REID_SAME_PLACE
        if not clean and face.appearance is not None:
            if not person.went_behind:
                return None
            # After every real match (costs <= 1): near first, then by how long ago they were seen.
            return (2.0 - near + (self._tick - person.last_tick) / (self._absence_ticks + 1), n, j)
        if face.appearance is None or person.appearance is None or face.appearance.shape != person.appearance.shape:
            return (self.config.reid_near_distance, n, j) if near else None
        distance = appearance_distance(face.appearance, person.appearance)
        limit = self.config.reid_near_distance if near else self.config.reid_distance
        return (distance, n, j) if distance <= limit else None

    def _reclaim(self, person: Person) -> Person:
        """Take a person back from the absent, or from the track that still coasts for them."""
        if self._absent.pop(person.id, None) is None:
            track = next(k for k, p in self._live.items() if p is person)
            del self._live[track]
            self._norfair.tracked_objects = [o for o in self._norfair.tracked_objects if o.id != track]
        return person

    def _forget(self) -> None:
        """Tracks norfair dropped become absent people; the long absent and the excess are forgotten."""
        alive = {obj.id for obj in self._norfair.tracked_objects}
        for track in [t for t in self._live if t not in alive]:
            person = self._live.pop(track)
            self._absent[person.id] = person
        for pid in [pid for pid, p in self._absent.items() if self._tick - p.last_tick > self._absence_ticks]:
            del self._absent[pid]
        while self._absent and self.remembered > self.config.max_people:
            self._absent.popitem(last=False)
        if len(self._live) > self.config.max_people:  # only with more faces in view than max_people
            keep = sorted(self._live, key=lambda t: self._live[t].last_tick)[-self.config.max_people:]
            self._live = {t: self._live[t] for t in keep}
            self._norfair.tracked_objects = [o for o in self._norfair.tracked_objects if o.id in self._live]


class _FaceDistance:
    """norfair's distance for faces: 1 - IoU with the track's predicted box, plus the weighted
    appearance distance when both the face and the person have an appearance vector."""

    def __init__(self, tracker: PersonTracker):
        self.tracker = tracker

    def get_distances(self, objects: Sequence[Any], candidates: Sequence[Any] | None) -> np.ndarray:
        if not objects or not candidates:
            return np.full((len(candidates or ()), len(objects)), np.inf, dtype=np.float32)
        boxes = np.stack([c.points.ravel() for c in candidates])
        predicted = np.stack([o.estimate.ravel() for o in objects])
        distance = 1.0 - _iou_matrix(boxes, predicted)
        distance[distance > 1.0 - self.tracker.config.min_iou] = np.inf
        weight = self.tracker.config.appearance_weight
        if weight > 0:
            for j, obj in enumerate(objects):
                person = self.tracker._live.get(obj.id)
                if person is None or person.appearance is None:
                    continue
                for i, cand in enumerate(candidates):
                    face = cand.data
                    if face.appearance is not None and face.appearance.shape == person.appearance.shape:
                        distance[i, j] += weight * appearance_distance(face.appearance, person.appearance)
        return distance


def _iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a [N, 4] with every box in b [M, 4] (x0, y0, x1, y1) -> [N, M]."""
    # np.maximum, not np.clip: on these few boxes np.clip's overhead is most of the time.
    wh = np.maximum(np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2]), 0.0)
    inter = wh[..., 0] * wh[..., 1]
    area_a = np.maximum(a[:, 2] - a[:, 0], 0.0) * np.maximum(a[:, 3] - a[:, 1], 0.0)
    area_b = np.maximum(b[:, 2] - b[:, 0], 0.0) * np.maximum(b[:, 3] - b[:, 1], 0.0)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _unoccluded(faces: list[_Face]) -> list[bool]:
    """Faces whose box, grown by CROP_REACH on each side (about what the crop takes in around
    it), overlaps no other face's: only their crops update a person's appearance (a crop half
    covered by another face would teach the tracker the wrong look)."""
    if len(faces) < 2:
        return [True] * len(faces)
    # Plain floats: for a frame's few faces, a pair loop is several times faster than numpy.
    grown = []
    for f in faces:
        (x0, y0), (x1, y1) = f.corners.tolist()
        reach = CROP_REACH * max(x1 - x0, y1 - y0)
        grown.append((x0 - reach, y0 - reach, x1 + reach, y1 + reach))
    clear = [True] * len(faces)
    for i, a in enumerate(grown):
        for j in range(i + 1, len(grown)):
            b = grown[j]
            if min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1]):
                clear[i] = clear[j] = False
    return clear


def _unit(v: np.ndarray) -> np.ndarray:
    norm = math.sqrt(float(v @ v))
    return v / norm if norm > 1e-6 else v


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_face(face: Mapping[str, Any], index: int) -> _Face:
    """A face as the tracker needs it; ValueError naming the face and the field otherwise."""
    where = f"face {index}"
    if not isinstance(face, (dict, Mapping)):  # dict first: the ABC check is slower
        raise ValueError(f"{where} must be a dict with box, score and emotion; got {type(face).__name__}")
    box = face.get("box")
    if not isinstance(box, (dict, Mapping)):
        raise ValueError(f"{where}: box must be a dict with x, y, width, height")
    x, y, w, h = (box.get(key) for key in ("x", "y", "width", "height"))
    for key, v in (("x", x), ("y", y), ("width", w), ("height", h)):
        if not _number(v):
            raise ValueError(f"{where}: box[{key!r}] must be a finite number; got {v!r}")
    if w <= 0 or h <= 0:
        raise ValueError(f"{where}: box width and height must be positive; got {w} x {h}")
    emotion = face.get("emotion")
    probabilities = None
    if emotion is not None:
        given = emotion.get("probabilities") if isinstance(emotion, (dict, Mapping)) else None
        values = [given.get(k) for k in EMOTIONS] if isinstance(given, (dict, Mapping)) else None
        if values is None or not all(map(_number, values)):
            raise ValueError(f"{where}: emotion must be None or have a number for each of {', '.join(EMOTIONS)} "
                             "under probabilities")
        probabilities = np.array(values, dtype=np.float64)
    vector = face.get("appearance")
    if vector is not None:
        try:
            vector = np.asarray(vector, dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: appearance must be a sequence of numbers") from None
        norm2 = float(vector @ vector) if vector.ndim == 1 and vector.size else math.nan  # nan/inf if any is
        if not math.isfinite(norm2):
            raise ValueError(f"{where}: appearance must be a non-empty flat sequence of finite numbers")
        vector = vector / math.sqrt(norm2) if norm2 > 1e-12 else vector
    return _Face(face, np.array([[x, y], [x + w, y + h]], dtype=np.float64), vector, probabilities)
