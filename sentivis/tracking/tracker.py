"""PersonTracker: which person each face of a frame is, and that person's emotion over time.

One per session (a connection, a video, a sequence of uploads). norfair's Kalman tracker follows
faces so ids survive crossings; a face that starts a new track is compared by appearance with the
people not in view, so a person hidden or gone for a while comes back with their own id; each
person's emotion is smoothed (smoothing.py). docs/TRACKING.md has the method and its benchmark.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import norfair
import numpy as np
from norfair.distances import Distance
from norfair.filter import OptimizedKalmanFilterFactory

from sentivis.protocol import Box, Face, TrackedFace
from sentivis.tracking.appearance import appearance_distance
from sentivis.tracking.config import TrackerConfig
from sentivis.tracking.smoothing import EmotionSmoother, probabilities_of

CROP_REACH = 0.2  # the detector's crop margin (0.1) and upward shift (0.1), as a fraction of the box
REID_SAME_PLACE = 0.3  # IoU with a person's last box for "where they were last seen"


@dataclass
class Person:
    """What the tracker remembers of one person: the id shown, their look, their emotion."""

    id: int
    appearance: np.ndarray | None
    smoother: EmotionSmoother
    last_tick: int
    box: Box
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))  # x0 y0 x1 y1, pixels per tick
    first_tick: int = 0
    clean_box: Box | None = None  # the last box that overlapped no other face
    settled: bool = False  # seen uncovered since their track started
    guessed: bool = False  # taken back on a covered crop: to check at the first uncovered one
    went_behind: bool = False  # their last crop was covered by another face


@dataclass
class _Face:
    """One input face as the tracker works with it: its corners for the motion model, its appearance."""

    face: Face  # as given (never changed)
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
        self.config = config or TrackerConfig()
        self._coast_ticks = self.config.ticks(self.config.max_coast_s)
        self._absence_ticks = self.config.ticks(self.config.max_absence_s)
        self._norfair = norfair.Tracker(
            distance_function="iou", distance_threshold=1 - self.config.min_iou + self.config.appearance_weight,
            hit_counter_max=self._coast_ticks, initialization_delay=0, past_detections_length=0,
            filter_factory=OptimizedKalmanFilterFactory())
        # norfair's constructor takes a distance's name or a per-pair function; ours scores a whole
        # frame's faces against every track at once (a norfair Distance), so it is set after it.
        self._norfair.distance_function = _FaceDistance(self)
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

    def update(self, faces: Sequence[Face], timestamp_ms: float | None = None) -> list[TrackedFace]:
        """One frame's faces -> the same faces, in the same order, with the person's id and smoothed
        emotion.

        faces: as the classifier answers them (sentivis.protocol, checked when decoded); without
            an appearance a face is matched by motion alone.
        timestamp_ms: when the frame was taken, in milliseconds on any clock; None: 1/fps after
            the previous frame. A timestamp earlier than the previous frame's counts as one tick
            later.
        Raises ValueError for a face the tracker cannot use (an empty box, an emotion without every
        label, an appearance that is not finite) or a timestamp that is not a number, before
        anything is changed.
        """
        checked = [_read_face(face, i) for i, face in enumerate(faces)]
        steps = self._steps(timestamp_ms)
        for _ in range(steps - 1):  # the ticks without a frame: the motion model moves on
            self._norfair.update(None)
        self._tick += steps
        self._forget()  # whoever is away longer than max_absence_s now (a pause in the frames too) is not matched
        detections = [norfair.Detection(points=f.corners, data=f) for f in checked]
        self._norfair.update(detections, period=steps)
        track_of = {id(obj.last_detection): obj for obj in self._norfair.tracked_objects}
        matched = [track_of[id(d)] for d in detections]
        clean = _unoccluded(checked)
        people = self._people_for(matched, checked, clean)
        out = []
        for face, obj, person, ok in zip(checked, matched, people, clean, strict=True):
            person.went_behind = not ok
            if ok:
                person.clean_box = face.face.box
            if face.appearance is not None and ok:
                person.appearance = face.appearance if person.appearance is None else _unit(
                    self.config.appearance_momentum * person.appearance
                    + (1 - self.config.appearance_momentum) * face.appearance)
            dt_s = (self._tick - person.last_tick) / self.config.fps
            person.last_tick, person.box = self._tick, face.face.box
            person.velocity = obj.estimate_velocity.ravel().copy()
            emotion = person.smoother.update(face.face.emotion, dt_s, face.probabilities)
            out.append(TrackedFace(person.id, face.face.box, face.face.score, emotion))
        self._forget()
        return out

    def _steps(self, timestamp_ms: float | None) -> int:
        """Ticks of the clock since the previous frame (at least 1). The clock follows the
        timestamps from an origin, so rounding does not add up; it restarts at a frame whose
        timestamp goes back and after a pause longer than max_absence_s (everyone is forgotten
        then anyway: no need to step through it)."""
        if timestamp_ms is None:
            return 1
        if (isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, (int, float))
                or not math.isfinite(timestamp_ms)):
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
                                            self._tick, faces[i].face.box, first_tick=self._tick)
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
        last, uncovered = (np.array([b.x, b.y, b.x + b.width, b.y + b.height], dtype=np.float64)
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
            # norfair has no call to end a track; its list of tracks is the one handle on them.
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


class _FaceDistance(Distance):
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


def _read_face(face: Face, index: int) -> _Face:
    """A face as the tracker works with it; ValueError naming the face and what it lacks."""
    box = face.box
    if box.width <= 0 or box.height <= 0:
        raise ValueError(f"face {index}: its box must have a positive size; got {box.width} x {box.height}")
    probabilities = None if face.emotion is None else probabilities_of(face.emotion)
    if probabilities is not None and not np.isfinite(probabilities).all():
        raise ValueError(f"face {index}: its emotion's probabilities must be finite numbers")
    vector = face.appearance_vector()
    if vector is not None:
        vector = vector.astype(np.float32)
        norm2 = float(vector @ vector) if vector.size else math.nan  # nan or inf if any number is
        if not math.isfinite(norm2):
            raise ValueError(f"face {index}: its appearance must be a non-empty vector of finite numbers")
        vector = vector / math.sqrt(norm2) if norm2 > 1e-12 else vector
    return _Face(face, np.array([[box.x, box.y], [box.x + box.width, box.y + box.height]], dtype=np.float64),
                 vector, probabilities)
