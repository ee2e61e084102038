"""Real face frames for the tests and the tools: scikit-image's astronaut and FER-2013 faces.

- `astronaut_frame()`: the astronaut (one real face) as a 320x240 JPEG, and its face box;
- `pasted_frame()`: three FER-2013 PublicTest faces pasted on a plain 320x240 background;
- `sample_frames()`: the benchmark's cycle of four frames with 0, 1, 2 and 3 faces (1.5 on average);
- `fer_faces()`, `compose()`, `jpeg()`, `huge_header_jpeg()`: the pieces, for other pictures;
- `iou()`: how well a box found a face (a detector's box against where the face was put).

FER-2013 is read from ../shared/data/fer2013/fer2013.csv.gz beside the repository. Needs Pillow
and scikit-image (the dev requirements), not any service image.
"""
from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from sentivis.contract import CROP_SIZE
from sentivis.settings import REPO_ROOT

FER_CSV = REPO_ROOT.parent / "shared" / "data" / "fer2013" / "fer2013.csv.gz"
FRAME_SIZE = (320, 240)
# Face box of the astronaut (512x512), annotated by hand: cheek to cheek, brows to chin.
ASTRONAUT_FACE = {"x": 178, "y": 88, "width": 94, "height": 87}
# Three FER-2013 PublicTest faces pasted in one 320x240 frame: (index, x, y, side).
PASTED = [(4, 20, 40, 80), (14, 120, 130, 90), (22, 215, 20, 100)]


@dataclass(frozen=True)
class SampleFrame:
    name: str
    jpeg: bytes
    faces: int  # faces placed in the frame (the detector's count is reported separately)


@lru_cache(maxsize=4)
def fer_faces(count: int = 64, usage: str = "PublicTest") -> tuple[np.ndarray, np.ndarray]:
    """The first `count` faces of one FER-2013 split: uint8 [N, 48, 48] and their labels. Lines of
    other splits are skipped unparsed (PublicTest starts after 28,709 training rows)."""
    images, labels = [], []
    with gzip.open(FER_CSV, "rt", newline="") as handle:
        next(handle)
        for line in handle:
            if line.rstrip("\r\n").rpartition(",")[2] != usage:
                continue
            emotion, pixels, _ = next(csv.reader([line]))
            images.append(np.array(pixels.split(), dtype=np.uint8).reshape(CROP_SIZE, CROP_SIZE))
            labels.append(int(emotion))
            if len(images) == count:
                break
    return np.stack(images), np.array(labels)


def astronaut() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()  # RGB 512x512; the face is near (170-265, 75-175)


def compose(faces: list[tuple[np.ndarray, int, int, int]], size=FRAME_SIZE, background: int = 128) -> np.ndarray:
    """Paste grey faces (image, x, y, side) on a plain RGB background; returns the RGB frame."""
    w, h = size
    frame = np.full((h, w, 3), background, dtype=np.uint8)
    for face, x, y, side in faces:
        img = Image.fromarray(face).resize((side, side), Image.BICUBIC).convert("RGB")
        frame[y:y + side, x:x + side] = np.asarray(img)
    return frame


def jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(out, format="JPEG", quality=quality)
    return out.getvalue()


@lru_cache(maxsize=1)
def astronaut_frame() -> tuple[bytes, dict[str, int]]:
    """The astronaut scaled to 320x320 and cropped to 320x240: the JPEG and its face box."""
    img = Image.fromarray(astronaut()).resize((320, 320), Image.BICUBIC)
    scale = 320 / 512
    box = {k: round(v * scale) for k, v in ASTRONAUT_FACE.items()}
    return jpeg(np.asarray(img)[0:240]), box


def pasted_frame(count: int = 3) -> tuple[bytes, list[dict[str, int]]]:
    """The first `count` PASTED FER faces in one 320x240 JPEG frame, and where they are."""
    faces, _ = fer_faces(64)
    placed = PASTED[:count]
    rgb = compose([(faces[i], x, y, side) for i, x, y, side in placed])
    return jpeg(rgb), [{"x": x, "y": y, "width": side, "height": side} for _, x, y, side in placed]


def sample_frames() -> list[SampleFrame]:
    """No face (scikit-image's coffee cup), the astronaut, two and three pasted FER faces."""
    import skimage.data

    coffee = np.asarray(Image.fromarray(skimage.data.coffee()).resize(FRAME_SIZE, Image.BICUBIC))
    return [SampleFrame("no-face", jpeg(coffee), 0), SampleFrame("astronaut", astronaut_frame()[0], 1),
            SampleFrame("fer-2", pasted_frame(2)[0], 2), SampleFrame("fer-3", pasted_frame(3)[0], 3)]


def huge_header(data: bytes, width: int, height: int) -> bytes:
    """The JPEG with its start-of-frame segment claiming width x height pixels."""
    out = bytearray(data)
    i = 2
    while True:
        marker, length = out[i + 1], int.from_bytes(out[i + 2:i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            out[i + 5:i + 7] = height.to_bytes(2, "big")
            out[i + 7:i + 9] = width.to_bytes(2, "big")
            return bytes(out)
        i += 2 + length


def huge_header_jpeg(width: int = 20000, height: int = 20000) -> bytes:
    """A small valid JPEG whose SOF header claims width x height pixels."""
    return huge_header(jpeg(np.full((16, 16, 3), 100, np.uint8)), width, height)


def iou(a, b) -> float:
    """Overlap of two boxes (maps {"x", "y", "width", "height"}, as events carry them, or
    sentivis.protocol.Box): intersection over union, 0..1."""
    (ax, ay, aw, ah), (bx, by, bw, bh) = (
        (box["x"], box["y"], box["width"], box["height"]) if isinstance(box, dict) else
        (box.x, box.y, box.width, box.height) for box in (a, b))
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0
