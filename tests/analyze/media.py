"""Real test media: a short video of FER-2013 faces (one moving, one still), and broken files."""
from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from analyzer.outputs import VideoSink
from toolkit.samples import FRAME_SIZE, compose, fer_faces

VIDEO_SIZE = FRAME_SIZE
VIDEO_FPS = 10.0
VIDEO_FRAMES = 12  # of the `media` fixture's clip.mp4
MOVING = (4, 80)  # FER PublicTest index, side: walks right along y=100, 8 px a frame
STILL = (22, 215, 20, 100)  # index, x, y, side


def face_places(frame_index: int) -> list[dict[str, int]]:
    """Where the faces are in frame `frame_index`: the moving one first."""
    _, side = MOVING
    _, x, y, still_side = STILL
    return [{"x": 20 + 8 * frame_index, "y": 100, "width": side, "height": side},
            {"x": x, "y": y, "width": still_side, "height": still_side}]


def video_frames(count: int) -> list[np.ndarray]:
    faces, _ = fer_faces(64)
    frames = []
    for i in range(count):
        moving, still = face_places(i)
        frames.append(compose([(faces[MOVING[0]], moving["x"], moving["y"], moving["width"]),
                               (faces[STILL[0]], still["x"], still["y"], still["width"])], VIDEO_SIZE))
    return frames


# Who is in each frame of `comings_and_goings` (10 fps): person -> (FER index, x, y, side) and frames.
# "back" is hidden 0.8 s (8 frames: the old tracker forgot a face after 5) and comes back; "newcomer"
# comes in where "back" was, 2.5 s after it left for good (past the tracker's 2 s memory).
PEOPLE = {"back": ((4, 20, 40, 80), [*range(0, 6), *range(14, 20)]),
          "still": ((22, 215, 20, 100), list(range(0, 51))),
          "newcomer": ((14, 20, 40, 80), list(range(45, 51)))}


def comings_and_goings() -> list[np.ndarray]:
    """51 frames of PEOPLE: one face stays, one is hidden and comes back, then a new one comes in."""
    faces, _ = fer_faces(64)
    return [compose([(faces[i], x, y, side) for (i, x, y, side), seen in PEOPLE.values() if frame in seen],
                    VIDEO_SIZE) for frame in range(51)]


def write_video(path: Path, frames: list[np.ndarray], fps: float = VIDEO_FPS) -> Path:
    """RGB frames -> an mp4v video (or MJPG for .avi), as the analyzer writes its own."""
    sink = VideoSink(path, fps)
    for rgb in frames:
        sink.write(rgb)
    sink.close()
    return path


def count_frames(path: Path) -> int:
    """Frames OpenCV really decodes from a video (not the header's claim)."""
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"{path} does not open"
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def png_bytes(jpeg: bytes, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).convert(mode).save(out, format="PNG")
    return out.getvalue()


def blank_frames(count: int) -> list[np.ndarray]:
    return [np.full((240, 320, 3), 128, np.uint8) for _ in range(count)]
