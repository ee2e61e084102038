"""Which files to analyse, and their frames as RGB arrays (PIL for images, OpenCV for videos)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
from PIL import Image, ImageOps

from sentivis.errors import SentivisError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".webm")
DEFAULT_FPS = 25.0  # when a video does not say


class InputError(SentivisError):
    """A file that cannot be analysed; the message says why, for the user."""


@dataclass(frozen=True)
class Input:
    path: Path
    kind: str  # "image" or "video"


@dataclass(frozen=True)
class Frame:
    index: int  # in the source video (0 for an image)
    time_s: float
    rgb: np.ndarray


@dataclass
class VideoInfo:
    fps: float
    frame_count: int  # as the container claims it; 0 when unknown
    width: int
    height: int


def kind_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return "image" if suffix in IMAGE_EXTENSIONS else "video" if suffix in VIDEO_EXTENSIONS else None


def expand(paths: list[str]) -> tuple[list[Input], list[tuple[str, str]]]:
    """Command-line paths -> the files to analyse, and (path, reason) for those that cannot be.

    A folder contributes its supported files (recursively, sorted) and ignores the rest; a file
    named on the command line must itself be supported.
    """
    found: list[Input] = []
    errors: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and kind_of(p))
            if not inside:
                errors.append((raw, "the folder has no image or video files "
                                    f"({', '.join(IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)})"))
            found.extend(Input(p, kind_of(p)) for p in inside)
        elif not path.exists():
            errors.append((raw, "no such file or folder"))
        elif kind_of(path) is None:
            errors.append((raw, f"unsupported file type {path.suffix or '(no extension)'!r}; images: "
                                f"{', '.join(IMAGE_EXTENSIONS)}; videos: {', '.join(VIDEO_EXTENSIONS)}"))
        else:
            found.append(Input(path, kind_of(path)))
    return found, errors


def read_image(path: Path) -> np.ndarray:
    """An image file -> RGB uint8 [H, W, 3], turned upright as its EXIF says."""
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            return np.asarray(img.convert("RGB"))
    except Image.DecompressionBombError as exc:
        raise InputError(f"the image has too many pixels ({exc})") from None
    except (OSError, ValueError, SyntaxError) as exc:  # what PIL raises for unreadable or broken files
        raise InputError(f"not a readable image ({exc})") from None


class VideoReader:
    """Frames of one video file through OpenCV, counting how many the file really had."""

    def __init__(self, path: Path):
        if not path.is_file():
            raise InputError("no such file")
        self.capture = cv2.VideoCapture(str(path))
        if not self.capture.isOpened():
            raise InputError("the video cannot be opened (not a video, truncated, or an unsupported codec)")
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.info = VideoInfo(fps=fps if 0 < fps < 1000 else DEFAULT_FPS,
                              frame_count=max(0, int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT))),
                              width=int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                              height=int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.seen = 0  # frames read or skipped so far

    def frames(self, every: int) -> Iterator[Frame]:
        """Every `every`th frame (0, N, 2N, ...); the frames between are skipped without decoding."""
        while True:
            index = self.seen
            if index % every == 0:
                ok, bgr = self.capture.read()
                if not ok:
                    return
                self.seen += 1
                yield Frame(index, index / self.info.fps, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            else:
                if not self.capture.grab():
                    return
                self.seen += 1

    def problem(self) -> str | None:
        """After reading: why the video looks broken, or None."""
        declared = self.info.frame_count
        if self.seen == 0:
            return "no frame of the video could be decoded (empty, truncated or an unsupported codec)"
        # Containers may over-state the count a little (rounded durations); far fewer frames is a cut file.
        if declared and self.seen < declared - max(2, declared // 20):
            return (f"the video ended after {self.seen} of the {declared} frames it declares; "
                    "it is probably truncated (the frames read were analysed)")
        return None

    def close(self) -> None:
        self.capture.release()
