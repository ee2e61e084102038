"""TrackerConfig: how a PersonTracker follows faces, from the settings or given field by field."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from types import SimpleNamespace
from typing import Any

from sentivis.settings import Settings, SettingsError


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
        for name in RANGES:
            if not in_range(self, name):
                raise ValueError(f"TrackerConfig.{name} = {getattr(self, name)!r} is out of range (see the "
                                 "TrackerConfig docstring)")

    def ticks(self, seconds: float) -> int:
        return max(1, round(seconds * self.fps))

    @classmethod
    def from_settings(cls, settings: Settings, fps: float | None = None) -> TrackerConfig:
        """The services' tracking settings (docs/CONFIGURATION.md), the other fields at their
        defaults. fps: the clock, where the frame rate is known (a video's). Raises SettingsError
        naming the variable that is out of range."""
        values = {field_name: getattr(settings, setting) for field_name, setting in SETTINGS.items()}
        # A face is predicted by motion for at most as long as it is remembered at all.
        if _number(values["max_absence_s"]) and 0 < values["max_absence_s"] < cls.max_coast_s:
            values["max_coast_s"] = values["max_absence_s"]
        candidate = SimpleNamespace(**{**{f.name: f.default for f in fields(cls)}, **values})
        for field_name, setting in SETTINGS.items():
            if not in_range(candidate, field_name):
                raise SettingsError(f"SENTIVIS_{setting.upper()}={values[field_name]!r} is out of range "
                                    "(see docs/CONFIGURATION.md)")
        return cls(**values, **({} if fps is None else {"fps": fps}))


# TrackerConfig field -> the Settings field (SENTIVIS_ variable) that sets it.
SETTINGS = {"max_absence_s": "track_max_absence_s", "max_people": "track_max_people",
            "smoothing_s": "smoothing_s", "hysteresis": "label_hysteresis"}

# Each field's range, over the whole config (some depend on another field).
RANGES = {
    "fps": lambda c: c.fps > 0, "max_coast_s": lambda c: c.max_coast_s > 0,
    "max_absence_s": lambda c: c.max_absence_s >= c.max_coast_s, "min_iou": lambda c: 0 < c.min_iou <= 1,
    "appearance_weight": lambda c: c.appearance_weight >= 0, "reid_distance": lambda c: 0 <= c.reid_distance <= 1,
    "reid_near_distance": lambda c: c.reid_distance <= c.reid_near_distance <= 1,
    "appearance_momentum": lambda c: 0 <= c.appearance_momentum < 1,
    "max_people": lambda c: isinstance(c.max_people, int) and c.max_people >= 1,
    "smoothing_s": lambda c: c.smoothing_s >= 0, "hysteresis": lambda c: 0 <= c.hysteresis < 1,
}


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def in_range(config: Any, name: str) -> bool:
    """Whether field `name` of `config` (a TrackerConfig or anything with its fields) is a finite
    number in its range."""
    return _number(getattr(config, name)) and RANGES[name](config)
