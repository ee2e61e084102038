"""Real recorder processes (`python -m recorder`) against the test's Redis and a fresh database."""
from __future__ import annotations

import pytest

from sentivis.sessions import db
from sentivis.settings import Settings
from tests.recorder.support import Recorders


@pytest.fixture
def recorders(redis_url, database_url, tmp_path):
    started = Recorders(redis_url, database_url, tmp_path)
    yield started
    started.stop()


@pytest.fixture
def engine(database_url):
    database = db.Database(db.database_url(Settings(database_url=database_url)))
    yield database.ready()
    database.close()
