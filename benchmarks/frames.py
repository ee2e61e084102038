"""The benchmark's input: real 320x240 JPEG frames with 0, 1, 2 and 3 faces.

The faces are real: scikit-image's astronaut (one face) and FER-2013 PublicTest faces pasted on
a plain background (two and three faces); the no-face frame is scikit-image's coffee cup. Every
client cycles through the four frames, so an average frame has 1.5 faces.
"""
from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
FER_CSV = REPO.parent / "shared" / "data" / "fer2013" / "fer2013.csv.gz"
SIZE = (320, 240)
# FER-2013 PublicTest faces pasted in one frame: (index, x, y, side); the same as tests/images.py.
PASTED = [(4, 20, 40, 80), (14, 120, 130, 90), (22, 215, 20, 100)]


@dataclass(frozen=True)
class BenchFrame:
    name: str
    jpeg: bytes
    faces: int  # faces placed in the frame (the detector's count is reported separately)


def jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def fer_faces(indices: list[int], usage: str = "PublicTest") -> dict[int, np.ndarray]:
    """Faces number `indices` of one FER-2013 split. Lines of other splits are skipped unparsed
    (PublicTest starts after 28,709 training rows)."""
    wanted, found = set(indices), {}
    with gzip.open(FER_CSV, "rt", newline="") as handle:
        next(handle)
        i = 0
        for line in handle:
            if line.rstrip("\r\n").rpartition(",")[2] != usage:
                continue
            if i in wanted:
                _, pixels, _ = next(csv.reader([line]))
                found[i] = np.array(pixels.split(), dtype=np.uint8).reshape(48, 48)
                if len(found) == len(wanted):
                    break
            i += 1
    return found


def pasted(faces: dict[int, np.ndarray], placements) -> np.ndarray:
    w, h = SIZE
    frame = np.full((h, w, 3), 128, dtype=np.uint8)
    for index, x, y, side in placements:
        img = Image.fromarray(faces[index]).resize((side, side), Image.BICUBIC).convert("RGB")
        frame[y:y + side, x:x + side] = np.asarray(img)
    return frame


def build_frames() -> list[BenchFrame]:
    import skimage.data

    coffee = Image.fromarray(skimage.data.coffee()).resize(SIZE, Image.BICUBIC)
    astronaut = np.asarray(Image.fromarray(skimage.data.astronaut()).resize((320, 320), Image.BICUBIC))[0:240]
    faces = fer_faces([i for i, *_ in PASTED])
    return [
        BenchFrame("no-face", jpeg(np.asarray(coffee)), 0),
        BenchFrame("astronaut", jpeg(np.ascontiguousarray(astronaut)), 1),
        BenchFrame("fer-2", jpeg(pasted(faces, PASTED[:2])), 2),
        BenchFrame("fer-3", jpeg(pasted(faces, PASTED)), 3),
    ]
