"""Media files made from real faces (tests/analyze/media.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.analyze.media import VIDEO_FRAMES, png_bytes, video_frames, write_video
from toolkit.samples import astronaut_frame, pasted_frame


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Path:
    """astronaut.jpg, pasted.png and clip.mp4 (12 frames, one face moving, one still)."""
    folder = tmp_path_factory.mktemp("media")
    (folder / "astronaut.jpg").write_bytes(astronaut_frame()[0])
    (folder / "pasted.png").write_bytes(png_bytes(pasted_frame()[0]))
    write_video(folder / "clip.mp4", video_frames(VIDEO_FRAMES))
    return folder
