"""One person's emotion over time: an exponential average of the probabilities by time, and a
label that changes only when another emotion leads the one shown by `hysteresis`."""
from __future__ import annotations

import math

import numpy as np

from sentivis.labels import EMOTIONS
from sentivis.protocol import Emotion, ShownEmotion


def probabilities_of(emotion: Emotion) -> np.ndarray:
    """An emotion's probabilities as float64 [7] in label order; ValueError when one is missing."""
    given = emotion.probabilities
    try:
        return np.array([given[label] for label in EMOTIONS], dtype=np.float64)
    except KeyError as exc:
        raise ValueError(f"an emotion needs a probability for each of {', '.join(EMOTIONS)}; {exc} is "
                         "missing") from None


class EmotionSmoother:
    """smoothing_s: time constant in seconds (0: none); hysteresis: how far another emotion's
    smoothed probability must lead the label shown to replace it (sentivis.tracking.config)."""

    def __init__(self, smoothing_s: float, hysteresis: float):
        self.smoothing_s = smoothing_s
        self.hysteresis = hysteresis
        self.mean: np.ndarray | None = None  # EMOTIONS order
        self.shown: int | None = None  # index of the label shown

    def update(self, emotion: Emotion | None, dt_s: float, raw: np.ndarray | None = None) -> ShownEmotion | None:
        """emotion: this frame's, or None (no model, which also forgets the history); dt_s: seconds
        since the previous frame; raw: its probabilities_of(), when the caller has them already.
        -> the smoothed emotion, with this frame's own as `raw`."""
        if emotion is None:
            self.mean = self.shown = None
            return None
        if raw is None:
            raw = probabilities_of(emotion)
        if self.mean is None:
            self.mean = raw
        else:
            alpha = 1.0 if self.smoothing_s == 0 else 1.0 - math.exp(-dt_s / self.smoothing_s)
            self.mean = alpha * raw + (1 - alpha) * self.mean
        best = int(self.mean.argmax())
        if self.shown is None or self.mean[best] - self.mean[self.shown] >= self.hysteresis:
            self.shown = best
        mean = self.mean.round(4).tolist()
        return ShownEmotion(EMOTIONS[self.shown], mean[self.shown], dict(zip(EMOTIONS, mean, strict=True)), raw=emotion)
