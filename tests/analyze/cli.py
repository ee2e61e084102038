"""The `sentivis analyze` command, run as a real subprocess with the test model."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sentivis.settings import REPO_ROOT
from tests.support.stack import emotion_weights


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path, timeout: float = 300, **env: str) -> Run:
    """`sentivis analyze ARGS` (as `python -m sentivis analyze`) with the test model; its exit code and output."""
    full_env = {**os.environ, "SENTIVIS_EMOTION_WEIGHTS": emotion_weights(), **env}
    proc = subprocess.run([sys.executable, "-m", "sentivis", "analyze", "--quiet", *map(str, args)], cwd=REPO_ROOT,
                          env=full_env, capture_output=True, text=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)
