"""The recorder: records from `{sentivis}:records` -> the sessions database, exactly once in effect.

A stream worker (sentivis/worker.py) in the "recorders" group. Each read (up to
SENTIVIS_RECORDER_BATCH records) is written in one database transaction
(sentivis.sessions.store.write_records: idempotent), and only after its commit are the entries
acknowledged and deleted (XACK and XDEL in one MULTI/EXEC): delivery is at least once, and a
record written twice leaves one row. So:

- a recorder killed before its commit leaves its entries pending; another (or itself, restarted)
  claims them after SENTIVIS_CLAIM_IDLE_MS and writes them;
- killed between commit and XACK: the entries are written again, and nothing changes;
- the database down, restarting or locked: nothing is acknowledged; the same batch is retried
  with backoff (redis-py's backoff object) until it is written or the recorder stops, while the
  heartbeat goes on and says so. The records wait in the stream meanwhile, bounded by the
  gateways (SENTIVIS_RECORDS_MAX_BACKLOG).

A record that does not decode, or that the database refuses as data (not as an outage), is
logged and acknowledged so that it cannot block the stream; the others of its batch are written.
Between reads: the schema is migrated once at start (sentivis.sessions.db), and every
RETENTION_CHECK_S sessions older than SENTIVIS_SESSION_RETENTION_DAYS are deleted.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Callable

import redis
import sqlalchemy as sa
from redis.backoff import ExponentialBackoff

from sentivis import records, streams
from sentivis.records import Record
from sentivis.sessions import store
from sentivis.sessions.db import UNAVAILABLE, Database, DatabaseUnavailable, short_error
from sentivis.settings import Settings
from sentivis.worker import Entry, StreamWorker

log = logging.getLogger(__name__)

RETENTION_CHECK_S = 60.0
# Seconds before the n-th retry of a batch the database did not take: 0.2, 0.4 ... at most 5.
DATABASE_BACKOFF = ExponentialBackoff(cap=5.0, base=0.1)


class Recorder(StreamWorker):
    service = "recorder"
    stream = streams.RECORDS
    group = streams.RECORDER_GROUP
    group_start = "0"  # records appended before the group existed (a restarted Redis) are written too

    def __init__(self, settings: Settings, consumer: str | None = None, clock: Callable[[], float] = time.time):
        super().__init__(dataclasses.replace(settings, read_count=settings.recorder_batch), consumer)
        self.database = Database.from_settings(settings)
        self.clock = clock
        self.database_ok = False
        self.written_frames = 0
        self.written_faces = 0
        self.refused = 0  # records acknowledged without being written (malformed, refused as data)
        self._next_retention = 0.0

    # -- hooks -----------------------------------------------------------------------------
    def heartbeat_info(self) -> dict[str, Any]:
        return {"ready": self.database_ok, "database": self.database.dialect, "frames_written": self.written_frames,
                "faces_written": self.written_faces, "refused": self.refused}

    def housekeeping(self, client: redis.Redis) -> None:
        now = time.monotonic()
        if now < self._next_retention:
            return
        self._next_retention = now + RETENTION_CHECK_S
        try:
            self.expire_sessions()
        except (DatabaseUnavailable, *UNAVAILABLE) as exc:
            self._database_down(exc)

    def handle(self, client: redis.Redis, entries: list[Entry]) -> None:
        batch: list[Record] = []
        for entry_id, fields in entries:
            try:
                batch.append(records.decode(fields))
            except ValueError as exc:
                self.refused += 1
                log.error("record %s cannot be read and is dropped: %s", entry_id.decode(), exc)
        if batch and not self._write(client, batch):
            return  # stopping while the database is down: the entries stay pending for the next one
        ids = [entry_id for entry_id, _ in entries]
        pipe = client.pipeline(transaction=True)
        pipe.xack(self.stream, self.group, *ids)
        pipe.xdel(self.stream, *ids)
        pipe.execute()

    def close(self) -> None:
        self.database.close()

    # -- writing -----------------------------------------------------------------------------
    def _write(self, client: redis.Redis, batch: list[Record]) -> bool:
        """Write the batch, retrying while the database is unavailable; False when stopped first."""
        failures = 0
        while True:
            try:
                try:
                    with self.database.ready().begin() as connection:
                        written = store.write_records(connection, batch)
                except sa.exc.DBAPIError as exc:
                    if isinstance(exc, UNAVAILABLE):
                        raise
                    # refused as data, not as an outage: write what can be written, one by one
                    log.error("the database refused a batch of %d records (%s); writing them one at a time",
                              len(batch), short_error(exc))
                    written = self._one_by_one(batch)
            except (DatabaseUnavailable, *UNAVAILABLE) as exc:
                failures += 1
                self._database_down(exc)
                self._heartbeat_if_due(client)
                if self.stopping.wait(DATABASE_BACKOFF.compute(failures)):
                    return False
                continue
            if not self.database_ok:
                log.info("sessions database available")
                self.database_ok = True
                self.beat_now()
            self.written_frames += written.frames
            self.written_faces += written.faces
            return True

    def _one_by_one(self, batch: list[Record]) -> store.Written:
        total = store.Written()
        for record in batch:
            try:
                with self.database.ready().begin() as connection:
                    written = store.write_records(connection, [record])
            except UNAVAILABLE:
                raise
            except sa.exc.DBAPIError as exc:
                self.refused += 1
                log.error("record of session %s (%s) refused by the database and dropped: %s",
                          record.session_id, type(record).__name__, short_error(exc))
                continue
            total.frames += written.frames
            total.faces += written.faces
        return total

    def _database_down(self, exc: BaseException) -> None:
        if self.database_ok:
            self.beat_now()
        self.database_ok = False
        log.warning("sessions database: %s; records wait in %s", short_error(exc), self.stream)

    # -- retention ---------------------------------------------------------------------------
    def expire_sessions(self) -> int:
        """Delete the sessions older than the retention (0: none) and forget old tombstones."""
        engine = self.database.ready()
        self.database_ok = True
        days = self.settings.session_retention_days
        now = self.clock()
        deleted = 0
        while days > 0:
            with engine.begin() as connection:
                expired = store.expired_sessions(connection, now - days * 86400)
                for session_id in expired:
                    store.delete_session(connection, session_id, now)
            deleted += len(expired)
            if len(expired) < store.RETENTION_CHUNK:
                break
        with engine.begin() as connection:
            store.forget_tombstones(connection, now)
        if deleted:
            log.info("retention: deleted %d session(s) older than %s day(s)", deleted, days)
        return deleted
