"""The settings and the start of a real test stack: gateway, detector(s) and classifier processes on a
private Redis (toolkit.stack)."""
from __future__ import annotations

import os
from pathlib import Path

from sentivis.settings import SHIPPED_MODEL
from toolkit.stack import Stack


def emotion_weights() -> str:
    """The shipped model (override with SENTIVIS_EMOTION_WEIGHTS to try another)."""
    path = os.environ.get("SENTIVIS_EMOTION_WEIGHTS") or str(SHIPPED_MODEL)
    assert Path(path).is_file(), f"the emotion model {path} is missing"
    return path


def stack_env(**env: str) -> dict[str, str]:
    """The settings of a test stack; generous time limits: the test machine is small and shared,
    and the limits themselves are tested elsewhere."""
    return {"SENTIVIS_EMOTION_WEIGHTS": emotion_weights(), "SENTIVIS_HEARTBEAT_S": "0.5",
            "SENTIVIS_MAX_FRAME_AGE_MS": "5000", "SENTIVIS_FRAME_TIMEOUT_MS": "10000", **env}


def start_stack(redis_url: str, log_dir: Path, detectors: int = 1, **env: str) -> Stack:
    """Started and ready (the gateway's /readyz counts every replica); a stack that fails to
    start leaves no process behind."""
    return Stack(detectors, 1, redis_url=redis_url, env=stack_env(**env), log_dir=log_dir).start_ready(timeout=120)
