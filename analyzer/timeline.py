"""The emotion timeline of a video: one panel per face id, one line per emotion (smoothed).

A person's absence is a gap in their lines, never a straight line across it: two sightings further
apart than the gap rule (`gap_seconds`) are drawn as separate stretches (a NaN between them, which
matplotlib leaves undrawn), and a sighting alone between two gaps is drawn as a dot. The rule is the
one the page and the sessions API use for time in view (SIGHTING_GAP_S), widened to 1.5 analysed
frames when `--every` spaces the analysed frames further apart than that.
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analyzer.outputs import EMOTION_COLOURS  # noqa: E402
from sentivis.labels import EMOTIONS  # noqa: E402
from sentivis.sessions.queries import SIGHTING_GAP_S  # noqa: E402

MAX_PANELS = 8  # beyond this the faces seen longest are shown
FRAMES_PER_GAP = 1.5  # analysed frames further apart than this many frame steps: the person was away

Series = tuple[list[float], dict[str, list[float]]]


def gap_seconds(frame_step_s: float = 0.0) -> float:
    """Sightings further apart than this are two stretches: the person was away in between."""
    return max(SIGHTING_GAP_S, FRAMES_PER_GAP * frame_step_s)


def face_series(frames: list[dict[str, Any]]) -> dict[int, Series]:
    """face id -> (times, {emotion: probabilities}) over the frames where it was seen with an emotion."""
    series: dict[int, Series] = defaultdict(lambda: ([], {label: [] for label in EMOTIONS}))
    for frame in frames:
        for face in frame["faces"]:
            if face["probabilities"] is None:
                continue
            times, probs = series[face["id"]]
            times.append(frame["time_s"])
            for label in EMOTIONS:
                probs[label].append(face["probabilities"][label])
    return dict(series)


def with_gaps(times: list[float], probs: dict[str, list[float]], gap_s: float) -> Series:
    """The same series with a NaN point between sightings more than `gap_s` apart (matplotlib breaks the line)."""
    out_t: list[float] = []
    out_p: dict[str, list[float]] = {label: [] for label in probs}
    for i, t in enumerate(times):
        if i and t - times[i - 1] > gap_s:
            out_t.append((t + times[i - 1]) / 2)
            for label in probs:
                out_p[label].append(math.nan)
        out_t.append(t)
        for label in probs:
            out_p[label].append(probs[label][i])
    return out_t, out_p


def lone_points(times: list[float], gap_s: float) -> list[int]:
    """Indexes of sightings with a gap (or the end) on both sides: a line cannot show them."""
    def apart(i: int, j: int) -> bool:
        return not 0 <= j < len(times) or abs(times[j] - times[i]) > gap_s
    return [i for i in range(len(times)) if apart(i, i - 1) and apart(i, i + 1)]


def timeline_figure(frames: list[dict[str, Any]], title: str, frame_step_s: float = 0.0) -> tuple[Figure, list[int]]:
    """The figure, and the face ids drawn (longest seen first, at most MAX_PANELS, in id order)."""
    series = face_series(frames)
    gap_s = gap_seconds(frame_step_s)
    ids = sorted(series, key=lambda i: (-len(series[i][0]), i))[:MAX_PANELS]
    ids.sort()
    end = max((f["time_s"] for f in frames), default=0.0)
    fig, axes = plt.subplots(max(1, len(ids)), 1, figsize=(9, 1.2 + 1.8 * max(1, len(ids))), sharex=True,
                             squeeze=False)
    if not ids:
        axes[0][0].text(0.5, 0.5, "no faces with emotions found", ha="center", va="center")
        axes[0][0].set_yticks([])
    for ax, face_id in zip(axes[:, 0], ids, strict=False):
        times, probs = series[face_id]
        gapped_t, gapped_p = with_gaps(times, probs, gap_s)
        alone = lone_points(times, gap_s)
        for label in EMOTIONS:
            colour = [c / 255 for c in EMOTION_COLOURS[label]]
            ax.plot(gapped_t, gapped_p[label], color=colour, label=label, lw=1.5)
            if alone:
                ax.plot([times[i] for i in alone], [probs[label][i] for i in alone], color=colour, ls="none",
                        marker=".", label="_nolegend_")
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"face #{face_id}")
        ax.grid(alpha=0.3)
    axes[-1][0].set_xlim(0, max(end, 1e-3))
    axes[-1][0].set_xlabel("time (s)")
    shown = f" ({len(ids)} of {len(series)} faces, seen longest)" if len(series) > len(ids) else ""
    axes[0][0].set_title(f"{title}: emotion probabilities (smoothed; gaps: not in view){shown}", fontsize=10)
    if ids:
        fig.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", ncol=7, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05 if ids else 0, 1, 1))
    return fig, ids


def plot_timeline(path: Path, frames: list[dict[str, Any]], title: str, frame_step_s: float = 0.0) -> list[int]:
    """Write the PNG; frame_step_s: the time between analysed frames. Returns the face ids drawn."""
    fig, ids = timeline_figure(frames, title, frame_step_s)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return ids
