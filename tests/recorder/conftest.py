"""Real recorder processes (`python -m recorder`) against the test's Redis and a fresh database."""
from __future__ import annotations

import time

import pytest
import redis
import sqlalchemy as sa

from sentivis import records, streams
from sentivis.sessions import db, schema
from sentivis.settings import Settings
from toolkit.processes import Service


def wait_for(check, what: str, timeout: float = 60.0, interval: float = 0.05):
    """Until check() is true (polled), else AssertionError naming what did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(interval)


class Recorders:
    """Starts recorders with the test's settings; stops what is left at the end."""

    def __init__(self, redis_url: str, database_url: str, log_dir):
        self.env = {"SENTIVIS_REDIS_URL": redis_url, "SENTIVIS_DATABASE_URL": database_url,
                    "SENTIVIS_CLAIM_IDLE_MS": "500", "SENTIVIS_HEARTBEAT_S": "0.2", "SENTIVIS_BLOCK_MS": "100"}
        self.log_dir = log_dir
        self.started: list[Service] = []

    def start(self, name: str, **env: str) -> Service:
        service = Service("recorder", {**self.env, "SENTIVIS_CONSUMER_NAME": name, **env}, self.log_dir).start()
        self.started.append(service)
        return service

    def stop(self) -> None:
        for service in self.started:
            service.stop()


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


def append(client: redis.Redis, batch) -> None:
    pipe = client.pipeline(transaction=True)
    for record in batch:
        pipe.xadd(streams.RECORDS, records.encode(record))
    pipe.execute()


def counts(engine, session_id: str) -> dict[str, int]:
    """Rows of each table of one session and its counters."""
    with engine.connect() as connection:
        out = {t.name: connection.scalar(sa.select(sa.func.count()).select_from(t).where(t.c.session_id == session_id))
               for t in (schema.frames, schema.faces)}
        row = connection.execute(sa.select(schema.sessions).where(schema.sessions.c.id == session_id)).first()
    if row is not None:
        out |= {"frames": row.frames, "people": row.people, "gap_frames": row.gap_frames,
                "reported_frames": row.reported_frames, "ended": row.ended_at is not None}
    return out
