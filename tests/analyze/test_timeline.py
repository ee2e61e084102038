"""timeline.png: a person's absence is a break in their lines, not a straight line across it."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from analyzer.timeline import gap_seconds, plot_timeline, timeline_figure
from sentivis.labels import EMOTIONS
from sentivis.sessions.queries import SIGHTING_GAP_S

FPS = 10


def face(face_id: int, happy: float) -> dict:
    probabilities = dict.fromkeys(EMOTIONS, (1 - happy) / (len(EMOTIONS) - 1)) | {"happy": happy}
    return {"id": face_id, "probabilities": probabilities}


def frames_of(seconds: float, seen) -> list[dict]:
    """Frames at FPS for `seconds`; seen(face_id, t) says who is in each."""
    out = []
    for i in range(int(seconds * FPS)):
        t = round(i / FPS, 4)
        out.append({"time_s": t, "faces": [face(f, 0.2 + 0.6 * (i % 2)) for f in (1, 2, 3) if seen(f, t)]})
    return out


def in_view(face_id: int, t: float) -> bool:
    if face_id == 1:
        return not 2.0 <= t < 5.0  # away for 3 s
    if face_id == 2:
        return not 3.0 <= t < 3.5  # missed for half a second: within the rule, still in view
    return t == 6.0  # seen once


@pytest.fixture
def figure():
    fig, ids = timeline_figure(frames_of(8, in_view), "clip")
    yield fig, ids
    plt.close(fig)


def emotion_lines(ax):
    """The drawn lines per emotion (label -> Line2D), not the dots of lone sightings."""
    return {line.get_label(): line for line in ax.get_lines() if line.get_label() in EMOTIONS}


def stretches(line) -> list[np.ndarray]:
    """The x values of each unbroken stretch of a line (split at NaN)."""
    x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    parts = np.split(x, np.flatnonzero(np.isnan(y)))
    return [part[1:] if i else part for i, part in enumerate(parts)]  # each break's own point dropped


def test_an_absence_breaks_every_line_of_that_person(figure):
    fig, ids = figure
    assert ids == [1, 2, 3]
    lines = emotion_lines(fig.axes[0])
    assert sorted(lines) == sorted(EMOTIONS)
    for label, line in lines.items():
        y = np.asarray(line.get_ydata(), float)
        assert np.isnan(y).sum() == 1, label
        parts = stretches(line)
        assert [(p[0], p[-1]) for p in parts] == [(0.0, 1.9), (5.0, 7.9)], label
        for part in parts:  # no straight line over more than the rule
            assert np.diff(part).max() <= gap_seconds() + 1e-9


def test_a_short_miss_within_the_rule_stays_one_line(figure):
    fig, _ = figure
    for label, line in emotion_lines(fig.axes[1]).items():
        assert not np.isnan(np.asarray(line.get_ydata(), float)).any(), label
        assert np.diff(np.asarray(line.get_xdata(), float)).max() == pytest.approx(0.6)


def test_a_lone_sighting_is_a_dot(figure):
    fig, _ = figure
    ax = fig.axes[2]
    dots = [line for line in ax.get_lines() if line.get_label() == "_nolegend_"]
    assert len(dots) == len(EMOTIONS)
    assert all(list(d.get_xdata()) == [6.0] and d.get_marker() == "." and d.get_linestyle() == "None" for d in dots)


def test_the_rule_widens_with_sparse_analysed_frames():
    assert gap_seconds() == SIGHTING_GAP_S
    # --every spacing analysed frames 2 s apart: consecutive sightings are not an absence.
    frames = [{"time_s": 2.0 * i, "faces": [face(1, 0.5)]} for i in range(5)]
    fig, _ = timeline_figure(frames, "sparse", frame_step_s=2.0)
    try:
        for line in emotion_lines(fig.axes[0]).values():
            assert not any(math.isnan(v) for v in line.get_ydata())
    finally:
        plt.close(fig)


def test_the_png_is_written(tmp_path):
    path = tmp_path / "timeline.png"
    assert plot_timeline(path, frames_of(8, in_view), "clip", frame_step_s=1 / FPS) == [1, 2, 3]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
