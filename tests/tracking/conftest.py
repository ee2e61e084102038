"""Recorded sequences for the tracking tests: scripted FER-2013 faces through the real detector
and emotion model (toolkit/sequences.py), seed 0, recorded once per test session."""
from __future__ import annotations

import pytest

from toolkit.sequences import Recording, record_all

NAMES = ["crossing-partial", "crossing-full", "pass-in-front", "leave-reenter", "new-face", "constant",
         "expression-change"]


@pytest.fixture(scope="session")
def recordings() -> dict[str, Recording]:
    return {r.scenario.name: r for r in record_all(0, NAMES)}
