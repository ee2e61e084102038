"""The frame the load tools stream: scikit-image's astronaut (one real face), 320x240 JPEG."""
from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image


@lru_cache(maxsize=1)
def face_frame() -> bytes:
    import skimage.data

    img = Image.fromarray(skimage.data.astronaut()).resize((320, 320), Image.BICUBIC)
    out = io.BytesIO()
    Image.fromarray(np.asarray(img)[0:240]).save(out, format="JPEG", quality=85)
    return out.getvalue()
