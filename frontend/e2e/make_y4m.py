"""Writes a Y4M clip of a real face (scikit-image's astronaut) for Chromium's fake camera.

Usage: python e2e/make_y4m.py OUT.y4m [FRAMES]            640x480 at 30 fps, the face always in view
       python e2e/make_y4m.py OUT.y4m --leaving IN OUT    320x240 at 10 fps: the face in view IN
                                                          seconds, then covered OUT seconds
Prints the face's box in the clip as fractions of the frame: x0 y0 x1 y1. Chromium plays the clip
in a loop, at the rate its header says.
"""
import sys

import numpy as np
import skimage.data
from PIL import Image

# The astronaut's face in the 512x512 original (the same box toolkit/samples.py uses).
FACE = (170, 75, 265, 175)


def frame_rgb(width: int, height: int) -> np.ndarray:
    img = Image.fromarray(skimage.data.astronaut())
    top = img.crop((0, 0, 512, 384))  # 4:3, face kept whole
    return np.asarray(top.resize((width, height), Image.BICUBIC))


def without_face(rgb: np.ndarray) -> np.ndarray:
    """The picture with the face (and a margin) covered by a flat patch of its mean colour, as a hand would."""
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = FACE
    sx, sy = width / 512, height / 384
    mx, my = (x1 - x0) * 0.3, (y1 - y0) * 0.3
    box = (slice(max(0, int((y0 - my) * sy)), int((y1 + my) * sy)), slice(max(0, int((x0 - mx) * sx)), int((x1 + mx) * sx)))
    out = rgb.copy()
    out[box] = rgb[box].reshape(-1, 3).mean(axis=0).astype(np.uint8)
    return out


def i420(rgb: np.ndarray) -> bytes:
    height, width = rgb.shape[:2]
    ycc = np.asarray(Image.fromarray(rgb).convert("YCbCr"), dtype=np.float32)
    y = ycc[..., 0].astype(np.uint8)
    # 2x2 averaged chroma, as 4:2:0 expects.
    cb = ycc[..., 1].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3)).round().astype(np.uint8)
    cr = ycc[..., 2].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3)).round().astype(np.uint8)
    return y.tobytes() + cb.tobytes() + cr.tobytes()


def write(out: str, frames: list[np.ndarray], fps: int) -> None:
    height, width = frames[0].shape[:2]
    with open(out, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            handle.write(b"FRAME\n")
            handle.write(i420(rgb))


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]
    if args[:1] == ["--leaving"]:
        fps, seen_s, gone_s = 10, float(args[1]), float(args[2])
        rgb = frame_rgb(320, 240)
        gone = without_face(rgb)
        frames = [rgb] * round(seen_s * fps) + [gone] * round(gone_s * fps)
    else:
        fps, count = 30, int(args[0]) if args else 30
        rgb = frame_rgb(640, 480)
        # A slow one-pixel sway so the clip is a moving picture, not a still.
        frames = [np.roll(rgb, (i % 6) - 3, axis=1) for i in range(count)]
    write(out, frames, fps)
    x0, y0, x1, y1 = FACE
    print(f"{x0 / 512:.4f} {y0 / 384:.4f} {x1 / 512:.4f} {y1 / 384:.4f}")


if __name__ == "__main__":
    main()
