"""Real recorder processes (`python -m recorder`), records appended as gateways append them, and the
rows a session got."""
from __future__ import annotations

import redis
import sqlalchemy as sa

from sentivis import records, streams
from sentivis.sessions import schema
from toolkit.processes import Service


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
