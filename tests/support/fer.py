"""Small FER-format data sets made of real FER-2013 faces, fast enough for unit tests."""
from __future__ import annotations

import csv
import gzip
import io
import itertools
from pathlib import Path

import numpy as np
from PIL import Image

from sentivis.labels import EMOTIONS
from toolkit.samples import FER_CSV

# Different sizes per split, so a report on the wrong split shows in its sample count.
SPLIT_SIZES = {"Training": 160, "PublicTest": 48, "PrivateTest": 72}
TINY_WIDTHS = (4, 8)  # a two-stage EmotionNet: trains and exports in well under a second


def first_fer_rows(count: int = sum(SPLIT_SIZES.values())) -> list[tuple[str, str]]:
    """The first `count` rows of the real FER-2013 CSV as (emotion, pixels) strings."""
    assert FER_CSV.is_file(), f"the real FER-2013 CSV is missing at {FER_CSV}"
    with io.TextIOWrapper(gzip.open(FER_CSV, "rb"), encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [(row[0], row[1]) for row in itertools.islice(reader, count)]


def write_fer_csv(path: Path, rows: list[tuple[str, str]], sizes: dict[str, int] = SPLIT_SIZES) -> Path:
    """The first rows of `rows`, as many as `sizes` adds up to, in the original emotion,pixels,Usage
    layout; gzipped when the name ends in .gz."""
    usages = [usage for usage, n in sizes.items() for _ in range(n)]
    assert len(rows) >= len(usages), f"{len(rows)} rows for {len(usages)} places"
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["emotion", "pixels", "Usage"])
        for (emotion, pixels), usage in zip(rows[:len(usages)], usages, strict=True):
            writer.writerow([emotion, pixels, usage])
    return path


def write_class_folders(root: Path, rows: list[tuple[str, str]], n_train: int = 200) -> Path:
    """train/<class>/*.png and test/<class>/*.png, the layout of the Kaggle image release."""
    for i, (emotion, pixels) in enumerate(rows):
        split = "train" if i < n_train else "test"
        folder = root / split / EMOTIONS[int(emotion)]
        folder.mkdir(parents=True, exist_ok=True)
        image = np.array(pixels.split(), dtype=np.uint8).reshape(48, 48)
        Image.fromarray(image).save(folder / f"{i:05d}.png")
    return root


def write_tiny_fer_csv(path: Path, per_split: int = 64) -> None:
    """The first `per_split` real FER-2013 rows of every split, uncompressed: a one-epoch training run
    in the trainer image (the compose and swarm tests)."""
    counts = {"Training": 0, "PublicTest": 0, "PrivateTest": 0}
    with gzip.open(FER_CSV, "rt") as src, open(path, "w") as dst:
        dst.write(next(src))
        for line in src:
            usage = line.rstrip().rsplit(",", 1)[-1]
            if counts.get(usage, per_split) < per_split:
                counts[usage] += 1
                dst.write(line)
            if all(c >= per_split for c in counts.values()):
                break
