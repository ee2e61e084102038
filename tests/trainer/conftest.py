"""Small FER-format data sets made of real FER-2013 faces (tests/support/fer.py), fast enough for unit tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fer import write_fer_csv


@pytest.fixture
def fer_csv(tmp_path, fer_rows) -> Path:
    return write_fer_csv(tmp_path / "fer-small.csv", fer_rows)


@pytest.fixture
def fer_csv_gz(tmp_path, fer_rows) -> Path:
    return write_fer_csv(tmp_path / "fer-small.csv.gz", fer_rows)
