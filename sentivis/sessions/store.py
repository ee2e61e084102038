"""Writing and deleting recorded sessions: the recorder's batches, the analyzer's files, the API's DELETE.

`write_records` writes one batch of records in the caller's transaction, idempotently: every row is
keyed by the record's own values and inserted with ON CONFLICT DO NOTHING (PostgreSQL's and
SQLite's dialect inserts), and a session's counters grow by the rows the inserts really added
(RETURNING), so a batch written twice (a recorder killed between its commit and its XACK) changes
nothing the second time. Records of a session deleted through the API are not written back.
Rows that concurrent batches of several recorders both touch (a person, a session's row and its
counters) are written in one order, by key: PostgreSQL then makes one batch wait for the other
rather than abort one of them as a deadlock (measured: three recorders on the same sessions wrote
a quarter of one recorder's rows per second before, in docs/BENCHMARKS.md).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sentivis.labels import EMOTIONS
from sentivis.records import FrameRecord, Gap, Record, SessionStarted, SessionStopped
from sentivis.sessions import schema

NO_PROBABILITIES = (None,) * len(EMOTIONS)
TOMBSTONE_DAYS = 30  # a deleted session's id is remembered this long (records may still be in the stream)
RETENTION_CHUNK = 100  # sessions deleted per transaction by retention


@dataclass
class Written:
    """What one batch added: rows really inserted (not those already there)."""

    frames: int = 0
    faces: int = 0
    skipped: int = 0  # records of deleted sessions
    sessions: set[str] = field(default_factory=set)


def _insert(connection: sa.Connection, table: sa.Table):
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _rows_of(records: Iterable[Record]) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    first_seen: dict[tuple[str, int], int] = {}
    for record in records:
        if isinstance(record, FrameRecord):
            sid = record.session_id
            out["frames"].append({"session_id": sid, "seq": record.seq, "time": record.time,
                                  "frame_id": record.frame_id, "width": record.width, "height": record.height})
            for person in record.people:
                x, y, w, h = person.box
                out["faces"].append({
                    "session_id": sid, "seq": record.seq, "person_id": person.id, "x": x, "y": y, "width": w,
                    "height": h, "score": person.score, "label": person.label, "confidence": person.confidence,
                    **dict(zip(EMOTIONS, person.probabilities or NO_PROBABILITIES, strict=True)),
                    **dict(zip(schema.RAW, person.raw or NO_PROBABILITIES, strict=True))})
                key = (sid, person.id)
                first_seen[key] = min(first_seen.get(key, record.seq), record.seq)
            if record.models is not None:
                m = record.models
                out["models"].append({"session_id": sid, "seq": record.seq, "emotion_version": m.emotion_version,
                                      "detector": m.detector, "accuracy": m.accuracy})
        elif isinstance(record, Gap):
            out["gaps"].append({"session_id": record.session_id, "first_seq": record.first_seq,
                                "frames": record.frames, "started_at": record.started_at,
                                "ended_at": record.ended_at})
        elif isinstance(record, SessionStarted):
            out["started"].append({"id": record.session_id, "name": record.name, "source": record.source,
                                   "gateway": record.gateway, "started_at": record.started_at,
                                   "settings": dict(record.settings)})
        elif isinstance(record, SessionStopped):
            out["stopped"].append({"id": record.session_id, "ended_at": record.ended_at,
                                   "end_reason": record.reason, "reported_frames": record.frames})
    out["people"] = [{"session_id": s, "person_id": p, "first_seq": seq} for (s, p), seq in sorted(first_seen.items())]
    return out


def deleted_among(connection: sa.Connection, session_ids: set[str]) -> set[str]:
    if not session_ids:
        return set()
    query = sa.select(schema.deleted.c.id).where(schema.deleted.c.id.in_(sorted(session_ids)))
    return set(connection.scalars(query))


def write_records(connection: sa.Connection, records: list[Record]) -> Written:
    """Write one batch in the caller's transaction (idempotent; module docstring)."""
    written = Written()
    gone = deleted_among(connection, {r.session_id for r in records})
    if gone:
        kept = [r for r in records if r.session_id not in gone]
        written.skipped = len(records) - len(kept)
        records = kept
    rows = _rows_of(records)
    written.sessions = {r.session_id for r in records}
    counts: dict[str, dict[str, float]] = defaultdict(lambda: {"frames": 0, "people": 0, "gap_frames": 0})
    if rows["frames"]:
        inserted = connection.execute(
            _insert(connection, schema.frames).on_conflict_do_nothing().returning(
                schema.frames.c.session_id, schema.frames.c.time), rows["frames"]).all()
        written.frames = len(inserted)
        for sid, at in inserted:
            counts[sid]["frames"] += 1
            counts[sid]["last_at"] = max(at, counts[sid].get("last_at", at))
    if rows["faces"]:
        result = connection.execute(_insert(connection, schema.faces).on_conflict_do_nothing(), rows["faces"])
        written.faces = max(0, result.rowcount)
    if rows["people"]:
        for (sid,) in connection.execute(_insert(connection, schema.people).on_conflict_do_nothing().returning(
                schema.people.c.session_id), rows["people"]):
            counts[sid]["people"] += 1
    if rows["gaps"]:
        for sid, frames in connection.execute(_insert(connection, schema.gaps).on_conflict_do_nothing().returning(
                schema.gaps.c.session_id, schema.gaps.c.frames), rows["gaps"]):
            counts[sid]["gap_frames"] += frames
    if rows["models"]:
        connection.execute(_insert(connection, schema.models).on_conflict_do_nothing(), rows["models"])
    s = schema.sessions
    started = {row["id"]: row for row in rows["started"]}
    stopped = {row["id"]: row for row in rows["stopped"]}
    for sid in sorted(started.keys() | counts.keys() | stopped.keys()):  # one order: see the module docstring
        if sid in started:
            stmt = _insert(connection, s).values(**started[sid])
            connection.execute(stmt.on_conflict_do_update(index_elements=[s.c.id], set_={
                k: stmt.excluded[k] for k in ("name", "source", "gateway", "started_at", "settings")}))
        if sid in counts:
            stmt = _insert(connection, s).values(id=sid, **counts[sid])
            last = stmt.excluded.last_at
            connection.execute(stmt.on_conflict_do_update(index_elements=[s.c.id], set_={
                "frames": s.c.frames + stmt.excluded.frames, "people": s.c.people + stmt.excluded.people,
                "gap_frames": s.c.gap_frames + stmt.excluded.gap_frames,
                "last_at": sa.case((sa.or_(s.c.last_at.is_(None), last > s.c.last_at), last), else_=s.c.last_at)}))
        if sid in stopped:
            stmt = _insert(connection, s).values(**stopped[sid])
            connection.execute(stmt.on_conflict_do_update(index_elements=[s.c.id], set_={
                k: stmt.excluded[k] for k in ("ended_at", "end_reason", "reported_frames")}))
    return written


def session_exists(connection: sa.Connection, session_id: str) -> bool:
    s = schema.sessions
    return connection.scalar(sa.select(s.c.id).where(s.c.id == session_id, s.c.name.is_not(None))) is not None


def delete_session(connection: sa.Connection, session_id: str, now: float, tombstone: bool = True) -> bool:
    """Delete everything of one session in the caller's transaction; False when there is no such
    session. tombstone: remember the id, so that records still in the stream are not written back."""
    if not session_exists(connection, session_id):
        return False
    for table in schema.PER_SESSION:
        connection.execute(sa.delete(table).where(table.c.session_id == session_id))
    connection.execute(sa.delete(schema.sessions).where(schema.sessions.c.id == session_id))
    if tombstone:
        connection.execute(_insert(connection, schema.deleted).values(id=session_id, deleted_at=now)
                           .on_conflict_do_nothing())
    return True


def expired_sessions(connection: sa.Connection, cutoff: float, limit: int = RETENTION_CHUNK) -> list[str]:
    s = schema.sessions
    return list(connection.scalars(sa.select(s.c.id).where(s.c.started_at < cutoff).order_by(s.c.id).limit(limit)))


def forget_tombstones(connection: sa.Connection, now: float) -> int:
    d = schema.deleted
    return connection.execute(sa.delete(d).where(d.c.deleted_at < now - TOMBSTONE_DAYS * 86400)).rowcount
