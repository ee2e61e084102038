"""The sessions database on both engines: idempotent writes in any order, deletion, retention, the
per-person summary as the page computes it, the rows as the page's CSV, streamed."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys

import pytest
import sqlalchemy as sa

from recorder.service import Recorder
from sentivis import records as r
from sentivis.labels import EMOTIONS
from sentivis.sessions import db, queries, schema, store
from sentivis.settings import REPO_ROOT, Settings

T0 = 1_700_000_000.0


def session(name="study 1", at=T0):
    return r.SessionStarted(r.new_session_id(at), name, at, "gw-1", "live", {"smoothing_s": 0.155})


def write(engine, batch):
    with engine.begin() as connection:
        return store.write_records(connection, batch)


def count(engine, table, session_id):
    with engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(table).where(table.c.session_id == session_id))


@pytest.fixture
def engine(database_url):
    database = db.Database(db.database_url(Settings(database_url=database_url)))
    yield database.ready()
    database.close()


def test_a_batch_written_twice_or_out_of_order_leaves_each_row_once(engine):
    start = session()
    sid = start.session_id
    frames = [r.example_frame(sid, seq, T0 + seq / 6) for seq in range(12)]
    stop = r.SessionStopped(sid, T0 + 3, 14, 2)
    gap = r.Gap(sid, 12, 2, T0 + 2, T0 + 2.2)
    # another recorder's batch, with the end and half the frames, is committed before the start
    assert write(engine, [*frames[6:], gap, stop]).frames == 6
    assert write(engine, [start, *frames[:6]]).frames == 6
    again = write(engine, [start, *frames, gap, stop])  # a recorder killed between its commit and its XACK
    assert (again.frames, again.faces) == (0, 0)
    [listed], cursor = queries.list_sessions(engine, 10)
    assert cursor is None
    assert listed == {"id": sid, "name": "study 1", "source": "live", "started_at": T0, "ended_at": T0 + 3,
                      "end_reason": "stopped", "duration_s": 3.0, "people": 2, "frames": 12, "gap_frames": 2,
                      "reported_frames": 14}
    assert count(engine, schema.faces, sid) == 24 and count(engine, schema.frames, sid) == 12


def test_the_list_is_newest_first_in_pages(engine):
    ids = []
    for i in range(5):
        start = session(f"s{i}", T0 + i)
        write(engine, [start])
        ids.append(start.session_id)
    page, cursor = queries.list_sessions(engine, 2)
    assert [s["id"] for s in page] == ids[:2:-1][:2] == [ids[4], ids[3]] and cursor == ids[3]
    page, cursor = queries.list_sessions(engine, 2, cursor)
    assert [s["id"] for s in page] == [ids[2], ids[1]]
    page, cursor = queries.list_sessions(engine, 2, cursor)
    assert [s["id"] for s in page] == [ids[0]] and cursor is None


def test_the_summary_is_the_pages(engine):
    """people.ts: time between sightings at most 1 s apart is in view and goes to the earlier
    sighting's label; a longer absence is not in view."""
    start = session()
    sid = start.session_id
    labels = ["happy", "happy", "sad", "sad", "sad", "neutral"]
    times = [0.0, 0.5, 1.0, 1.5, 4.0, 4.25]  # 1.5 -> 4.0: away
    frames = []
    for seq, (label, t) in enumerate(zip(labels, times, strict=True)):
        person = r.PersonRow(7, (10, 10, 50, 60), 0.9, label, 0.5 + seq / 10, (1 / 7,) * 7, (1 / 7,) * 7)
        frames.append(r.FrameRecord(sid, seq, T0 + t, seq, 320, 240, [person]))
    frames.append(r.FrameRecord(sid, 6, T0 + 4.5, 6, 320, 240, [r.PersonRow(8, (0, 0, 9, 9), 0.8)]))
    write(engine, [start, *frames])
    found = queries.get_session(engine, sid)
    first, second = found["people_summary"]
    assert first == {"id": 7, "first_seen_s": 0.0, "last_seen_s": 4.25, "sightings": 6, "in_view_s": 1.75,
                     "shares": {**dict.fromkeys(EMOTIONS, 0.0), "happy": round(1.0 / 1.75, 4),
                                "sad": round(0.75 / 1.75, 4)},
                     "dominant": "happy", "mean_confidence": 0.75}
    assert second == {"id": 8, "first_seen_s": 4.5, "last_seen_s": 4.5, "sightings": 1, "in_view_s": 0.0,
                      "shares": None, "dominant": None, "mean_confidence": None}
    assert found["settings"] == {"smoothing_s": 0.155} and found["gateway"] == "gw-1"


def page_columns() -> list[str]:
    source = (REPO_ROOT / "frontend" / "src" / "lib" / "sessionLog.ts").read_text()
    head = re.search(r"TIMELINE_COLUMNS = \[(.*?)\] as const", source, flags=re.S).group(1)
    return [quoted or "...EMOTIONS" for quoted, _ in re.findall(r'"(\w+)"|(\.\.\.EMOTIONS)', head)]


def test_the_csv_has_the_pages_columns_and_one_row_per_person_per_frame_streamed(engine, monkeypatch):
    monkeypatch.setattr(queries, "ROWS_PER_FETCH", 10)
    expected = [c for part in page_columns() for c in (EMOTIONS if part == "...EMOTIONS" else [part])]
    assert queries.CSV_COLUMNS == expected
    start = session()
    sid = start.session_id
    write(engine, [start, *(r.example_frame(sid, seq, T0 + 10 + seq / 6) for seq in range(30)),
                   r.FrameRecord(sid, 30, T0 + 20, 99, 320, 240, [])])
    chunks = list(queries.stream_rows(engine, sid, "csv"))
    assert len(chunks) >= 1 + 60 // 10  # the header, then a chunk per fetch: never one string in memory
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == 60 and list(rows[0]) == expected
    frame = r.example_frame(sid, 7, 0)
    row = rows[14]  # frame 7, person 1
    person = frame.people[0]
    assert row["time_s"] == "1.167" and row["frame_id"] == "15" and row["face_id"] == "1"
    assert [row[k] for k in ("x", "y", "width", "height")] == ["40", "30", "64", "80"]
    assert [float(row[e]) for e in EMOTIONS] == list(person.probabilities)
    assert (row["label"], row["confidence"], row["score"]) == (person.label, "0.61", "0.93")
    lines = b"".join(queries.stream_rows(engine, sid, "jsonl")).decode().splitlines()
    assert len(lines) == 60
    obj = json.loads(lines[14])
    assert obj["raw"] == dict(zip(EMOTIONS, person.raw, strict=True))
    assert obj["probabilities"] == dict(zip(EMOTIONS, person.probabilities, strict=True))


def test_a_deleted_session_is_gone_and_its_late_records_are_not_written_back(engine):
    start, other = session(), session("other")
    sid = start.session_id
    write(engine, [start, other, *(r.example_frame(sid, s, T0 + s) for s in range(3)), r.Gap(sid, 3, 1, T0, T0)])
    with engine.begin() as connection:
        assert store.delete_session(connection, sid, T0 + 10)
        assert not store.delete_session(connection, sid, T0 + 10)
    assert queries.get_session(engine, sid) is None
    assert all(count(engine, table, sid) == 0 for table in schema.PER_SESSION)
    late = write(engine, [r.example_frame(sid, 3, T0 + 3), r.SessionStopped(sid, T0 + 4, 4, 1)])
    assert late.skipped == 2 and late.frames == 0
    assert [s["id"] for s in queries.list_sessions(engine, 10)[0]] == [other.session_id]


def test_retention_deletes_only_older_sessions(engine, database_url):
    old, new = session("old", T0), session("new", T0 + 5 * 86400)
    write(engine, [old, new, r.example_frame(old.session_id, 0, T0)])
    settings = Settings(database_url=database_url, session_retention_days=3)
    recorder = Recorder(settings, consumer="test", clock=lambda: T0 + 6 * 86400)
    assert recorder.expire_sessions() == 1
    assert [s["name"] for s in queries.list_sessions(engine, 10)[0]] == ["new"]
    assert count(engine, schema.faces, old.session_id) == 0
    keep = Recorder(Settings(database_url=database_url, session_retention_days=0), consumer="t",
                    clock=lambda: T0 + 600 * 86400)
    assert keep.expire_sessions() == 0
    recorder.close()
    keep.close()


MIGRATE = "from sentivis.sessions import db; import sys; db.migrate(db.create_engine(db.database_url(" \
          "__import__('sentivis.settings').settings.Settings(database_url=sys.argv[1]))))"


def test_several_processes_migrating_at_once_all_succeed(database_url):
    procs = [subprocess.Popen([sys.executable, "-c", MIGRATE, database_url], cwd=REPO_ROOT, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    errors = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert [code for code, _ in errors] == [0, 0, 0, 0], errors
    engine = db.create_engine(db.database_url(Settings(database_url=database_url)))
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [("0001",)]
        tables = set(sa.inspect(connection).get_table_names())
    assert {t.name for t in schema.metadata.tables.values()} <= tables
    engine.dispose()


def test_the_migration_creates_the_schema_the_code_declares(engine):
    """schema.py and migrations/versions/ describe the same tables and columns."""
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        for table in schema.metadata.tables.values():
            assert [c["name"] for c in inspector.get_columns(table.name)] == [c.name for c in table.columns]
            assert inspector.get_pk_constraint(table.name)["constrained_columns"] == [c.name for c in table.primary_key]
