"""A face crop's appearance: what brings a person back to their own id after they were hidden.

The classifier computes it from the 48x48 crop the detector already makes and sends it with the
face (float16 bytes, `appearance_bytes`); the gateway's tracker compares faces by cosine. Numpy only.
"""
from __future__ import annotations

import numpy as np

from sentivis.contract import CROP_SIZE
from sentivis.protocol import APPEARANCE_DTYPE

APPEARANCE_GRID = 8  # the appearance vector is an 8x8 grid of the crop's centre: 64 numbers
_INNER = slice(4, 44)  # the crop's centre 40x40, without most of the detector margin (background)


def appearance(crop: np.ndarray) -> np.ndarray:
    """A face crop's appearance: float32 [64], unit length, for comparing faces by cosine.

    crop: uint8 [48, 48] grey, as the detector cuts it. The centre 40x40 summed over an 8x8 grid
    of 5x5 blocks, less its mean: brightness-independent, blind to the detector's few-pixel
    jitter, and about 15 µs of numpy (docs/TRACKING.md compares it with a gradient histogram). Raises
    ValueError for anything but a [48, 48] uint8 array.
    """
    if not isinstance(crop, np.ndarray) or crop.dtype != np.uint8 or crop.shape != (CROP_SIZE, CROP_SIZE):
        shape = getattr(crop, "shape", None)
        raise ValueError(f"appearance() needs a uint8 [48, 48] crop; got {type(crop).__name__} "
                         f"{getattr(crop, 'dtype', '')} {list(shape) if shape is not None else ''}".rstrip())
    cells = crop[_INNER, _INNER].reshape(APPEARANCE_GRID, 5, APPEARANCE_GRID, 5).sum(axis=(1, 3), dtype=np.int32)
    vector = cells.ravel().astype(np.float32)
    vector -= vector.mean()
    norm = float(np.sqrt(vector @ vector))
    return vector / norm if norm > 1e-6 else np.zeros(APPEARANCE_GRID ** 2, np.float32)


def appearance_bytes(crop: np.ndarray) -> bytes:
    """appearance() as a face carries it on the streams: little-endian float16, 128 bytes."""
    return appearance(crop).astype(APPEARANCE_DTYPE).tobytes()


def appearance_distance(a: np.ndarray, b: np.ndarray) -> float:
    """0 for the same direction, 1 for opposite: (1 - cosine) / 2 of two appearance vectors."""
    return min(1.0, max(0.0, (1.0 - float(np.dot(a, b))) / 2.0))
