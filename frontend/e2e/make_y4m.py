"""Writes a short 640x480 Y4M clip of a real face (scikit-image's astronaut) for Chromium's fake camera.

Usage: python e2e/make_y4m.py OUT.y4m [FRAMES]
Prints the face's box in the clip as fractions of the frame: x0 y0 x1 y1.
"""
import sys

import numpy as np
import skimage.data
from PIL import Image

WIDTH, HEIGHT = 640, 480
# The astronaut's face in the 512x512 original (the same box sentivis/samples.py uses).
FACE = (170, 75, 265, 175)


def frame_rgb() -> np.ndarray:
    img = Image.fromarray(skimage.data.astronaut())
    top = img.crop((0, 0, 512, 384))  # 4:3, face kept whole
    return np.asarray(top.resize((WIDTH, HEIGHT), Image.BICUBIC))


def i420(rgb: np.ndarray) -> bytes:
    ycc = np.asarray(Image.fromarray(rgb).convert("YCbCr"), dtype=np.float32)
    y = ycc[..., 0].astype(np.uint8)
    # 2x2 averaged chroma, as 4:2:0 expects.
    cb = ycc[..., 1].reshape(HEIGHT // 2, 2, WIDTH // 2, 2).mean(axis=(1, 3)).round().astype(np.uint8)
    cr = ycc[..., 2].reshape(HEIGHT // 2, 2, WIDTH // 2, 2).mean(axis=(1, 3)).round().astype(np.uint8)
    return y.tobytes() + cb.tobytes() + cr.tobytes()


def main() -> None:
    out = sys.argv[1]
    frames = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    rgb = frame_rgb()
    with open(out, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F30:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            # A slow one-pixel sway so the clip is a moving picture, not a still.
            shifted = np.roll(rgb, (i % 6) - 3, axis=1)
            handle.write(b"FRAME\n")
            handle.write(i420(shifted))
    x0, y0, x1, y1 = FACE
    print(f"{x0 / 512:.4f} {y0 / 384:.4f} {x1 / 512:.4f} {y1 / 384:.4f}")


if __name__ == "__main__":
    main()
