"""The emotion timeline of a video: one panel per face id, one line per emotion (smoothed)."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from analyzer.outputs import EMOTION_COLOURS  # noqa: E402
from sentivis.labels import EMOTIONS  # noqa: E402

MAX_PANELS = 8  # beyond this the faces seen longest are shown


def face_series(frames: list[dict[str, Any]]) -> dict[int, tuple[list[float], dict[str, list[float]]]]:
    """face id -> (times, {emotion: probabilities}) over the frames where it was seen with an emotion."""
    series: dict[int, tuple[list[float], dict[str, list[float]]]] = defaultdict(
        lambda: ([], {label: [] for label in EMOTIONS}))
    for frame in frames:
        for face in frame["faces"]:
            if face["probabilities"] is None:
                continue
            times, probs = series[face["id"]]
            times.append(frame["time_s"])
            for label in EMOTIONS:
                probs[label].append(face["probabilities"][label])
    return dict(series)


def plot_timeline(path: Path, frames: list[dict[str, Any]], title: str) -> list[int]:
    """Write the PNG; returns the face ids drawn (longest seen first, at most MAX_PANELS)."""
    series = face_series(frames)
    ids = sorted(series, key=lambda i: (-len(series[i][0]), i))[:MAX_PANELS]
    ids.sort()
    end = max((f["time_s"] for f in frames), default=0.0)
    fig, axes = plt.subplots(max(1, len(ids)), 1, figsize=(9, 1.2 + 1.8 * max(1, len(ids))), sharex=True,
                             squeeze=False)
    if not ids:
        axes[0][0].text(0.5, 0.5, "no faces with emotions found", ha="center", va="center")
        axes[0][0].set_yticks([])
    for ax, face_id in zip(axes[:, 0], ids):
        times, probs = series[face_id]
        for label in EMOTIONS:
            ax.plot(times, probs[label], color=[c / 255 for c in EMOTION_COLOURS[label]], label=label, lw=1.5,
                    marker="." if len(times) < 3 else None)
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"face #{face_id}")
        ax.grid(alpha=0.3)
    axes[-1][0].set_xlim(0, max(end, 1e-3))
    axes[-1][0].set_xlabel("time (s)")
    shown = f" ({len(ids)} of {len(series)} faces, seen longest)" if len(series) > len(ids) else ""
    axes[0][0].set_title(f"{title}: emotion probabilities (smoothed){shown}", fontsize=10)
    if ids:
        fig.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", ncol=7, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05 if ids else 0, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return ids
