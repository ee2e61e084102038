"""Scripted face sequences for the tracking benchmark and tests, seen through the real pipeline.

Real FER-2013 faces (a seeded pick of `Training` faces, none of the `PublicTest` faces other
tests paste) move along scripted paths on a 320x240 background at 15 fps; a face in front is
drawn over the one behind. Each frame goes through what the live service does: JPEG, MediaPipe
BlazeFace, the 48x48 crops, the shipped ONNX emotion model, and the appearance vector. So
detection jitter, misses during occlusion and the model's frame-to-frame noise are real; the
ground truth (who is where, and visible) comes from the script.

A face counts as present in the ground truth while at least half of it is visible (in the
frame and not covered). Its ground-truth box is where the detector puts the face inside the
pasted square, measured once per image on a still frame ("calibration"); images the detector
does not find alone, at two sizes, are not used.
"""
from __future__ import annotations

import csv
import gzip
import time
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import simplejpeg
from PIL import Image

from sentivis.labels import EMOTIONS
from sentivis.protocol import Face
from sentivis.settings import Settings
from sentivis.stages.classify import EmotionModel, classify
from sentivis.stages.detect import FaceDetector, decode, detect

REPO = Path(__file__).resolve().parent.parent
FER_CSV = REPO.parent / "shared" / "data" / "fer2013" / "fer2013.csv.gz"
SIZE = (320, 240)
FPS = 15
VISIBLE = 0.5  # the least visible fraction of a face for it to be in the ground truth
POOL_CANDIDATES = 240  # Training faces tried per seed; about half pass calibration


@dataclass(frozen=True)
class Actor:
    """One person in a scenario: which pool face, where (keyframes), in front of whom.

    slot: the scenario's face number (scenarios draw distinct pool faces per slot).
    keys: (frame, centre x, centre y, side) keyframes, linearly interpolated, held after the last.
    depth: drawn after (in front of) actors with a smaller depth.
    switch: (frame, slot): from that frame on the actor shows another face (expression change).
    """

    slot: int
    keys: tuple[tuple[int, float, float, float], ...]
    depth: int = 0
    switch: tuple[int, int] | None = None

    def place(self, frame: int) -> tuple[float, float, float]:
        frames = [k[0] for k in self.keys]
        values = np.array([k[1:] for k in self.keys], dtype=np.float64)
        return tuple(float(np.interp(frame, frames, values[:, i])) for i in range(3))

    def slot_at(self, frame: int) -> int:
        return self.switch[1] if self.switch and frame >= self.switch[0] else self.slot


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    frames: int
    actors: tuple[Actor, ...]
    constant: bool = True  # no actor changes expression (flicker is measured on it)


def _sway(frame: int, amplitude: float, period: int, phase: float = 0.0) -> float:
    return amplitude * np.sin(2 * np.pi * frame / period + phase)


def _still(slot: int, cx: float, cy: float, side: float, frames: int, sway: float = 3.0, phase: float = 0.0,
           depth: int = 0, switch: tuple[int, int] | None = None) -> Actor:
    """An actor standing still with a small sway (people never hold still), keyframed per frame."""
    keys = tuple((f, cx + _sway(f, sway, 45, phase), cy + _sway(f, sway / 2, 60, phase + 1), side)
                 for f in range(0, frames + 1, 3))
    return Actor(slot, keys, depth, switch)


def scenarios() -> list[Scenario]:
    """The benchmark's scenarios, 15 fps, 320x240."""
    return [
        Scenario("crossing-partial", "two faces cross, one a little lower: partial occlusion", 75, (
            Actor(0, ((0, 50, 105, 80), (75, 270, 105, 80)), depth=1),
            Actor(1, ((0, 270, 140, 80), (75, 50, 140, 80)), depth=0))),
        Scenario("crossing-full", "two faces cross at the same height: the back one fully hidden", 75, (
            Actor(0, ((0, 50, 120, 80), (75, 270, 120, 80)), depth=1),
            Actor(1, ((0, 270, 120, 76), (75, 50, 120, 76)), depth=0))),
        Scenario("pass-in-front", "a face walks in front of a still one, hiding it for about 1 s", 75, (
            _still(1, 160, 120, 80, 75),
            Actor(0, ((0, -60, 125, 88), (60, 380, 125, 88), (75, 380, 125, 88)), depth=1))),
        Scenario("leave-reenter", "a face leaves the frame and comes back about 1.5 s later", 90, (
            _still(0, 70, 120, 80, 90),
            Actor(1, ((0, 230, 110, 80), (15, 230, 110, 80), (27, 380, 110, 80), (35, 380, 110, 80),
                      (47, 230, 115, 80), (90, 230, 115, 80))))),
        Scenario("new-face", "a face leaves; 0.6 s later a different face comes in where it left", 90, (
            _still(0, 70, 120, 80, 90),
            Actor(1, ((0, 230, 110, 80), (15, 230, 110, 80), (27, 380, 110, 80), (90, 380, 110, 80))),
            Actor(2, ((0, 420, 110, 80), (36, 380, 110, 80), (48, 230, 112, 80), (90, 230, 112, 80))))),
        Scenario("three-side-by-side", "three faces side by side, 10 px apart, moving a little", 90, (
            _still(0, 65, 120, 82, 90, sway=4, phase=0.0),
            _still(1, 160, 120, 82, 90, sway=4, phase=2.0),
            _still(2, 255, 120, 82, 90, sway=4, phase=4.0))),
        Scenario("approach", "a face comes towards the camera (60 to 150 px) beside a still one", 90, (
            Actor(0, ((0, 190, 110, 60), (75, 200, 130, 150), (90, 200, 130, 150))),
            _still(1, 55, 110, 70, 90))),
        Scenario("constant", "two faces holding one expression for 20 s", 300, (
            _still(0, 90, 120, 86, 300, sway=3),
            _still(1, 230, 120, 86, 300, sway=3, phase=1.5))),
        Scenario("expression-change", "a face changes expression at 3 s (another face of another emotion)", 120, (
            _still(0, 110, 120, 90, 120, sway=2, switch=(45, 1)),
            _still(2, 250, 120, 70, 120, sway=2, phase=2.0)), constant=False),
    ]


# --- faces ---------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _training_rows() -> tuple[np.ndarray, np.ndarray]:
    """Every FER-2013 Training face: uint8 [N, 48, 48] and labels (read once per process)."""
    images, labels = [], []
    with gzip.open(FER_CSV, "rt", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for emotion, pixels, usage in reader:
            if usage == "Training":
                images.append(np.array(pixels.split(), dtype=np.uint8).reshape(48, 48))
                labels.append(int(emotion))
    return np.stack(images), np.array(labels)


@dataclass(frozen=True)
class PoolFace:
    row: int  # Training row
    image: np.ndarray  # uint8 [48, 48]
    label: str  # FER-2013's label
    model_label: str  # what the shipped model says of it, still and alone
    model_confidence: float
    box: tuple[float, float, float, float]  # the detector's face box in the pasted square, as fractions


def background(seed: int) -> np.ndarray:
    """A smooth, slightly textured room-like RGB background, the same for a seed."""
    rng = np.random.default_rng(1000 + seed)
    w, h = SIZE
    low = Image.fromarray(rng.integers(70, 180, (6, 8), dtype=np.uint8)).resize((w, h), Image.BICUBIC)
    grey = np.asarray(low, dtype=np.float32) * 0.6 + np.linspace(40, 80, h, dtype=np.float32)[:, None]
    tint = np.array([1.0, 0.97, 0.9], dtype=np.float32)
    return np.clip(grey[:, :, None] * tint, 0, 255).astype(np.uint8)


class Pipeline:
    """What the live services do to one RGB frame: JPEG, then the detect and classify stages
    (sentivis/stages: decode, detect, crop, classify, appearance)."""

    def __init__(self):
        settings = Settings()
        self.detector = FaceDetector(settings.detector_model, settings.detector_min_score, settings.max_faces)
        self.model = EmotionModel.load(settings.emotion_weights)
        self.margin, self.shift = settings.face_margin, settings.face_shift

    def run(self, rgb: np.ndarray) -> tuple[list[Face], list[np.ndarray], float]:
        """-> faces as a result message carries them (with their appearance), their crops, detect ms."""
        decoded = decode(simplejpeg.encode_jpeg(np.ascontiguousarray(rgb), quality=85, colorspace="RGB"))
        start = time.perf_counter()
        faces, crops = detect(self.detector, decoded, self.margin, self.shift)
        detect_ms = (time.perf_counter() - start) * 1000
        if faces:
            classify(self.model, faces, np.stack(crops))
        return faces, crops, detect_ms

    def close(self) -> None:
        self.detector.close()


def _paste(frame: np.ndarray, face: np.ndarray, cx: float, cy: float, side: float) -> tuple[int, int, int]:
    """Draw a grey face as a square centred at (cx, cy); returns the square (x0, y0, side)."""
    s = max(2, int(round(side)))
    x0, y0 = int(round(cx - s / 2)), int(round(cy - s / 2))
    img = np.asarray(Image.fromarray(face).resize((s, s), Image.BICUBIC))
    h, w = frame.shape[:2]
    fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(w, x0 + s), min(h, y0 + s)
    if fx1 > fx0 and fy1 > fy0:
        frame[fy0:fy1, fx0:fx1] = img[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0, None]
    return x0, y0, s


def calibrate(pipeline: Pipeline, seed: int, count: int) -> list[PoolFace]:
    """`count` Training faces, picked at random for the seed, that the detector finds alone at
    64 and 110 px; with where it puts the face inside the square and what the model says."""
    images, labels = _training_rows()
    rng = np.random.default_rng(seed)
    back = background(seed)
    pool = []
    for row in rng.choice(len(images), size=POOL_CANDIDATES, replace=False):
        boxes = []
        for side in (64, 110):
            frame = back.copy()
            x0, y0, s = _paste(frame, images[row], 160, 120, side)
            faces, crops, _ = pipeline.run(frame)
            if len(faces) != 1:
                break
            b = faces[0].box
            boxes.append(((b.x - x0) / s, (b.y - y0) / s, b.width / s, b.height / s))
        if len(boxes) == 2:
            emotion = faces[0].emotion
            pool.append(PoolFace(int(row), images[row], EMOTIONS[labels[row]], emotion.label,
                                 emotion.confidence, tuple(float(v) for v in np.mean(boxes, axis=0))))
            if len(pool) == count:
                break
    if len(pool) < count:
        raise RuntimeError(f"only {len(pool)} of {POOL_CANDIDATES} FER-2013 faces were detected alone; need {count}")
    return pool


def cast(scenario: Scenario, pool: list[PoolFace], start: int) -> list[PoolFace]:
    """The pool faces playing the scenario's slots. An expression change needs its two faces to
    be read by the model, with some confidence, as two different emotions."""
    slots = 1 + max(max(a.slot, a.switch[1] if a.switch else 0) for a in scenario.actors)
    order = pool[start:] + pool[:start]
    if scenario.constant:
        return order[:slots]
    sure = [p for p in order if p.model_confidence >= 0.6]
    first = sure[0]
    second = next(p for p in sure if p.model_label != first.model_label)
    rest = [p for p in order if p is not first and p is not second]
    return [first, second] + rest[:slots - 2]


# --- recordings ---------------------------------------------------------------------------------

@dataclass
class Frame:
    index: int
    timestamp_ms: float
    truth: list[tuple[int, tuple[float, float, float, float]]]  # (actor, visible face box x0 y0 x1 y1)
    faces: list[Face]  # what the pipeline found: box, score, emotion, appearance
    crops: list[np.ndarray]  # their 48x48 crops, in the same order
    detect_ms: float


@dataclass
class Recording:
    scenario: Scenario
    seed: int
    cast: list[PoolFace]
    frames: list[Frame] = field(default_factory=list)

    def change_target(self) -> tuple[int, int, str] | None:
        """(actor, frame of the change, the new face's label as the model reads it) or None."""
        for i, actor in enumerate(self.scenario.actors):
            if actor.switch:
                return i, actor.switch[0], self.cast[actor.switch[1]].model_label
        return None


def render(scenario: Scenario, faces: list[PoolFace], frame: int, back: np.ndarray,
           rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, tuple[float, float, float, float]]]]:
    """One frame of a scenario: the RGB image and its ground truth."""
    w, h = SIZE
    order = sorted(range(len(scenario.actors)), key=lambda i: scenario.actors[i].depth)
    image = back.copy()
    squares = {}
    for i in order:
        actor = scenario.actors[i]
        squares[i] = _paste(image, faces[actor.slot_at(frame)].image, *actor.place(frame))
    noise = rng.normal(0, 2.0, image.shape).astype(np.float32)  # sensor noise: no two frames alike
    image = np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    truth = []
    for rank, i in enumerate(order):
        actor = scenario.actors[i]
        x0, y0, s = squares[i]
        fx, fy, fw, fh = faces[actor.slot_at(frame)].box
        box = np.array([x0 + fx * s, y0 + fy * s, x0 + (fx + fw) * s, y0 + (fy + fh) * s])
        mask = np.zeros((h, w), bool)
        bx0, by0, bx1, by1 = np.round(box).astype(int)
        mask[max(0, by0):max(0, by1), max(0, bx0):max(0, bx1)] = True
        area = max(1, (bx1 - bx0) * (by1 - by0))
        for j in order[rank + 1:]:  # everyone in front
            qx, qy, qs = squares[j]
            mask[max(0, qy):max(0, qy + qs), max(0, qx):max(0, qx + qs)] = False
        if mask.sum() / area >= VISIBLE:
            clipped = np.clip(box, 0, [w, h, w, h])
            truth.append((i, tuple(float(v) for v in clipped)))
    return image, truth


def record(scenario: Scenario, pipeline: Pipeline, pool: list[PoolFace], seed: int, start: int = 0) -> Recording:
    """Run the scenario through the pipeline: every frame's ground truth and detected faces."""
    faces = cast(scenario, pool, start)
    recording = Recording(scenario, seed, faces)
    back = background(seed)
    rng = np.random.default_rng([seed, zlib.crc32(scenario.name.encode())])
    for index in range(scenario.frames):
        image, truth = render(scenario, faces, index, back, rng)
        found, crops, detect_ms = pipeline.run(image)
        recording.frames.append(Frame(index, index * 1000.0 / FPS, truth, found, crops, detect_ms))
    return recording


def record_all(seed: int, names: list[str] | None = None, pipeline: Pipeline | None = None) -> list[Recording]:
    """The scenarios (all, or those named) for one seed, each cast from a different part of the pool."""
    own = pipeline is None
    pipeline = pipeline or Pipeline()
    try:
        pool = calibrate(pipeline, seed, 24)
        chosen = [(i, s) for i, s in enumerate(scenarios()) if names is None or s.name in names]
        return [record(s, pipeline, pool, seed, start=(3 * i) % len(pool)) for i, s in chosen]
    finally:
        if own:
            pipeline.close()
