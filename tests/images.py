"""Real face images for tests: scikit-image's astronaut and FER-2013 faces, as JPEG frames."""
from __future__ import annotations

import csv
import gzip
import io
from functools import lru_cache

import numpy as np
from PIL import Image

from gateway.tracking import iou  # noqa: F401  (re-exported for the tests)

from tests.conftest import FER_CSV


@lru_cache(maxsize=4)
def fer_faces(count: int = 64, usage: str = "PublicTest") -> tuple[np.ndarray, np.ndarray]:
    """The first `count` faces of one FER-2013 split: uint8 [N, 48, 48] and labels."""
    images, labels = [], []
    with gzip.open(FER_CSV, "rt", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for emotion, pixels, row_usage in reader:
            if row_usage == usage:
                images.append(np.array(pixels.split(), dtype=np.uint8).reshape(48, 48))
                labels.append(int(emotion))
                if len(images) == count:
                    break
    return np.stack(images), np.array(labels)


def astronaut() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()  # RGB 512x512; the face is near (170-265, 75-175)


def compose(faces: list[tuple[np.ndarray, int, int, int]], size=(320, 240), background: int = 128) -> np.ndarray:
    """Paste grey faces (image, x, y, side) on a plain RGB background; returns the RGB frame."""
    w, h = size
    frame = np.full((h, w, 3), background, dtype=np.uint8)
    for face, x, y, side in faces:
        img = Image.fromarray(face).resize((side, side), Image.BICUBIC).convert("RGB")
        frame[y:y + side, x:x + side] = np.asarray(img)
    return frame


def jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=quality)
    return out.getvalue()


# Face box of the astronaut (512x512), annotated by hand: cheek to cheek, brows to chin.
ASTRONAUT_FACE = {"x": 178, "y": 88, "width": 94, "height": 87}
# Three FER-2013 PublicTest faces pasted in one 320x240 frame: (index, x, y, side).
PASTED = [(4, 20, 40, 80), (14, 120, 130, 90), (22, 215, 20, 100)]


def astronaut_frame() -> tuple[bytes, dict[str, int]]:
    """The astronaut scaled to 320x320 and cropped to 320x240: the JPEG and its face box."""
    img = Image.fromarray(astronaut()).resize((320, 320), Image.BICUBIC)
    scale = 320 / 512
    box = {k: round(v * scale) for k, v in ASTRONAUT_FACE.items()}
    return jpeg(np.asarray(img)[0:240]), box


def pasted_frame() -> tuple[bytes, list[dict[str, int]]]:
    """The PASTED FER faces in one 320x240 JPEG frame, and where they are."""
    faces, _ = fer_faces(64)
    rgb = compose([(faces[i], x, y, side) for i, x, y, side in PASTED])
    return jpeg(rgb), [{"x": x, "y": y, "width": side, "height": side} for _, x, y, side in PASTED]


def huge_header_jpeg(width: int = 20000, height: int = 20000) -> bytes:
    """A small valid JPEG whose SOF header claims width x height pixels."""
    from reliability.fuzz import huge_header

    return huge_header(jpeg(np.full((16, 16, 3), 100, np.uint8)), width, height)
