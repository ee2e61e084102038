"""The recorder as a process: every record written exactly once, whatever dies or restarts.

Killed in the middle of a batch (its insert held on a lock the test takes, so that "in the
middle" is certain), killed between its commit and its XACK, the database restarted while records
keep arriving: afterwards each row is there once, the counters match, the stream is empty."""
from __future__ import annotations

import signal
import sqlite3
import threading
import time

import psycopg
import pytest
import redis

from sentivis import records as r
from sentivis import redis_io, streams
from sentivis.sessions import store
from tests.recorder.support import append, counts
from tests.support.waiting import wait_for


def session(name: str = "kill test"):
    now = time.time()
    return r.SessionStarted(r.new_session_id(now), name, now, "gw-test")


def frames(sid: str, first: int, n: int, people: int = 2):
    return [r.example_frame(sid, seq, time.time() + seq / 6, people) for seq in range(first, first + n)]


def drained(client: redis.Redis) -> bool:
    return client.xlen(streams.RECORDS) == 0


def pending_of(client: redis.Redis, consumer: str) -> int:
    try:
        info = client.xpending_range(streams.RECORDS, streams.RECORDER_GROUP, "-", "+", 1000, consumername=consumer)
    except redis.ResponseError:
        return 0
    return len(info)


class TableLock:
    """Holds a lock that makes the recorder's insert wait: PostgreSQL, an exclusive lock on the
    faces table (the frames are inserted, uncommitted, then it waits); SQLite, the write lock."""

    def __init__(self, database_url: str):
        self.url = database_url
        if self.url.startswith("sqlite"):
            self.conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
            self.conn.execute("BEGIN EXCLUSIVE")
        else:
            self.conn = psycopg.connect(self.url)
            self.conn.execute("LOCK TABLE session_faces IN ACCESS EXCLUSIVE MODE")

    def waiting_insert(self) -> bool:
        """PostgreSQL: a recorder's INSERT is waiting on the lock now."""
        if self.url.startswith("sqlite"):
            return True
        with psycopg.connect(self.url, autocommit=True) as other:
            rows = other.execute("SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock'").fetchall()
        return any("INSERT INTO session_faces" in q for (q,) in rows)

    def release(self):
        self.conn.rollback()
        self.conn.close()


def test_records_are_written_acknowledged_and_deleted(recorders, redis_url, engine):
    client = redis_io.connect(redis_url)
    start = session("plain")
    sid = start.session_id
    recorders.start("rec-1")
    append(client, [start, *frames(sid, 0, 40), r.SessionStopped(sid, time.time(), 40, 0)])
    wait_for(lambda: counts(engine, sid).get("ended") and drained(client), "the session written")
    assert counts(engine, sid) == {"session_frames": 40, "session_faces": 80, "frames": 40, "people": 2,
                                   "gap_frames": 0, "reported_frames": 40, "ended": True}
    assert client.xpending(streams.RECORDS, streams.RECORDER_GROUP)["pending"] == 0


def test_a_recorder_killed_in_the_middle_of_a_batch_loses_and_duplicates_nothing(
        recorders, redis_url, database_url, engine):
    client = redis_io.connect(redis_url)
    start = session()
    sid = start.session_id
    first = recorders.start("rec-first")
    append(client, [start, *frames(sid, 0, 10)])
    wait_for(lambda: counts(engine, sid).get("frames") == 10 and drained(client), "the first frames written")
    lock = TableLock(database_url)
    try:
        append(client, [*frames(sid, 10, 30), r.SessionStopped(sid, time.time(), 40, 0)])
        wait_for(lambda: pending_of(client, "rec-first") == 31, "the batch read and not acknowledged")
        wait_for(lock.waiting_insert, "the recorder's insert waiting on the lock")
        first.kill(signal.SIGKILL)
    finally:
        lock.release()
    assert counts(engine, sid)["frames"] == 10  # nothing of the killed batch was committed
    recorders.start("rec-second")  # claims the dead one's entries after SENTIVIS_CLAIM_IDLE_MS
    wait_for(lambda: counts(engine, sid).get("ended") and drained(client), "the killed batch written by another")
    assert counts(engine, sid) == {"session_frames": 40, "session_faces": 80, "frames": 40, "people": 2,
                                   "gap_frames": 0, "reported_frames": 40, "ended": True}


def test_a_batch_committed_but_not_acknowledged_is_written_again_without_duplicates(recorders, redis_url, engine):
    """As a recorder killed between its commit and its XACK leaves it: pending, already written."""
    client = redis_io.connect(redis_url)
    redis_io.ensure_group(client, streams.RECORDS, streams.RECORDER_GROUP)
    start = session("committed")
    sid = start.session_id
    batch = [start, *frames(sid, 0, 20), r.SessionStopped(sid, time.time(), 20, 0)]
    append(client, batch)
    read = client.xreadgroup(streams.RECORDER_GROUP, "dead-recorder", {streams.RECORDS: ">"}, count=100)
    assert len(read[0][1]) == len(batch)
    with engine.begin() as connection:
        store.write_records(connection, [r.decode(fields) for _, fields in read[0][1]])
    before = counts(engine, sid)
    recorders.start("rec-live")
    wait_for(lambda: drained(client), "the pending entries claimed, written again and deleted")
    assert counts(engine, sid) == before == {"session_frames": 20, "session_faces": 40, "frames": 20, "people": 2,
                                             "gap_frames": 0, "reported_frames": 20, "ended": True}


def test_a_malformed_record_is_dropped_and_the_rest_of_its_batch_written(recorders, redis_url, engine):
    client = redis_io.connect(redis_url)
    start = session("malformed")
    sid = start.session_id
    service = recorders.start("rec-1")
    client.xadd(streams.RECORDS, {"meta": b"\x93\xa5frame\x01\x02", "data": b""})
    client.xadd(streams.RECORDS, {"no": b"meta"})
    append(client, [start, *frames(sid, 0, 5), r.SessionStopped(sid, time.time(), 5, 0)])
    wait_for(lambda: counts(engine, sid).get("ended") and drained(client), "the good records written")
    assert counts(engine, sid)["session_faces"] == 10
    assert service.log().count("cannot be read and is dropped") == 2


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_database_restart_while_records_arrive_writes_every_row_once(
        recorders, redis_url, engine, postgres_server):
    client = redis_io.connect(redis_url)
    start = session("restart")
    sid = start.session_id
    recorders.start("rec-1")
    append(client, [start])
    total = 240
    produced = threading.Event()

    def produce():  # 6 "cameras" worth: 60 frames per second, in small batches, as gateways append them
        for first in range(0, total, 6):
            append(client, frames(sid, first, 6))
            time.sleep(0.1)
        append(client, [r.SessionStopped(sid, time.time(), total, 0)])
        produced.set()

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    wait_for(lambda: counts(engine, sid).get("frames", 0) >= 30, "the first frames written")
    postgres_server.stop("fast")
    try:
        def recorder_sees_it_down() -> bool:
            beats = redis_io.live_services(client, "recorder")
            return bool(beats) and not beats[0]["ready"]

        wait_for(recorder_sees_it_down, "the recorder's heartbeat saying the database is down", timeout=30)
        assert client.xlen(streams.RECORDS) > 0  # records wait in the stream meanwhile
    finally:
        postgres_server.start()
    producer.join(60)
    assert produced.is_set()
    wait_for(lambda: counts(engine, sid).get("ended") and drained(client), "every record written after the restart")
    assert counts(engine, sid) == {"session_frames": total, "session_faces": 2 * total, "frames": total, "people": 2,
                                   "gap_frames": 0, "reported_frames": total, "ended": True}
