"""Media files made from real faces, and the command run as a real subprocess."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.analyze.media import video_frames, write_video
from tests.conftest import REPO
from tests.pipeline.conftest import emotion_weights
from toolkit.samples import astronaut_frame, pasted_frame

VIDEO_FRAMES = 12


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path, timeout: float = 300, **env: str) -> Run:
    """`sentivis analyze ARGS` (as `python -m sentivis analyze`) with the test model; its exit code and output."""
    full_env = {**os.environ, "SENTIVIS_EMOTION_WEIGHTS": emotion_weights(), **env}
    proc = subprocess.run([sys.executable, "-m", "sentivis", "analyze", "--quiet", *map(str, args)], cwd=REPO,
                          env=full_env, capture_output=True, text=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def png_bytes(jpeg: bytes, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).convert(mode).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Path:
    """astronaut.jpg, pasted.png and clip.mp4 (12 frames, one face moving, one still)."""
    folder = tmp_path_factory.mktemp("media")
    (folder / "astronaut.jpg").write_bytes(astronaut_frame()[0])
    (folder / "pasted.png").write_bytes(png_bytes(pasted_frame()[0]))
    write_video(folder / "clip.mp4", video_frames(VIDEO_FRAMES))
    return folder


def blank_frames(count: int) -> list[np.ndarray]:
    return [np.full((240, 320, 3), 128, np.uint8) for _ in range(count)]
